"""Engagements: a coordinator picked an expert who accepted their need (issue 16).

Both nodes keep the same record: the requesting node when its coordinator picks
(`needs.pick`), the expert's home node when the `ExpertEngagement` arrives
(`received_needs.engaged`); one row when both are the same node. What later work builds on
(consented shares, threads, opinions) starts from `get(conn, engagement_id)`: the report it
is for (on the requesting node only), the expert's and the coordinator's public keys, the
home node, and its state. The need's free text travels with it, sealed to the expert.

The coordinator's Ed25519 key (what signs their thread messages) is derived from their own
X25519 secret key (`coordinator_signing_key`): keys follow people, and there is no second
secret to keep.
"""

from __future__ import annotations

import hashlib
import sqlite3
from dataclasses import dataclass
from typing import Literal

from crypto.keys import SigningKey, secret_bytes
from node.accounts import UnlockedStaff

# An engagement, and every share made under it, ends after this unless ended sooner.
ENGAGEMENT_SECONDS = 90 * 24 * 3600
_COORDINATOR_KEY_PERSON = b"bkp-coord-sign"  # BLAKE2b personalisation (at most 16 bytes)

State = Literal["active", "ended"]


@dataclass(frozen=True)
class Engagement:
    engagement_id: str
    need_id: str
    requesting_node: str
    home_node: str
    report_id: str | None  # on the requesting node, the case it is for; never sent
    coordinator_id: str | None  # on the requesting node
    expert_staff_id: str | None  # on the home node
    expert_key: str  # Ed25519, hex
    expert_box_key: str  # X25519, hex: what material for the expert is sealed to
    coordinator_key: str
    coordinator_box_key: str
    description_sealed: bytes | None  # sealed to the expert's box key
    decided_at: int
    ends_at: int
    state: State

    def active(self, now: int) -> bool:
        return self.state == "active" and now < self.ends_at


def coordinator_signing_key(staff: UnlockedStaff) -> SigningKey:
    """The coordinator's Ed25519 key for engagements, derived from their own secret key."""
    seed = hashlib.blake2b(secret_bytes(staff.secret_key), digest_size=32,
                           person=_COORDINATOR_KEY_PERSON).digest()
    return SigningKey(seed)


def _of(row: sqlite3.Row | tuple[object, ...]) -> Engagement:
    (engagement_id, need_id, requesting, home, report_id, coordinator_id, expert_staff_id,
     expert_key, expert_box_key, coordinator_key, coordinator_box_key, description,
     decided_at, ends_at, state) = tuple(row)
    return Engagement(str(engagement_id), str(need_id), str(requesting), str(home),
                      None if report_id is None else str(report_id),
                      None if coordinator_id is None else str(coordinator_id),
                      None if expert_staff_id is None else str(expert_staff_id),
                      str(expert_key), str(expert_box_key), str(coordinator_key),
                      str(coordinator_box_key),
                      None if description is None else bytes(description),
                      int(decided_at), int(ends_at), state)


_COLUMNS = ("engagement_id, need_id, requesting_node, home_node, report_id, coordinator_id, "
            "expert_staff_id, expert_key, expert_box_key, coordinator_key, "
            "coordinator_box_key, description_sealed, decided_at, ends_at, state")


def get(conn: sqlite3.Connection, engagement_id: str) -> Engagement | None:
    row = conn.execute(f"SELECT {_COLUMNS} FROM expert_engagements "  # noqa: S608 -- constant
                       "WHERE engagement_id = ?", (engagement_id,)).fetchone()
    return None if row is None else _of(row)


def of_expert(conn: sqlite3.Connection, staff_id: str) -> list[Engagement]:
    """The engagements of one expert of this node, newest first."""
    return [_of(r) for r in conn.execute(
        f"SELECT {_COLUMNS} FROM expert_engagements "  # noqa: S608 -- constant
        "WHERE expert_staff_id = ? ORDER BY decided_at DESC", (staff_id,))]


def of_need(conn: sqlite3.Connection, need_id: str) -> Engagement | None:
    row = conn.execute(f"SELECT {_COLUMNS} FROM expert_engagements "  # noqa: S608 -- constant
                       "WHERE need_id = ? ORDER BY decided_at DESC", (need_id,)).fetchone()
    return None if row is None else _of(row)


def record(conn: sqlite3.Connection, e: Engagement) -> bool:
    """Keep `e` (inside the caller's transaction); False if it was already kept."""
    return conn.execute(
        f"INSERT INTO expert_engagements ({_COLUMNS}) "  # noqa: S608 -- constant
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
        "ON CONFLICT (engagement_id) DO NOTHING",
        (e.engagement_id, e.need_id, e.requesting_node, e.home_node, e.report_id,
         e.coordinator_id, e.expert_staff_id, e.expert_key, e.expert_box_key,
         e.coordinator_key, e.coordinator_box_key, e.description_sealed, e.decided_at,
         e.ends_at, e.state)).rowcount == 1


def end(conn: sqlite3.Connection, engagement_id: str) -> None:
    """The engagement is over (revoked, or its expert's credential was): later work stops."""
    conn.execute("UPDATE expert_engagements SET state = 'ended' WHERE engagement_id = ?",
                 (engagement_id,))
