"""Introducing the coordinators of a match (issue 18, "Connection"): the observatory's side.

A coordinator who agrees to be introduced for one of their organisation's matched cases
sends an `IntroductionRequest` (the case's opaque reference and their thread keys, certified
by their node's identity key). The observatory keeps it per case; nothing about it reaches
anyone else until the other side agrees too.

The rule, per pair: two cases of different members that share a token (the match) are
introduced once both members' coordinators agreed for them, and both cases were notified
(`matching_notices`: each counts at least ``threshold - 1`` other members, so what is
introduced is a match by the configured rule). A match between three or more members is
introduced pairwise, each pair when both of its sides agreed: a thread has two parties.
Each side then gets an `Introduction`: a fresh thread id the two share, and the other
side's member id and certified coordinator keys -- never the other side's case reference,
a name or a token.

What ends a pending request or an introduction not yet fetched: the side's dismissal
(`decision = "dismiss"`: "not the same person"), the withdrawal of the case's last token
(`withdrawn_in`: the report was deleted or its consent withdrawn), the revocation of
either member (left out while revoked), and time (`MatchingConfig.introduction_days`,
30 days by default, for a request waiting for the other side and for an introduction
waiting to be fetched).

What the observatory learns from it: that two members' coordinators agreed to talk about
one match, and their coordinators' public keys. It never sees a thread's messages: each
travels straight between the two nodes, sealed to the other coordinator.
"""

from __future__ import annotations

import secrets
import sqlite3
from collections.abc import Iterable

from protocol.encoding import canonical_json, parse_canonical_json
from protocol.matching import (
    MAX_INTRODUCTIONS,
    CoordinatorKeys,
    Introduction,
    IntroductionRequest,
)

DAY = 86_400
Case = tuple[str, str]  # (member, case_ref)


class IntroductionRefused(Exception):
    """A request the observatory does not keep; `code` is the wire's reason."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


class Introducer:
    def __init__(self, introduction_days: int = 30) -> None:
        self._ttl = introduction_days * DAY

    def request_in(self, conn: sqlite3.Connection, member: str, request: IntroductionRequest,
                   revoked: Iterable[str], now: int) -> int:
        """Keep `member`'s decision on its case; returns how many introductions it issued."""
        case = (member, request.case_ref)
        if conn.execute("SELECT 1 FROM matching_tokens WHERE member = ? AND case_ref = ?"
                        " LIMIT 1", case).fetchone() is None:
            raise IntroductionRefused("unknown_case")
        keys = (None if request.coordinator is None
                else canonical_json(request.coordinator.to_json_object()).decode("utf-8"))
        if request.coordinator is not None and request.coordinator.node_id != member:
            raise IntroductionRefused("not_your_keys")  # a member certifies its own people
        conn.execute(
            "INSERT INTO matching_introduction_requests (member, case_ref, decision,"
            " coordinator, requested_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT (member, case_ref)"
            " DO UPDATE SET decision = excluded.decision, coordinator = excluded.coordinator,"
            " requested_at = excluded.requested_at",
            (member, request.case_ref, request.decision, keys, now))
        if request.decision == "dismiss":
            self._drop_undelivered(conn, case)
            return 0
        excluded = set(revoked)
        if member in excluded or not _notified(conn, case):
            return 0
        issued = 0
        for other in _matching_cases(conn, case):
            if other[0] in excluded or not _notified(conn, other):
                continue
            row = conn.execute(
                "SELECT coordinator FROM matching_introduction_requests WHERE member = ? AND"
                " case_ref = ? AND decision = 'agree' AND requested_at > ?",
                (*other, now - self._ttl)).fetchone()
            if row is None or _introduced(conn, case, other):
                continue
            thread_id = secrets.token_hex(16)
            for mine, theirs, their_keys in ((case, other, row[0]), (other, case, keys)):
                conn.execute(
                    "INSERT INTO matching_introductions (introduction_id, member, case_ref,"
                    " thread_id, peer_member, peer_case_ref, peer, created_at, expires_at)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (secrets.token_hex(16), *mine, thread_id, *theirs, their_keys, now,
                     now + self._ttl))
            issued += 1
        return issued

    def pending_in(self, conn: sqlite3.Connection, member: str, revoked: Iterable[str],
                   now: int) -> list[Introduction]:
        """`member`'s introductions not yet acknowledged, oldest first: none whose other
        side is revoked now, dismissed the match since, or that expired."""
        excluded = set(revoked)
        out = []
        for r in conn.execute(
                "SELECT i.introduction_id, i.case_ref, i.thread_id, i.peer_member, i.peer,"
                " i.expires_at FROM matching_introductions i WHERE i.member = ? AND"
                " i.delivered_at IS NULL AND i.expires_at > ? AND NOT EXISTS (SELECT 1 FROM"
                " matching_introduction_requests q WHERE q.member = i.peer_member AND"
                " q.case_ref = i.peer_case_ref AND q.decision = 'dismiss')"
                " ORDER BY i.created_at, i.introduction_id", (member, now)):
            if r[3] in excluded:
                continue
            out.append(Introduction(
                introduction_id=r[0], case_ref=r[1], thread_id=r[2],
                peer=CoordinatorKeys.from_json_object(parse_canonical_json(r[4].encode())),
                expires_at=r[5]))
            if len(out) == MAX_INTRODUCTIONS:
                break
        return out

    @staticmethod
    def acknowledged_in(conn: sqlite3.Connection, member: str, ids: Iterable[str],
                        now: int) -> None:
        """The member recorded these introductions: they are not sent again."""
        conn.executemany("UPDATE matching_introductions SET delivered_at = ? WHERE"
                         " introduction_id = ? AND member = ? AND delivered_at IS NULL",
                         [(now, i, member) for i in ids])

    def withdrawn_in(self, conn: sqlite3.Connection, member: str, refs: Iterable[str]) -> None:
        """After a submission withdrew `refs`: a case with no token left ends its request and
        the introductions of it not yet fetched (either side)."""
        for ref in refs:
            if conn.execute("SELECT 1 FROM matching_tokens WHERE member = ? AND case_ref = ?"
                            " LIMIT 1", (member, ref)).fetchone() is not None:
                continue  # re-submitted under the same reference: still a case
            conn.execute("DELETE FROM matching_introduction_requests WHERE member = ? AND"
                         " case_ref = ?", (member, ref))
            self._drop_undelivered(conn, (member, ref))

    def expire_in(self, conn: sqlite3.Connection, now: int) -> None:
        """Forget what expired (requests waiting for the other side, introductions never
        fetched)."""
        conn.execute("DELETE FROM matching_introduction_requests WHERE decision = 'agree'"
                     " AND requested_at <= ?", (now - self._ttl,))
        conn.execute("DELETE FROM matching_introductions WHERE delivered_at IS NULL AND"
                     " expires_at <= ?", (now,))

    @staticmethod
    def _drop_undelivered(conn: sqlite3.Connection, case: Case) -> None:
        conn.execute("DELETE FROM matching_introductions WHERE delivered_at IS NULL AND"
                     " ((member = ? AND case_ref = ?) OR (peer_member = ? AND"
                     " peer_case_ref = ?))", (*case, *case))


def _notified(conn: sqlite3.Connection, case: Case) -> bool:
    return conn.execute("SELECT 1 FROM matching_notices WHERE member = ? AND case_ref = ?"
                        " LIMIT 1", case).fetchone() is not None


def _matching_cases(conn: sqlite3.Connection, case: Case) -> list[Case]:
    """The other members' cases sharing a token (same epoch, kind and value) with `case`."""
    return [(r[0], r[1]) for r in conn.execute(
        "SELECT DISTINCT o.member, o.case_ref FROM matching_tokens t JOIN matching_tokens o"
        " ON o.token = t.token AND o.epoch = t.epoch AND o.kind = t.kind"
        " WHERE t.member = ? AND t.case_ref = ? AND o.member != t.member"
        " ORDER BY o.member, o.case_ref", case)]


def _introduced(conn: sqlite3.Connection, case: Case, other: Case) -> bool:
    return conn.execute("SELECT 1 FROM matching_introductions WHERE member = ? AND case_ref = ?"
                        " AND peer_member = ? AND peer_case_ref = ?",
                        (*case, *other)).fetchone() is not None
