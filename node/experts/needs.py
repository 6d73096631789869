"""A coordinator's needs for an expert, on the requesting node (issue 16).

Posting (`post`) checks the structured fields (specialty, languages, country and regions of
the shared region vocabulary, remote or on site, urgency, deadline), matches them against
the expert directory (`matching`) and queues one `ExpertNeed` per home node, naming only
that node's matched experts (`outgoing`; experts of this node get it directly,
`received_needs`). Only the structured fields leave the node. A free-text description is
sealed to the poster's own key and, once they pick an expert, to that expert alone: it goes
with the engagement.

Experts' signed answers come back (`record_answer`, from the federation handler or, for
our own experts, directly); the coordinator picks one who accepted (`pick`), after checking
again that a directory younger than a day lists them. If nobody accepted by the need's
`answer_by` time, the coordinator is offered a wider search (`escalation_due`) and must
confirm it (`widen`): nothing widens by itself. A need expires at its deadline: after it
nothing is picked and no answer is kept, here and on every home node (they enforce the
deadline the message carries).
"""

from __future__ import annotations

import base64
import secrets
import sqlite3
from dataclasses import dataclass

from pydantic import ValidationError

from crypto.keys import BoxPublicKey, VerifyKey
from node import errors
from node.accounts import UnlockedStaff, append_audit
from node.backoffice.audit import AuditLog
from node.backoffice.deletion import DerivedStore
from node.experts import directory, engagements, matching, outgoing, received_needs
from node.experts.received_needs import NeedRefused
from node.i18n import N_
from node.storage.database import Database
from protocol.encoding import canonical_json, parse_canonical_json
from protocol.engagements import MAX_MATCHED_EXPERTS, ExpertEngagement, ExpertNeed, SignedAnswer
from protocol.errors import EnvelopeRejected
from protocol.experts import DirectoryEntry, ExpertRefused, directory_age

# When to offer a wider search if nobody accepted: sooner for urgent needs (never after
# the deadline).
ANSWER_WINDOW = {"immediate": 3600, "urgent": 6 * 3600, "routine": 48 * 3600}
MAX_DESCRIPTION_CHARS = 4000
_DESCRIPTION_CONTEXT = b"expert-need-description:"
_PLACEHOLDER_KEY = "0" * 64  # checks the fields before anyone is matched


class NeedIncomplete(errors.InvalidInput):
    message = N_("Choose a specialty, at least one language, a country, how the expert works "
                 "and a deadline between one hour and 90 days. Regions must be codes of the "
                 "chosen country (for example CD-NK).")


class NeedClosed(errors.NodeError):
    message = N_("This need is no longer open: an expert was chosen, or its deadline passed.")


class NotAccepted(errors.NodeError):
    message = N_("This expert has not accepted this need.")


class ExpertNotShareable(errors.NodeError):
    message = N_("This expert cannot be engaged now: their credential is not in a current "
                 "expert directory (it may have been revoked or have expired). Choose "
                 "another expert, or try again once the directory is refreshed.")


class DescriptionTooLong(errors.TextTooLong):
    pass


@dataclass(frozen=True)
class Answer:
    expert_key: str
    home_node: str
    answer: str | None  # accept, decline, or None (no answer yet)
    reason: str | None


@dataclass(frozen=True)
class Need:
    need_id: str
    posted_by: str
    report_id: str | None
    criteria: matching.Criteria
    urgency: str
    posted_at: int
    answer_by: int
    deadline: int
    has_description: bool
    widened: bool
    state: str  # open, engaged, withdrawn
    answers: tuple[Answer, ...]

    def status(self, now: int) -> str:
        """open, engaged, withdrawn, or expired."""
        if self.state == "open" and now >= self.deadline:
            return "expired"
        return self.state

    @property
    def accepted(self) -> list[Answer]:
        return [a for a in self.answers if a.answer == "accept"]

    def escalation_due(self, now: int) -> bool:
        """Nobody accepted in time and the need is still open: offer a wider search."""
        return (self.status(now) == "open" and not self.widened and not self.accepted
                and now >= self.answer_by)


def _codes(values: tuple[str, ...]) -> str:
    return ",".join(values)


def _split(text: str) -> tuple[str, ...]:
    return tuple(text.split(",")) if text else ()


def check_fields(*, specialty: str, languages: list[str], country: str, regions: list[str],
                 mode: str, urgency: str, deadline_hours: int, now: int) -> ExpertNeed:
    """The need's fields as they would travel (with a placeholder for the experts), or
    `NeedIncomplete`."""
    try:
        return ExpertNeed.from_json_object({
            "need_id": secrets.token_hex(16), "specialty": specialty,
            "languages": sorted(set(languages)), "country": country,
            "regions": sorted(set(regions)), "mode": mode, "urgency": urgency,
            "posted_at": now, "deadline": now + deadline_hours * 3600,
            "experts": [_PLACEHOLDER_KEY]})
    except ValidationError:
        raise NeedIncomplete() from None


def _directory_entries(conn: sqlite3.Connection, observatory_key: VerifyKey, now: int
                       ) -> list[DirectoryEntry]:
    """The entries of the latest directory, if it is the observatory's and younger than a
    day; none otherwise (a node that stopped hearing from the observatory matches nobody)."""
    found = directory.latest(conn)
    if found is None:
        return []
    try:
        found.verify(issuer_key=observatory_key, now=found.body.issued_at,
                     previous_sequence=None)
        directory_age(found.body, now)
    except EnvelopeRejected:
        return []
    return list(found.body.entries)


def _send(conn: sqlite3.Connection, need: ExpertNeed, found: list[matching.Match], *,
          node_id: str, now: int) -> None:
    """Record the matches and queue the need to each home node (ours: delivered here)."""
    by_node: dict[str, list[str]] = {}
    for m in found:
        conn.execute("INSERT OR IGNORE INTO expert_need_matches (need_id, expert_key, box_key, "
                     "home_node) VALUES (?, ?, ?, ?)",
                     (need.need_id, m.expert_key, m.box_key, m.home_node))
        by_node.setdefault(m.home_node, []).append(m.expert_key)
    for home, keys in sorted(by_node.items()):
        message = need.model_copy(update={"experts": tuple(sorted(keys))})
        if home == node_id:
            received_needs.receive(conn, message, requesting_node=node_id, now=now)
        else:
            outgoing.queue(conn, home, message)


def post(db: Database, audit: AuditLog, coordinator: UnlockedStaff, *, node_id: str,
         observatory_key: VerifyKey, specialty: str, languages: list[str], country: str,
         regions: list[str], mode: str, urgency: str, deadline_hours: int, description: str,
         report_id: str | None, now: int) -> tuple[str, int]:
    """Post a need; (its id, how many experts it went to)."""
    fields = check_fields(specialty=specialty, languages=languages, country=country,
                          regions=regions, mode=mode, urgency=urgency,
                          deadline_hours=deadline_hours, now=now)
    if len(description) > MAX_DESCRIPTION_CHARS:
        raise DescriptionTooLong(field="description", limit=MAX_DESCRIPTION_CHARS)
    sealed = None
    if description.strip():
        sealed = coordinator.member.public_key.seal(
            _DESCRIPTION_CONTEXT + fields.need_id.encode() + b"\x00"
            + description.strip().encode("utf-8"))
    answer_by = min(now + ANSWER_WINDOW[fields.urgency], fields.deadline)
    criteria = matching.Criteria(fields.specialty, fields.languages, fields.country,
                                 fields.regions, fields.mode)
    with db.write() as conn:
        found = matching.matches(_directory_entries(conn, observatory_key, now),
                                 criteria)[:MAX_MATCHED_EXPERTS]
        conn.execute(
            "INSERT INTO expert_needs (need_id, posted_by, report_id, specialty, languages, "
            "country, regions, mode, urgency, posted_at, answer_by, deadline, "
            "description_sealed) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (fields.need_id, coordinator.member.id, report_id, fields.specialty,
             _codes(fields.languages), fields.country, _codes(fields.regions), fields.mode,
             fields.urgency, now, answer_by, fields.deadline, sealed))
        _send(conn, fields, found, node_id=node_id, now=now)
        append_audit(conn, audit, now, coordinator.member.id, "expert.need_posted",
                     fields.need_id, str(len(found)), object_type="expert_need")
    return fields.need_id, len(found)


def _need(conn: sqlite3.Connection, row: sqlite3.Row | tuple[object, ...]) -> Need:
    (need_id, posted_by, report_id, specialty, languages, country, regions, mode, urgency,
     posted_at, answer_by, deadline, sealed, widened, state) = tuple(row)
    answers = tuple(Answer(*r) for r in conn.execute(
        "SELECT expert_key, home_node, answer, reason FROM expert_need_matches "
        "WHERE need_id = ? ORDER BY answer IS NULL, expert_key", (need_id,)))
    return Need(str(need_id), str(posted_by), None if report_id is None else str(report_id),
                matching.Criteria(str(specialty), _split(str(languages)), str(country),
                                  _split(str(regions)), str(mode)),
                str(urgency), int(posted_at), int(answer_by), int(deadline),
                sealed is not None, bool(widened), str(state), answers)


_COLUMNS = ("need_id, posted_by, report_id, specialty, languages, country, regions, mode, "
            "urgency, posted_at, answer_by, deadline, description_sealed, widened, state")


def get(conn: sqlite3.Connection, need_id: str) -> Need | None:
    row = conn.execute(f"SELECT {_COLUMNS} FROM expert_needs WHERE need_id = ?",  # noqa: S608
                       (need_id,)).fetchone()
    return None if row is None else _need(conn, row)


def listing(conn: sqlite3.Connection) -> list[Need]:
    """Every need of this node, newest first."""
    return [_need(conn, r) for r in conn.execute(
        f"SELECT {_COLUMNS} FROM expert_needs ORDER BY posted_at DESC, need_id")]  # noqa: S608


def _open_need(conn: sqlite3.Connection, need_id: str, now: int) -> Need:
    need = get(conn, need_id)
    if need is None:
        raise errors.NotFound()
    if need.status(now) != "open":
        raise NeedClosed()
    return need


def widen(db: Database, audit: AuditLog, coordinator: UnlockedStaff, need_id: str, *,
          node_id: str, observatory_key: VerifyKey, now: int) -> int:
    """The coordinator confirmed a wider search: the need goes to the experts a wider match
    finds (whole country, also those marked away) that it did not reach yet; how many."""
    with db.write() as conn:
        need = _open_need(conn, need_id, now)
        reached = [a.expert_key for a in need.answers]
        room = max(0, MAX_MATCHED_EXPERTS - len(reached))
        found = matching.matches(_directory_entries(conn, observatory_key, now), need.criteria,
                                 wider=True, exclude=reached)[:room]
        message = ExpertNeed.from_json_object({
            "need_id": need.need_id, "specialty": need.criteria.specialty,
            "languages": list(need.criteria.languages), "country": need.criteria.country,
            "regions": list(need.criteria.regions), "mode": need.criteria.mode,
            "urgency": need.urgency, "posted_at": need.posted_at, "deadline": need.deadline,
            "experts": [_PLACEHOLDER_KEY]})
        _send(conn, message, found, node_id=node_id, now=now)
        conn.execute("UPDATE expert_needs SET widened = 1 WHERE need_id = ?", (need_id,))
        append_audit(conn, audit, now, coordinator.member.id, "expert.need_widened", need_id,
                     str(len(found)), object_type="expert_need")
    return len(found)


def record_answer(conn: sqlite3.Connection, signed: SignedAnswer, *, sender: str,
                  node_id: str, observatory_key: VerifyKey, now: int) -> str:
    """An expert's signed answer to one of our needs, from their home node `sender`, kept
    in the caller's transaction; the outcome. Raises `BadSignature`, `ExpertRefused` (the
    expert is not shareable now) or `NeedRefused`, keeping nothing."""
    body = signed.verify()
    if body.requesting_node != node_id:
        raise NeedRefused("not_for_us")
    need = get(conn, body.need_id)
    if need is None:
        raise NeedRefused("unknown_need")
    if need.status(now) == "expired":
        raise NeedRefused("need_expired")
    row = conn.execute("SELECT home_node, answer FROM expert_need_matches WHERE need_id = ? "
                       "AND expert_key = ?", (body.need_id, body.expert_key)).fetchone()
    if row is None or row[0] != sender:
        raise NeedRefused("not_matched")
    directory.shareable(conn, body.expert_key, observatory_key=observatory_key, now=now)
    if row[1] is not None:
        return "already_answered"
    conn.execute("UPDATE expert_need_matches SET answer = ?, reason = ?, signed_answer = ? "
                 "WHERE need_id = ? AND expert_key = ?",
                 (body.answer, body.reason, canonical_json(signed.to_json_object()).decode(),
                  body.need_id, body.expert_key))
    return body.answer


def _signed_answer(conn: sqlite3.Connection, need_id: str, expert_key: str) -> SignedAnswer:
    row = conn.execute("SELECT signed_answer, answer FROM expert_need_matches WHERE need_id = ? "
                       "AND expert_key = ?", (need_id, expert_key)).fetchone()
    if row is None or row[1] != "accept":
        raise NotAccepted()
    return SignedAnswer.from_json_object(parse_canonical_json(row[0].encode("utf-8")))


def pick(db: Database, audit: AuditLog, coordinator: UnlockedStaff, need_id: str,
         expert_key: str, *, node_id: str, observatory_key: VerifyKey, now: int) -> str:
    """The coordinator engages one expert who accepted; the engagement's id. The others who
    accepted are told the need is filled. The description, if any, is sealed to the expert
    (only the poster can open it: it goes with the engagement when they pick)."""
    with db.write() as conn:
        need = _open_need(conn, need_id, now)
        offer = _signed_answer(conn, need_id, expert_key)
        try:
            entry = directory.shareable(conn, expert_key, observatory_key=observatory_key,
                                        now=now)
        except ExpertRefused:
            raise ExpertNotShareable() from None
        box_key = entry.credential.body.box_key
        description = _description_for(conn, need_id, coordinator, box_key)
        key = engagements.coordinator_signing_key(coordinator)
        home = entry.credential.body.home_node
        engagement = engagements.Engagement(
            engagement_id=secrets.token_hex(16), need_id=need_id, requesting_node=node_id,
            home_node=home, report_id=need.report_id, coordinator_id=coordinator.member.id,
            expert_staff_id=None, expert_key=expert_key, expert_box_key=box_key,
            coordinator_key=key.verify_key.raw().hex(),
            coordinator_box_key=coordinator.member.public_key.raw().hex(),
            description_sealed=description, decided_at=now,
            ends_at=now + engagements.ENGAGEMENT_SECONDS, state="active")
        message = _engagement_message(engagement, offer, "engaged")
        if home == node_id:  # our own expert: one record, kept by the home side
            received_needs.engaged(conn, message, requesting_node=node_id, node_id=node_id,
                                   report_id=need.report_id,
                                   coordinator_id=coordinator.member.id)
        else:
            engagements.record(conn, engagement)
            outgoing.queue(conn, home, message)
        for other in need.accepted:
            if other.expert_key == expert_key:
                continue
            told = _engagement_message(engagement, _signed_answer(conn, need_id,
                                                                  other.expert_key),
                                       "not_chosen", engagement_id=secrets.token_hex(16))
            if other.home_node == node_id:
                received_needs.engaged(conn, told, requesting_node=node_id, node_id=node_id)
            else:
                outgoing.queue(conn, other.home_node, told)
        conn.execute("UPDATE expert_needs SET state = 'engaged' WHERE need_id = ?", (need_id,))
        append_audit(conn, audit, now, coordinator.member.id, "expert.engaged",
                     engagement.engagement_id, need_id, object_type="expert_engagement")
    return engagement.engagement_id


def _engagement_message(e: engagements.Engagement, offer: SignedAnswer, decision: str, *,
                        engagement_id: str | None = None) -> ExpertEngagement:
    chosen = decision == "engaged"
    return ExpertEngagement.from_json_object({
        "engagement_id": engagement_id or e.engagement_id, "decision": decision,
        "offer": offer.to_json_object(), "coordinator_key": e.coordinator_key,
        "coordinator_box_key": e.coordinator_box_key, "decided_at": e.decided_at,
        "ends_at": e.ends_at,
        "sealed_description": _b64(e.description_sealed) if chosen else None})


def _b64(blob: bytes | None) -> str | None:
    return None if blob is None else base64.b64encode(blob).decode("ascii")


def _description_for(conn: sqlite3.Connection, need_id: str, coordinator: UnlockedStaff,
                     box_key: str) -> bytes | None:
    """The need's free text sealed to the expert, if there is one and this coordinator
    posted it (it is sealed to the poster alone)."""
    row = conn.execute("SELECT description_sealed, posted_by FROM expert_needs "
                       "WHERE need_id = ?", (need_id,)).fetchone()
    if row is None or row[0] is None or row[1] != coordinator.member.id:
        return None
    opened = coordinator.secret_key.open(bytes(row[0]))
    prefix = _DESCRIPTION_CONTEXT + need_id.encode() + b"\x00"
    if not opened.startswith(prefix):
        return None  # sealed for another need: never pass it on
    return BoxPublicKey(bytes.fromhex(box_key)).seal(
        received_needs.DESCRIPTION_CONTEXT + need_id.encode() + b"\x00"
        + opened[len(prefix):])



def _erase_for_report(conn: sqlite3.Connection, report_id: str) -> None:
    """A deleted report's needs go, with their sealed descriptions (which may name the
    survivor's situation) and who they reached; an engagement for it ends and forgets the
    case and the description sealed to the expert. Needs already delivered to other nodes
    expire there at their deadline (`received_needs`); an expert's answer to a need that is
    gone is refused."""
    conn.execute("DELETE FROM expert_need_matches WHERE need_id IN "
                 "(SELECT need_id FROM expert_needs WHERE report_id = ?)", (report_id,))
    conn.execute("DELETE FROM expert_needs WHERE report_id = ?", (report_id,))
    conn.execute("UPDATE expert_engagements SET report_id = NULL, description_sealed = NULL, "
                 "state = 'ended' WHERE report_id = ?", (report_id,))


DERIVED_STORES = (DerivedStore("expert needs and engagements for it", _erase_for_report),)
