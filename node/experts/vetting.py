"""A coordinator vouches for an expert of their node; the observatory countersigns (issue 16).

The expert signed their request when they saved their profile (`profiles.save_profile`);
a coordinator's vouch marks it to be sent (audited, with who vouched). The federation
service sends each vouched request without a credential to the observatory, again every
poll until the admin decided (`due`), and `handle_answer` keeps the countersigned
credential once it comes back, after checking it is the observatory's and for this very
expert of this node.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from node import errors
from node.accounts import UnlockedStaff, append_audit
from node.backoffice.audit import AuditLog
from node.federation.config import FederationConfig
from node.federation.errors import BadAnswer, Refused
from node.i18n import N_
from node.storage.database import Database
from protocol.delivery import DeliveryAck
from protocol.encoding import canonical_json, parse_canonical_json
from protocol.errors import EnvelopeRejected
from protocol.experts import (
    ExpertAvailability,
    ExpertCredential,
    ExpertCredentialIssued,
    ExpertVouch,
)
from protocol.message import Message
from protocol.statements import verify_key_from_hex

VOUCH = f"{ExpertVouch.TYPE} v{ExpertVouch.VERSION}"  # as the outbox names it
AVAILABILITY = f"{ExpertAvailability.TYPE} v{ExpertAvailability.VERSION}"


class NothingToVouchFor(errors.NodeError):
    message = N_("This expert has not filled in their profile yet: there is nothing to vouch "
                 "for. Ask them to fill it in on the expert app.")


@dataclass(frozen=True)
class ExpertRow:
    """One expert as their coordinators see them on the staff page."""

    staff_id: str
    username: str
    profile_complete: bool
    vouched: bool
    credential: ExpertCredential | None


def experts(conn: sqlite3.Connection) -> list[ExpertRow]:
    rows = conn.execute(
        "SELECT s.id, s.username, p.vouch, p.vouched_by, p.credential FROM staff s "
        "LEFT JOIN expert_profiles p ON p.staff_id = s.id "
        "WHERE s.roles = 'expert' AND s.disabled = 0 ORDER BY s.username")
    return [ExpertRow(r[0], r[1], r[2] is not None, r[3] is not None,
                      None if r[4] is None else ExpertCredential.from_json_object(
                          parse_canonical_json(r[4].encode("utf-8"))))
            for r in rows]


def vouch(db: Database, audit: AuditLog, coordinator: UnlockedStaff, staff_id: str,
          now: int) -> None:
    """The coordinator vouches for this expert's signed request: it goes to the observatory.
    An unknown account or one that is not an expert's is `NotFound`."""
    with db.write() as conn:
        row = conn.execute(
            "SELECT p.vouch FROM staff s JOIN expert_profiles p ON p.staff_id = s.id "
            "WHERE s.id = ? AND s.roles = 'expert' AND s.disabled = 0", (staff_id,)).fetchone()
        if row is None:
            raise errors.NotFound()
        if row[0] is None:
            raise NothingToVouchFor()
        conn.execute("UPDATE expert_profiles SET vouched_by = ?, vouched_hour = ?, "
                     "credential = NULL WHERE staff_id = ?",
                     (coordinator.member.id, now // 3600, staff_id))
        append_audit(conn, audit, now, coordinator.member.id, "expert.vouch", staff_id)


def due(conn: sqlite3.Connection) -> list[ExpertVouch]:
    """Vouched requests the observatory has not countersigned yet: to send (again)."""
    return [ExpertVouch.from_json_object(parse_canonical_json(r[0].encode("utf-8")))
            for r in conn.execute(
                "SELECT vouch FROM expert_profiles WHERE vouched_by IS NOT NULL "
                "AND credential IS NULL AND vouch IS NOT NULL ORDER BY staff_id")]


def handle_answer(conn: sqlite3.Connection, answer: Message, *, node_id: str,
                  config: FederationConfig, now: int) -> str:
    """What the observatory said to one of our vouches, kept in the caller's transaction."""
    if isinstance(answer, DeliveryAck):
        if answer.status == "rejected":
            raise Refused(answer.reason or "rejected")
        return "pending"  # the admin has not decided: sent again at the next poll
    if not isinstance(answer, ExpertCredentialIssued):
        raise BadAnswer("not an answer to an expert vouch")
    try:
        body = answer.credential.verify(
            issuer_key=verify_key_from_hex(config.observatory_identity_key), now=now)
    except EnvelopeRejected as exc:
        raise Refused(exc.reason) from None
    if body.home_node != node_id or body.issuer != config.observatory_node_id:
        raise Refused("not_ours")
    changed = conn.execute(
        "UPDATE expert_profiles SET credential = ? WHERE signing_public_key = ? "
        "AND vouched_by IS NOT NULL",
        (canonical_json(answer.credential.to_json_object()).decode("utf-8"),
         bytes.fromhex(body.expert_key))).rowcount
    if not changed:
        raise Refused("unknown_expert")
    return "countersigned"


def availability_due(db: Database) -> list[ExpertAvailability]:
    """Availability changes of countersigned experts not yet queued for the observatory;
    marked queued here (the outbox then delivers them, exactly once)."""
    with db.write() as conn:
        rows = conn.execute(
            "SELECT staff_id, credential, availability, availability_changed_at "
            "FROM expert_profiles WHERE credential IS NOT NULL "
            "AND availability_changed_at IS NOT NULL AND (availability_queued_at IS NULL "
            "OR availability_queued_at < availability_changed_at)").fetchall()
        due = []
        for staff_id, credential, availability, changed_at in rows:
            serial = ExpertCredential.from_json_object(
                parse_canonical_json(credential.encode("utf-8"))).body.serial
            due.append(ExpertAvailability(serial=serial, availability=availability,
                                          changed_at=changed_at))
            conn.execute("UPDATE expert_profiles SET availability_queued_at = ? "
                         "WHERE staff_id = ?", (changed_at, staff_id))
    return due


def handle_availability_answer(answer: Message) -> str:
    if not isinstance(answer, DeliveryAck):
        raise BadAnswer("not an answer to an availability change")
    if answer.status == "rejected":
        raise Refused(answer.reason or "rejected")
    return answer.status
