"""An expert's signed opinion as evidence of the case (issue 16).

On the expert's *home* node (`write`): the expert writes an opinion on an engagement with a
share -- text, an optional PDF or image, a kind from `KINDS` -- and signs its statement with
their own Ed25519 key (`backup_evidence.opinions`: engagement, report subject digest from
the share, content digests, credential serial, time). Its fields become salted disclosures
(`backup_evidence.disclosures`); their digests travel in clear, the disclosures and the file
sealed to the requesting node's box key (its intake key, from the membership list): what its
coordinators open reports with. The `ExpertOpinion` goes to the requesting
node through the expert network's outgoing queue and the outbox (queued while that node is
offline), or, when the requesting node is this one, is received at once.

On the *requesting* node (`receive_in`, in the responder's transaction): the signature, the
credential (the observatory's countersignature, validity at signing and now), the directory
(not revoked: a directory younger than a day lists the expert), the engagement (ours,
active, this expert, from their home node) and the report's subject (the engagement's
report, or one shared under it) are checked, storing
nothing when one fails. The leaf (version 2, ``OPINION``) is then appended to the evidence
log from the digests at once, so its place in the log is its time of arrival, and the
custody chain records it. The sealed content waits, unreadable to the node's process, until
a coordinator holding the node's intake key opens the case (`CaseOpinions.settle`): then
each disclosure is checked against the committed digests and the statement, and the
content is kept under the case key, like everything else of the case.

A court bundle carries the opinion (`node.bundles.export`), its credential and the
observatory's key; deleting the report erases its opinions (`derived_stores`): the leaf
stays in the log, unlinkable.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

from backup_evidence import disclosures as sd
from backup_evidence import opinions as op
from backup_evidence.leaves import ItemType
from crypto.errors import DecryptionError
from crypto.keys import BoxPublicKey, DataKey, VerifyKey
from node import errors
from node.accounts import UnlockedStaff
from node.backoffice.access import Action
from node.backoffice.audit import AuditLog
from node.backoffice.case_access import CaseAccess
from node.backoffice.deletion import AfterCommit, DerivedStore
from node.evidence import log_store
from node.evidence.items import DisclosedRecord
from node.experts import directory, engagements, outgoing, profiles
from node.federation.store import membership_list
from node.i18n import N_
from node.intake.filetypes import sniff
from node.storage.database import Database
from protocol.encoding import canonical_json, parse_canonical_json
from protocol.errors import EnvelopeRejected
from protocol.experts import ExpertCredential, ExpertRefused
from protocol.opinions import ExpertOpinion

KINDS: Final = op.KINDS
KIND_LABELS: Final[dict[str, str]] = {
    "medico_legal_certificate": N_("Medico-legal certificate"),
    "psychological_assessment": N_("Psychological assessment"),
    "legal_opinion": N_("Legal opinion"),
    "other": N_("Other opinion"),
}
MAX_TEXT_CHARS: Final = 20_000
# The file, in base64 inside the sealed content, must fit one message (`Base64Blob`, about
# 512 KiB sealed): a scanned certificate at a modest resolution does.
MAX_FILE_BYTES: Final = 300_000
FILE_TYPES: Final = frozenset({"application/pdf", "image/jpeg", "image/png"})
CLOCK_SKEW: Final = 300  # an opinion signed "later" than its arrival by more is refused
_CONTEXT: Final = b"expert-opinion:"


class OpinionRefused(errors.InvalidInput):
    """The expert's opinion cannot be written; nothing was stored or sent."""

    message = N_("The opinion was not sent: %(why)s.")

    def __init__(self, why: str) -> None:
        errors.NodeError.__init__(self, why=why)


NO_SHARE: Final = N_("there is no active engagement with a share for it, or the share was "
                     "made before opinions could be signed (ask the coordinator to share "
                     "again)")
NO_CREDENTIAL: Final = N_("your credential from the observatory is missing or has expired")
NO_MEMBER: Final = N_("the organisation that engaged you is not in this node's membership "
                      "list yet; try again later")
BAD_KIND: Final = N_("choose what kind of opinion it is")
NO_TEXT: Final = N_("write the opinion's text (at most 20,000 characters)")
BAD_FILE: Final = N_("the attached file must be a PDF, JPEG or PNG of at most 300 kB")


class Refused(Exception):
    """The requesting node refuses an opinion; nothing is stored. `code` is the short
    reason on the wire."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


# -- the expert's home node -------------------------------------------------------------

def write(db: Database, audit: AuditLog, expert: UnlockedStaff, *, engagement_id: str,
          subject_sha256: str | None, kind: str, text: str, file: bytes | None,
          node_id: str, own_box_key: str, observatory_node_id: str | None,
          observatory_key: VerifyKey, now: int,
          receive: Callable[[sqlite3.Connection, ExpertOpinion], str] | None = None) -> str:
    """Sign and send the expert's opinion for an engagement of theirs with a share
    (`subject_sha256`, from the share they opened); its id. `OpinionRefused` stores nothing.
    The content is sealed to the requesting node's box key: `own_box_key` when it is this
    node (then `receive` keeps it at once), else the one its membership entry lists."""
    profiles.require_expert(expert)
    if kind not in KINDS:
        raise OpinionRefused(BAD_KIND)
    text = text.strip()
    if not text or len(text) > MAX_TEXT_CHARS:
        raise OpinionRefused(NO_TEXT)
    mime = None
    if file:
        sniffed = sniff(file[:4096])
        if len(file) > MAX_FILE_BYTES or sniffed is None or sniffed.mime not in FILE_TYPES:
            raise OpinionRefused(BAD_FILE)
        mime = sniffed.mime
    else:
        file = None
    with db.write() as conn:
        e = engagements.get(conn, engagement_id)
        if (e is None or e.expert_staff_id != expert.member.id or not e.active(now)
                or subject_sha256 is None):
            raise OpinionRefused(NO_SHARE)
        row = conn.execute("SELECT credential FROM expert_profiles WHERE staff_id = ?",
                           (expert.member.id,)).fetchone()
        try:
            if row is None or row[0] is None:
                raise EnvelopeRejected("no credential")
            credential = ExpertCredential.from_json_object(
                parse_canonical_json(row[0].encode("utf-8")))
            body = credential.verify(issuer_key=observatory_key, now=now)
        except EnvelopeRejected:
            raise OpinionRefused(NO_CREDENTIAL) from None
        box_key = own_box_key if e.requesting_node == node_id else _member_box_key(
            conn, observatory_node_id, e.requesting_node)
        if box_key is None:
            raise OpinionRefused(NO_MEMBER)
        key = profiles.signing_key(conn, expert)
        statement = op.Statement(
            engagement=engagement_id, subject_sha256=subject_sha256, kind=kind,
            text_sha256=hashlib.sha256(text.encode("utf-8")).hexdigest(),
            file_sha256=None if file is None else hashlib.sha256(file).hexdigest(),
            credential=body.serial, expert_key=body.expert_key, signed_at=now)
        statement_text = statement.encode().decode("utf-8")
        signature = statement.sign(key)
        fields: list[tuple[str, sd.Scalar]] = [
            ("kind", kind), ("text", text), ("statement", statement_text),
            ("signature", signature)]
        if file is not None:
            fields += [("file.sha256", statement.file_sha256), ("file.size", len(file)),
                       ("file.mime", mime)]
        lines = [sd.new_disclosure(n, v).encode() for n, v in fields]
        content = json.dumps({"disclosures": [line.decode("utf-8") for line in lines],
                              "file": None if file is None else
                              base64.b64encode(file).decode("ascii")}).encode("utf-8")
        opinion_id = secrets.token_hex(16)
        message = ExpertOpinion(
            opinion_id=opinion_id, engagement_id=engagement_id, statement=statement_text,
            signature=signature, credential=credential,
            digests=tuple(sd.digest(line).hex() for line in lines),
            sealed=base64.b64encode(BoxPublicKey(bytes.fromhex(box_key)).seal(
                content)).decode("ascii"), sent_at=now)
        if e.requesting_node == node_id and receive is not None:
            receive(conn, message)
        else:
            outgoing.queue(conn, e.requesting_node, message)
        audit.append(conn, at=now, actor=expert.member.id, action="expert.opinion_sent",
                     object_type="expert_engagement", object_id=engagement_id,
                     detail=f"opinion {opinion_id}: {kind}, statement SHA-256 "
                            f"{hashlib.sha256(statement.encode()).hexdigest()}")
    return opinion_id


def _member_box_key(conn: sqlite3.Connection, observatory: str | None,
                    member: str) -> str | None:
    """A member's box key, from the membership list this node verified when it kept it."""
    stored = None if observatory is None else membership_list(conn, observatory)
    if stored is None:
        return None
    return next((m.box_key for m in stored.signed.body.members if m.node_id == member), None)


# -- the requesting node ----------------------------------------------------------------

def receive_in(conn: sqlite3.Connection, audit: AuditLog, message: ExpertOpinion, *,
               sender: str, node_id: str, observatory_key: VerifyKey, now: int) -> str:
    """Check and keep an opinion (the responder's transaction); the outcome. `Refused`
    stores nothing."""
    try:
        statement = op.verify_signature(message.statement.encode("utf-8"), message.signature)
    except op.BadOpinion:
        raise Refused("bad_signature") from None
    e = engagements.get(conn, message.engagement_id)
    if (e is None or e.requesting_node != node_id or e.home_node != sender
            or e.expert_key != statement.expert_key or not e.active(now)):
        raise Refused("no_engagement")
    try:
        body = message.credential.verify(issuer_key=observatory_key, now=now)
    except EnvelopeRejected:
        raise Refused("credential") from None
    if (body.home_node != sender or not body.not_before <= statement.signed_at < body.not_after
            or statement.signed_at > now + CLOCK_SKEW):
        raise Refused("credential")
    try:
        directory.shareable(conn, statement.expert_key, observatory_key=observatory_key,
                            now=now)
    except ExpertRefused as exc:
        raise Refused(exc.code) from None
    # the report: the engagement's, or one shared under it (a need posted without a case)
    report_id = next((r for r in _reports_of(conn, e) if op.subject_digest(
        sd.report_subject(r)) == statement.subject_sha256), None)
    if report_id is None:
        raise Refused("other_report")
    subject = sd.report_subject(report_id)
    if conn.execute("SELECT 1 FROM expert_opinions WHERE opinion_id = ?",
                    (message.opinion_id,)).fetchone() is not None:
        return "duplicate"
    digests = [bytes.fromhex(d) for d in message.digests]
    leaf = sd.item_leaf(ItemType.OPINION, now, subject, digests)
    (index,) = log_store.append_leaves(conn, [leaf.encode()])
    conn.execute(
        "INSERT INTO expert_opinions (opinion_id, engagement_id, report_id, expert_key, "
        "statement, signature, credential, digests, sealed, leaf_index, received_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (message.opinion_id, message.engagement_id, report_id, statement.expert_key,
         message.statement, message.signature,
         canonical_json(message.credential.to_json_object()).decode("utf-8"),
         ",".join(message.digests), base64.b64decode(message.sealed), index, now))
    audit.append(conn, at=now, actor="system", action="expert.opinion_received",
                 object_type="report", object_id=report_id,
                 detail=f"opinion {message.opinion_id} ({statement.kind}) for engagement "
                        f"{message.engagement_id}, credential {body.serial}; evidence log "
                        f"position {index}")
    return "kept"


def _reports_of(conn: sqlite3.Connection, e: engagements.Engagement) -> list[str]:
    shared = [str(r[0]) for r in conn.execute(
        "SELECT DISTINCT report_id FROM expert_shares_sent WHERE engagement_id = ? "
        "AND report_id IS NOT NULL", (e.engagement_id,))]
    return ([e.report_id] if e.report_id is not None else []) + shared


@dataclass(frozen=True)
class Opinion:
    """One opinion of a case as staff see it; `record` and `file` once it was opened."""

    opinion_id: str
    engagement_id: str
    kind: str
    signed_at: int
    received_at: int
    leaf_index: int
    credential: ExpertCredential
    statement: op.Statement
    digests: tuple[bytes, ...]
    record: DisclosedRecord | None  # None while still sealed to the node's intake key
    file: bytes | None

    @property
    def sealed(self) -> bool:
        return self.record is None

    @property
    def text(self) -> str:
        return "" if self.record is None else str(self.record.value("text"))

    @property
    def mime(self) -> str | None:
        if self.record is None or self.file is None:
            return None
        return str(self.record.value("file.mime"))


class CaseOpinions:
    """The opinions of a case on the requesting node: opened by a coordinator holding the
    intake key, read by whoever may read the case, exported, erased with the report."""

    def __init__(self, db: Database, audit: AuditLog, access: CaseAccess, *,
                 observatory_key: str | None, clock: Callable[[], int]) -> None:
        self._db = db
        self._audit = audit
        self._access = access
        self.observatory_key = observatory_key  # hex, the key the node believes
        self._clock = clock

    def settle(self, staff: UnlockedStaff, report_id: str, key: DataKey) -> int:
        """Open the opinions of this case sealed to the node (with the intake key `staff`
        holds, a coordinator's) and keep them under the case key; how many. One whose
        content does not match what was committed and signed stays sealed, and custody says
        so. Without the intake key, nothing is opened."""
        intake_key = staff.intake_key
        if intake_key is None:
            return 0
        conn = self._db.read()
        rows = conn.execute(
            "SELECT opinion_id, statement, signature, digests, sealed FROM expert_opinions "
            "WHERE report_id = ? AND sealed IS NOT NULL", (report_id,)).fetchall()
        done = 0
        now = self._clock()
        for opinion_id, statement, signature, digests, sealed in rows:
            try:
                content = intake_key.open(bytes(sealed))
                _check_content(content, statement, signature, digests)
            except (DecryptionError, ValueError, KeyError, TypeError, op.BadOpinion,
                    sd.BadDisclosure):
                with self._db.write() as wconn:
                    self._audit.append(wconn, at=now, actor=staff.member.id,
                                       action="expert.opinion_refused", object_type="report",
                                       object_id=report_id,
                                       detail=f"opinion {opinion_id}: its content does not "
                                              f"match what was committed")
                continue
            with self._db.write() as wconn:
                wconn.execute("UPDATE expert_opinions SET opinion_ct = ?, sealed = NULL "
                              "WHERE opinion_id = ? AND sealed IS NOT NULL",
                              (key.encrypt(content, _CONTEXT + opinion_id.encode()),
                               opinion_id))
                self._audit.append(wconn, at=now, actor=staff.member.id,
                                   action="expert.opinion_opened", object_type="report",
                                   object_id=report_id, detail=f"opinion {opinion_id}")
            done += 1
        return done

    def for_case(self, staff: UnlockedStaff, report_id: str) -> list[Opinion]:
        """The case's opinions, oldest first, opened with the case key (settling those
        still sealed to the node first, if this person holds the intake key)."""
        key = self._access.open_case(staff, Action.READ_CASE, report_id)
        self.settle(staff, report_id, key)
        return self.with_key(report_id, key)

    def with_key(self, report_id: str, key: DataKey) -> list[Opinion]:
        out = []
        for row in self._db.read().execute(
                "SELECT * FROM expert_opinions WHERE report_id = ? ORDER BY leaf_index",
                (report_id,)):
            statement = op.parse_statement(row["statement"].encode("utf-8"))
            record = file = None
            if row["opinion_ct"] is not None:
                content = json.loads(key.decrypt(bytes(row["opinion_ct"]),
                                                 _CONTEXT + row["opinion_id"].encode()))
                record = DisclosedRecord(
                    ItemType.OPINION, row["received_at"], sd.report_subject(report_id),
                    tuple(line.encode("utf-8") for line in content["disclosures"]),
                    row["leaf_index"])
                file = None if content["file"] is None else base64.b64decode(content["file"])
            out.append(Opinion(
                row["opinion_id"], row["engagement_id"], statement.kind, statement.signed_at,
                row["received_at"], row["leaf_index"],
                ExpertCredential.from_json_object(parse_canonical_json(
                    row["credential"].encode("utf-8"))), statement,
                tuple(bytes.fromhex(d) for d in row["digests"].split(",")), record, file))
        return out

    def receive_in(self, conn: sqlite3.Connection, message: ExpertOpinion, *, sender: str,
                   node_id: str) -> str:
        """`receive_in` with this node's custody chain, observatory key and clock."""
        if self.observatory_key is None:
            raise Refused("no_federation")
        return receive_in(conn, self._audit, message, sender=sender, node_id=node_id,
                          observatory_key=VerifyKey(bytes.fromhex(self.observatory_key)),
                          now=self._clock())

    @property
    def derived_stores(self) -> tuple[DerivedStore, ...]:
        """A deleted report's opinions are erased; their leaves stay in the log, which
        nothing links to the report any more."""
        return (DerivedStore("expert opinions", _erase_report),)


def _erase_report(conn: sqlite3.Connection, report_id: str) -> AfterCommit | None:
    conn.execute("DELETE FROM expert_opinions WHERE report_id = ?", (report_id,))
    return None


def _check_content(content: bytes, statement: str, signature: str, digests: str) -> None:
    """The opened content is what was committed (its disclosures' digests) and signed (the
    statement's text and file digests); raises otherwise."""
    data: dict[str, Any] = json.loads(content)
    lines = [str(x).encode("utf-8") for x in data["disclosures"]]
    if sorted(sd.digest(line).hex() for line in lines) != sorted(digests.split(",")):
        raise ValueError("the disclosures are not the committed ones")
    values = {d.name: d.value for d in (sd.parse(line) for line in lines)}
    parsed = op.verify_signature(statement.encode("utf-8"), signature)
    file = None if data["file"] is None else base64.b64decode(data["file"])
    if (values.get("statement") != statement or values.get("signature") != signature
            or values.get("kind") != parsed.kind
            or hashlib.sha256(str(values.get("text")).encode("utf-8")).hexdigest()
            != parsed.text_sha256
            or (None if file is None else hashlib.sha256(file).hexdigest())
            != parsed.file_sha256 or values.get("file.sha256") != parsed.file_sha256):
        raise ValueError("the content is not what the expert signed")
