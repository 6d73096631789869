"""Introducing this node's coordinator to the other side of a match (issue 18, "Connection").

On a recorded match (`notices.matches`), a coordinator may agree to be introduced (`ask`):
what leaves the node is the case's opaque reference and the coordinator's thread keys
(`node.experts.threads.coordinator_keys`: public keys only), certified by the node's
identity key in its key-certificate format (`node.key_certificates`, subject
``coordinator-thread:<Ed25519 key>``, key the X25519 key). A dismissal of the match
(`dismissed`) is sent too, so that the observatory ends any introduction of it still pending.
Both wait in ``matching_introductions`` until the federation round sends them (`due`,
`queued`): the observatory never dials a node.

The observatory answers, once the other side agreed too, with an `Introduction` that this
node fetches on its round (`IntroductionQuery`) and records with `record_in`: it is believed
only for a case this node asked about, not dismissed since, unexpired, from a member the
membership list names, whose identity key certifies the other coordinator's keys -- so the
observatory, which relays the keys, cannot put its own in. Then the coordinator <-> coordinator
thread opens on this side with the shared thread id (`Threads.introduce_in`, with the
matched case as its `report_id`: the thread is in that case's custody and its deletion).
Messages then go node to node, sealed to the other coordinator; the observatory never sees
them.
"""

from __future__ import annotations

import logging
import secrets
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass

from crypto.errors import FormatError
from crypto.keys import BoxPublicKey, VerifyKey
from node import errors
from node.accounts import UnlockedStaff
from node.backoffice.access import Action, require
from node.experts.threads import Threads, coordinator_keys
from node.key_certificates import Certifier, verifies
from protocol.encoding import canonical_json, parse_canonical_json
from protocol.matching import CoordinatorKeys, Introduction, IntroductionRequest

log = logging.getLogger("backup.matching")

SUBJECT_PREFIX = "coordinator-thread:"


def certified_keys(conn: sqlite3.Connection, certifier: Certifier, node_id: str,
                   coordinator: UnlockedStaff) -> CoordinatorKeys:
    """The coordinator's thread keys, certified by the node's identity key (the certificate
    is also kept in ``key_certificates``, like every key this node certifies)."""
    key, box = coordinator_keys(coordinator)
    subject = SUBJECT_PREFIX + key
    signature = certifier.certify(conn, subject, BoxPublicKey(bytes.fromhex(box)))
    return CoordinatorKeys(node_id=node_id, coordinator_key=key, coordinator_box_key=box,
                           certificate=signature.hex())


def keys_authentic(keys: CoordinatorKeys, identity_key: str) -> bool:
    """Whether `identity_key` (the member's, from the membership list) certified `keys`."""
    try:
        return verifies(VerifyKey(bytes.fromhex(identity_key)), keys.node_id,
                        SUBJECT_PREFIX + keys.coordinator_key,
                        BoxPublicKey(bytes.fromhex(keys.coordinator_box_key)),
                        bytes.fromhex(keys.certificate))
    except (FormatError, ValueError):
        return False


def ask(conn: sqlite3.Connection, certifier: Certifier, node_id: str, staff: UnlockedStaff,
        report_id: str, case_ref: str, now: int) -> None:
    """A coordinator agrees to be introduced for the case's match `case_ref`; sent on the
    next federation round. `NotFound` for a match the case does not have (or dismissed)."""
    require(staff.member, Action.DISMISS_MATCH)
    if conn.execute("SELECT 1 FROM matching_matches WHERE case_ref = ? AND report_id = ? AND"
                    " dismissed_at IS NULL", (case_ref, report_id)).fetchone() is None:
        raise errors.NotFound()
    if conn.execute("SELECT 1 FROM matching_introductions WHERE case_ref = ? AND decision ="
                    " 'agree'", (case_ref,)).fetchone() is not None:
        return  # asked already (by this coordinator or a colleague)
    keys = certified_keys(conn, certifier, node_id, staff)
    conn.execute(
        "INSERT INTO matching_introductions (case_ref, report_id, staff_id, decision,"
        " coordinator, requested_at) VALUES (?, ?, ?, 'agree', ?, ?) ON CONFLICT (case_ref)"
        " DO UPDATE SET staff_id = excluded.staff_id, decision = 'agree', coordinator ="
        " excluded.coordinator, requested_at = excluded.requested_at, envelope_id = NULL",
        (case_ref, report_id, staff.member.id,
         canonical_json(keys.to_json_object()).decode("utf-8"), now))


def dismissed(conn: sqlite3.Connection, report_id: str, case_ref: str, now: int) -> None:
    """The match was dismissed as false: tell the observatory (ends a pending introduction)."""
    conn.execute(
        "INSERT INTO matching_introductions (case_ref, report_id, decision, requested_at)"
        " VALUES (?, ?, 'dismiss', ?) ON CONFLICT (case_ref) DO UPDATE SET decision ="
        " 'dismiss', coordinator = NULL, requested_at = excluded.requested_at,"
        " envelope_id = NULL", (case_ref, report_id, now))


@dataclass(frozen=True)
class State:
    """What the match page shows of one match."""

    asked: bool
    staff_id: str | None
    thread_id: str | None


def states(conn: sqlite3.Connection, report_id: str) -> dict[str, State]:
    return {r[0]: State(True, r[1], r[2]) for r in conn.execute(
        "SELECT case_ref, staff_id, thread_id FROM matching_introductions WHERE report_id = ?"
        " AND decision = 'agree'", (report_id,))}


def due(conn: sqlite3.Connection) -> list[IntroductionRequest]:
    """The decisions not yet handed to the outbox, oldest first."""
    return [IntroductionRequest(
        request_id=secrets.token_hex(16), case_ref=r[0], decision=r[1],
        coordinator=None if r[2] is None
        else CoordinatorKeys.from_json_object(parse_canonical_json(r[2].encode())))
        for r in conn.execute(
            "SELECT case_ref, decision, coordinator FROM matching_introductions WHERE"
            " envelope_id IS NULL AND introduced_at IS NULL ORDER BY requested_at, case_ref")]


def queued(conn: sqlite3.Connection, request: IntroductionRequest, envelope_id: str) -> None:
    conn.execute("UPDATE matching_introductions SET envelope_id = ? WHERE case_ref = ? AND"
                 " decision = ?", (envelope_id, request.case_ref, request.decision))


def refused(conn: sqlite3.Connection, envelope_id: str) -> None:
    """The observatory refused the decision sent as `envelope_id` (the case's tokens were
    withdrawn meanwhile, say): it is forgotten here, and the page offers to ask again."""
    conn.execute("DELETE FROM matching_introductions WHERE envelope_id = ? AND"
                 " introduced_at IS NULL", (envelope_id,))


def waiting(conn: sqlite3.Connection) -> bool:
    """Whether an agreement waits for its introduction (then the round asks for them)."""
    return conn.execute("SELECT 1 FROM matching_introductions WHERE decision = 'agree' AND"
                        " introduced_at IS NULL LIMIT 1").fetchone() is not None


def record_in(conn: sqlite3.Connection, threads: Threads, intro: Introduction,
              identity_of: Callable[[str], str | None], now: int) -> str:
    """Open the thread an introduction names, if it is believed; the outcome's code."""
    row = conn.execute(
        "SELECT i.report_id, i.staff_id, i.coordinator, i.introduced_at, s.disabled FROM"
        " matching_introductions i LEFT JOIN staff s ON s.id = i.staff_id WHERE i.case_ref = ?"
        " AND i.decision = 'agree'", (intro.case_ref,)).fetchone()
    if row is None:
        return "not_asked"  # dismissed since, the report deleted, or never asked here
    if row[3] is not None:
        return "already"
    if intro.expires_at <= now:
        return "expired"
    identity = identity_of(intro.peer.node_id)
    if identity is None:
        return "not_a_member"
    if not keys_authentic(intro.peer, identity):
        log.warning("matching: an introduction's keys are not certified by the member they "
                    "name; it was not believed")
        return "not_certified"
    if row[1] is None or row[4]:
        return "coordinator_gone"  # their account was disabled meanwhile: ask again
    mine = CoordinatorKeys.from_json_object(parse_canonical_json(row[2].encode()))
    threads.introduce_in(conn, staff_id=row[1], local_key=mine.coordinator_key,
                         local_box_key=mine.coordinator_box_key, thread_id=intro.thread_id,
                         peer_node=intro.peer.node_id, peer_key=intro.peer.coordinator_key,
                         peer_box_key=intro.peer.coordinator_box_key, report_id=row[0])
    conn.execute("UPDATE matching_introductions SET thread_id = ?, introduced_at = ? WHERE"
                 " case_ref = ?", (intro.thread_id, now, intro.case_ref))
    return "introduced"


def erase(conn: sqlite3.Connection, report_id: str) -> None:
    """The one deletion path: a deleted report's introductions go (its threads are erased
    by the threads' own store)."""
    conn.execute("DELETE FROM matching_introductions WHERE report_id = ?", (report_id,))
