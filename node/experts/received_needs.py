"""Needs for this node's experts, on their home node (issue 16).

An `ExpertNeed` names the experts it matched; each one of ours (vetted, account enabled)
finds it in the expert app (`for_expert`, with an unseen count for the badge) until its
deadline, which this node enforces from the message itself: a need that arrives late is
refused, and one whose deadline passed is erased (`expire`) and can no longer be answered,
also if this node was offline meanwhile. The expert's answer is signed with their own key
(`answer`) and goes back to the requesting node; the coordinator's choice comes back as an
`ExpertEngagement` (`engaged`), which this node records after checking the offer in it is
its own expert's, signed by them, for this need.
"""

from __future__ import annotations

import base64
import sqlite3
from dataclasses import dataclass

from crypto.keys import VerifyKey
from node import errors
from node.accounts import UnlockedStaff, append_audit
from node.backoffice.audit import AuditLog
from node.experts import engagements, outgoing, profiles
from node.i18n import N_
from node.storage.database import Database
from protocol.encoding import canonical_json, parse_canonical_json
from protocol.engagements import (
    AnswerBody,
    DeclineReason,
    ExpertDecline,
    ExpertEngagement,
    ExpertNeed,
    ExpertOffer,
    SignedAnswer,
)

DESCRIPTION_CONTEXT = b"expert-need-description-for-expert:"
DECLINE_REASONS = ("unavailable", "outside_expertise", "conflict_of_interest", "other")


class NeedGone(errors.NodeError):
    message = N_("This need is no longer open: its deadline passed, or you already answered.")


class UnknownReason(errors.UnknownChoice):
    pass


class NeedRefused(Exception):
    """A need or engagement message this node does not keep; `code` is the reason code."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


@dataclass(frozen=True)
class ReceivedNeed:
    requesting_node: str
    need: ExpertNeed
    seen: bool
    answer: str | None
    outcome: str | None  # engaged, not_chosen


def _expert_staff(conn: sqlite3.Connection, expert_key: str) -> str | None:
    row = conn.execute(
        "SELECT p.staff_id FROM expert_profiles p JOIN staff s ON s.id = p.staff_id "
        "WHERE p.signing_public_key = ? AND p.credential IS NOT NULL AND s.disabled = 0",
        (bytes.fromhex(expert_key),)).fetchone()
    return None if row is None else str(row[0])


def receive(conn: sqlite3.Connection, need: ExpertNeed, *, requesting_node: str,
            now: int) -> int:
    """Keep `need` for each of our experts it names (the caller's transaction); how many.
    Raises `NeedRefused` ("need_expired", "no_such_expert"), keeping nothing."""
    if need.deadline <= now:
        raise NeedRefused("need_expired")
    staff_ids = [s for s in (_expert_staff(conn, k) for k in need.experts) if s is not None]
    if not staff_ids:
        raise NeedRefused("no_such_expert")
    text = canonical_json(need.to_json_object()).decode("utf-8")
    for staff_id in staff_ids:
        conn.execute(
            "INSERT INTO expert_needs_received (requesting_node, need_id, staff_id, need, "
            "deadline) VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
            (requesting_node, need.need_id, staff_id, text, need.deadline))
    return len(staff_ids)


def expire(conn: sqlite3.Connection, now: int) -> int:
    """Erase the needs whose deadline passed, answered or not (engagements stay)."""
    return conn.execute("DELETE FROM expert_needs_received WHERE deadline <= ?",
                        (now,)).rowcount


def for_expert(conn: sqlite3.Connection, staff_id: str, now: int) -> list[ReceivedNeed]:
    """The expert's needs before their deadline, the most urgent deadline first."""
    return [ReceivedNeed(r[0], ExpertNeed.from_json_object(
        parse_canonical_json(r[1].encode("utf-8"))), bool(r[2]), r[3], r[4])
        for r in conn.execute(
            "SELECT requesting_node, need, seen, answer, outcome FROM expert_needs_received "
            "WHERE staff_id = ? AND deadline > ? ORDER BY deadline, need_id", (staff_id, now))]


def unseen(conn: sqlite3.Connection, staff_id: str, now: int) -> int:
    """The expert app's badge: open needs the expert has not looked at yet."""
    row = conn.execute("SELECT count(*) FROM expert_needs_received WHERE staff_id = ? "
                       "AND deadline > ? AND seen = 0 AND answer IS NULL",
                       (staff_id, now)).fetchone()
    return int(row[0])


def mark_seen(db: Database, staff_id: str, now: int) -> None:
    with db.write() as conn:
        conn.execute("UPDATE expert_needs_received SET seen = 1 WHERE staff_id = ? "
                     "AND deadline > ? AND seen = 0", (staff_id, now))


def answer(db: Database, audit: AuditLog, expert: UnlockedStaff, *, requesting_node: str,
           need_id: str, accept: bool, reason: str | None, node_id: str,
           observatory_key: VerifyKey, now: int) -> None:
    """The expert accepts or declines, signing with their own key; the answer goes back to
    the requesting node (or, if it is this node, is kept there at once)."""
    profiles.require_expert(expert)
    decline_reason: DeclineReason | None = None
    if not accept:
        if reason not in DECLINE_REASONS:
            raise UnknownReason(field="reason")
        decline_reason = reason  # type: ignore[assignment]
    with db.write() as conn:
        row = conn.execute(
            "SELECT answer FROM expert_needs_received WHERE requesting_node = ? "
            "AND need_id = ? AND staff_id = ? AND deadline > ?",
            (requesting_node, need_id, expert.member.id, now)).fetchone()
        if row is None or row[0] is not None:
            raise NeedGone()
        stored = profiles.get(conn, expert.member.id)
        assert stored is not None  # the row above exists only for an expert with a profile
        body = AnswerBody(need_id=need_id, requesting_node=requesting_node,
                          expert_key=stored.signing_public_key.hex(),
                          answer="accept" if accept else "decline", reason=decline_reason,
                          answered_at=now)
        signed = SignedAnswer.sign(body, profiles.signing_key(conn, expert))
        conn.execute("UPDATE expert_needs_received SET answer = ?, seen = 1 "
                     "WHERE requesting_node = ? AND need_id = ? AND staff_id = ?",
                     (body.answer, requesting_node, need_id, expert.member.id))
        if requesting_node == node_id:
            from node.experts import needs  # the requesting side, on this same node
            needs.record_answer(conn, signed, sender=node_id, node_id=node_id,
                                observatory_key=observatory_key, now=now)
        else:
            outgoing.queue(conn, requesting_node,
                           ExpertOffer(answer=signed) if accept else ExpertDecline(answer=signed))
        append_audit(conn, audit, now, expert.member.id, f"expert.need_{body.answer}",
                     need_id, object_type="expert_need")


def engaged(conn: sqlite3.Connection, message: ExpertEngagement, *, requesting_node: str,
            node_id: str, report_id: str | None = None, coordinator_id: str | None = None) -> str:
    """The coordinator's choice, kept in the caller's transaction; the outcome. The offer
    must be our expert's acceptance of a need `requesting_node` sent us, signed by them.
    Raises `BadSignature` or `NeedRefused`, keeping nothing."""
    body = message.offer.verify()
    if body.requesting_node != requesting_node:
        raise NeedRefused("not_their_need")
    staff_id = _expert_staff(conn, body.expert_key)
    row = None if staff_id is None else conn.execute(
        "SELECT answer, deadline FROM expert_needs_received WHERE requesting_node = ? "
        "AND need_id = ? AND staff_id = ?", (requesting_node, body.need_id, staff_id)
    ).fetchone()
    if staff_id is None or row is None or row[0] != "accept":
        raise NeedRefused("no_such_offer")
    if message.decided_at >= row[1]:
        raise NeedRefused("need_expired")  # decided after the deadline: not believed
    conn.execute("UPDATE expert_needs_received SET outcome = ? WHERE requesting_node = ? "
                 "AND need_id = ? AND staff_id = ?",
                 (message.decision, requesting_node, body.need_id, staff_id))
    if message.decision == "not_chosen":
        return "not_chosen"
    box = conn.execute("SELECT box_public_key FROM staff WHERE id = ?", (staff_id,)).fetchone()
    description = (None if message.sealed_description is None
                   else base64.b64decode(message.sealed_description))
    engagements.record(conn, engagements.Engagement(
        engagement_id=message.engagement_id, need_id=body.need_id,
        requesting_node=requesting_node, home_node=node_id,
        report_id=report_id, coordinator_id=coordinator_id, expert_staff_id=staff_id,
        expert_key=body.expert_key, expert_box_key=bytes(box[0]).hex(),
        coordinator_key=message.coordinator_key,
        coordinator_box_key=message.coordinator_box_key, description_sealed=description,
        decided_at=message.decided_at, ends_at=message.ends_at, state="active"))
    return "engaged"


def description(expert: UnlockedStaff, e: engagements.Engagement) -> str | None:
    """The need's free text, opened with the expert's key (in memory, for this request)."""
    if e.description_sealed is None:
        return None
    opened = expert.secret_key.open(e.description_sealed)
    prefix = DESCRIPTION_CONTEXT + e.need_id.encode() + b"\x00"
    if not opened.startswith(prefix):
        return None
    return opened[len(prefix):].decode("utf-8")
