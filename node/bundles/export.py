"""Exporting one case as a court bundle (format: `backup_evidence.bundle_format`).

Refused without the reporter's recorded consent to legal use, and to anyone but a
coordinator; the export, the consent it relied on and each of the coordinator's choices
(withheld or court-ordered fields, with a reason code) are written to the chain of custody.
Items committed field by field (leaf version 2) leave with only the fields
`node.bundles.disclosure` lets go; the others are listed by name and digest as withheld
(committed). A report committed before that is re-committed first (`node.bundles.recommit`).
The bundle's checkpoint is the one a court can trust most among those that cover every
item: the most witness cosignatures, then an RFC 3161 timestamp, then the newest; if the
log grew since the last checkpoint, one is signed first.

An expert's signed opinion (issue 16, `node.experts.opinions`) is an item like the others
(leaf version 2): the bundle carries with it the expert's credential
(``experts/credential-SERIAL.json``) and the observatory's key that countersigned it
(``experts/observatory-key.txt``), both listed in the signed manifest, so that
``backup-evidence verify`` checks the expert's signature and credential offline.

The exporter is given what it reads: the case's access and keys (`CaseAccess`), its
report, items and consent (`IntakeService`), the node's keys, the chain of custody. The
witnesses' cosignatures of the node's own checkpoints are the federation's, read through
`node.federation.store`'s two functions for them.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from datetime import UTC, datetime
from typing import Any

from backup_evidence import disclosures as sd
from backup_evidence.bundle_format import (
    FORMAT,
    NODE_KEY,
    NODE_ROLES,
    OBSERVATORY_KEY,
    checkpoint_path,
    node_key_text,
    proof_path,
    timestamp_path,
)
from backup_evidence.disclosures import digest as disclosure_digest
from backup_evidence.disclosures import parse as parse_disclosure
from backup_evidence.leaves import EvidenceLeaf, ItemType
from crypto.checkpoint import ED25519, encode_vkey
from node import errors
from node.accounts import UnlockedStaff
from node.backoffice import audit as audit_log
from node.backoffice.access import Action, require
from node.backoffice.audit import AuditLog
from node.backoffice.case_access import CaseAccess
from node.bundles import disclosure as policy
from node.bundles.contact_text import Unreadable, original_flags
from node.bundles.recommit import ensure_per_field
from node.bundles.summary import render_summary
from node.bundles.writer import BundleWriter, canonical_json
from node.evidence import checkpoints, log_store, succession
from node.evidence.items import (
    RECOMMITS,
    DisclosedRecord,
    EvidenceRecord,
    Record,
    record_from_json,
    report_fields,
)
from node.experts.opinions import CaseOpinions, Opinion
from node.federation import store as cosignatures
from node.i18n import N_
from node.imports.importer import original_with_record
from node.intake.filetypes import _ALLOWED as ALLOWED_TYPES
from node.intake.models import Consent
from node.intake.service import IntakeService, ReportView
from node.keyring import NodeKeys
from node.storage.database import Database
from protocol.encoding import canonical_json as canonical_json_bytes

# the extension of each type intake accepts (its own table: one per type, the first listed)
_EXTENSIONS: dict[str, str] = {"text/plain": "txt"}
for _ext, (_, _mime) in ALLOWED_TYPES.items():
    _EXTENSIONS.setdefault(_mime, _ext)
# an imported report's original submission (issue 19): as the field tool wrote it
_EXTENSIONS |= {"application/json": "json", "text/csv": "csv", "application/xml": "xml"}
ORIGINAL = "original"  # the key and bundle name of an imported report's original submission


class NoEvidenceRecord(errors.NodeError):
    message = N_("This case has no evidence record and cannot be exported as a bundle.")


class EvidenceLogHeld(errors.NodeError):
    """Issue 21: a restored node signs nothing until its witnesses have answered."""

    message = N_("This node was restored from a backup and signs no evidence checkpoint until "
                 "its witnesses have answered, or an administrator has started a successor "
                 "log. Nothing was exported. Try again later.")


@dataclass
class CaseItem:
    """One evidence item of the case, with what leaves of it."""

    key: str  # "report", or the item's id
    base: str  # its name in the bundle, e.g. "report", "001-attachment"
    record: Record
    decision: policy.ItemDecision
    mime: str | None
    load: Callable[[], bytes]  # v1: the committed content; v2 attachment: the file
    credential: bytes | None = None  # an opinion's: the expert's credential (canonical JSON)
    credential_serial: str = ""

    @property
    def file_leaves(self) -> bool:
        """Whether the file's bytes (an attachment's) leave."""
        if isinstance(self.record, EvidenceRecord):
            return self.decision.fields[0].disclose
        return self.record.item_type in (ItemType.ATTACHMENT, ItemType.OPINION) and (
            self.decision.discloses("file.sha256"))

    def file_name(self) -> str:
        """A neutral name (the reporter's file name may say who they are), with the
        extension of the type sniffed at intake (the same on every machine)."""
        return f"evidence/{self.base}.{_EXTENSIONS.get(self.mime or '', 'bin')}"


@dataclass
class CasePlan:
    """What an export of one case would hold (the preview shows it)."""

    report_id: str
    view: ReportView
    items: list[CaseItem]
    pending_recommit: bool  # a version-1 report, re-committed when exported
    sealed_opinions: list[Opinion] = dataclass_field(default_factory=list)  # digests only


class BundleExporter:
    def __init__(self, db: Database, access: CaseAccess, intake: IntakeService, keys: NodeKeys,
                 audit: AuditLog, clock: Callable[[], datetime],
                 opinions: CaseOpinions | None = None) -> None:
        self._db = db
        self._access = access
        self._intake = intake
        self._keys = keys
        self._audit = audit
        self._clock = clock
        self._opinions = opinions

    def plan(self, staff: UnlockedStaff, report_id: str,
             choices: policy.Choices | None = None) -> CasePlan:
        """What `export` would put in the bundle, with nothing written but the opening of
        experts' opinions sealed to this coordinator (a version-1 report is shown as it will
        be re-committed)."""
        choices = choices or policy.Choices()
        require(staff.member, Action.EXPORT_CASE)
        self._access.require_consent(report_id, "legal")
        choices.check()
        return self._plan(staff, report_id, choices, recommit=False)

    def _plan(self, staff: UnlockedStaff, report_id: str, choices: policy.Choices, *,
              recommit: bool) -> CasePlan:
        key = self._access.case_key(staff, report_id)
        if recommit:
            record: Record | None = ensure_per_field(self._db, self._intake, self._audit,
                                                     staff.member.id, report_id, key,
                                                     self._clock)
        else:
            record = self._intake.evidence_record(report_id, key)
        if record is None:
            raise NoEvidenceRecord()
        view = self._intake.view_with_key(report_id, key)
        consent = view.consent
        pending = isinstance(record, EvidenceRecord)
        if isinstance(record, DisclosedRecord):
            names = [f.name for f in record.fields()]
        else:  # as `ensure_per_field` will commit it
            names = [n for n, _ in report_fields(json.loads(
                self._intake.submitted(report_id, key)))]
            names += [f"{RECOMMITS}.leaf_index", f"{RECOMMITS}.leaf_hash",
                      f"{RECOMMITS}.received_at"]
        submitted = self._intake.submitted
        out = [CaseItem("report", "report", record,
                        _decide(ItemType.REPORT, names, "report", consent, choices), None,
                        lambda: submitted(report_id, key))]
        for n, item in enumerate(view.items, start=1):
            item_record = record_from_json(item.meta["evidence"])
            if isinstance(item_record, DisclosedRecord):
                names = [f.name for f in item_record.fields()]
            else:
                names = []
            sound = item.kind == "attachment" and str(item.meta.get("mime", "")).startswith(
                "audio/")  # a voice: its own court scope (issue 20)
            decision = _decide(item_record.item_type, names, item.id, consent, choices,
                               sound=sound)
            if item.kind == "attachment":
                def load(item_id: str = item.id) -> bytes:
                    _, chunks = self._intake.open_attachment_with_key(key, report_id, item_id)
                    return b"".join(chunks)
                out.append(CaseItem(item.id, f"{n:03d}-attachment", item_record, decision,
                                    item.meta.get("mime"), load))
            else:
                def text(t: str = str(item.meta["text"])) -> bytes:
                    return t.encode("utf-8")
                out.append(CaseItem(item.id, f"{n:03d}-addition", item_record, decision,
                                    "text/plain", text))
        imported = original_with_record(self._db.read(), report_id, key)
        if imported is not None:
            out.append(_original_item(*imported, out[0], consent, choices))
        sealed: list[Opinion] = []
        if self._opinions is not None:  # experts' signed opinions (issue 16)
            # those sealed to this coordinator are opened first, so that the preview shows
            # what the export will carry (the opening is in custody, like a visit would be)
            self._opinions.settle(staff, report_id, key)
            for n, opinion in enumerate(self._opinions.with_key(report_id, key), start=1):
                if opinion.record is None:
                    sealed.append(opinion)
                    continue
                names = [f.name for f in opinion.record.fields()]
                file = opinion.file

                def opinion_file(data: bytes | None = file) -> bytes:
                    return data or b""
                out.append(CaseItem(
                    opinion.opinion_id, f"{n:03d}-opinion", opinion.record,
                    _decide(ItemType.OPINION, names, opinion.opinion_id, consent, choices),
                    opinion.mime, opinion_file,
                    canonical_json_bytes(opinion.credential.to_json_object()),
                    opinion.credential.body.serial))
        return CasePlan(report_id, view, out, pending, sealed)

    def export(self, staff: UnlockedStaff, report_id: str, lang: str = "en",
               choices: policy.Choices | None = None) -> bytes:
        """The bundle of one case, in `lang` for its readable summary."""
        choices = choices or policy.Choices()
        require(staff.member, Action.EXPORT_CASE)
        self._access.require_consent(report_id, "legal")
        choices.check()
        plan = self._plan(staff, report_id, choices, recommit=True)
        original = self._intake.original_evidence_record(
            report_id, self._access.case_key(staff, report_id))
        now = int(self._clock().timestamp())
        consent_history = self._intake.consent_history(report_id)
        consent_hour = max((e["at_hour"] for e in consent_history if e["legal"]), default=None)
        needed = 1 + max(i.record.leaf_index for i in plan.items)
        with self._db.write() as wconn:
            if _best_checkpoint(wconn, needed) is None:  # the log grew since: sign one now
                checkpoints.maybe_checkpoint(wconn, succession.current_signer(
                    wconn, self._keys.node_id, self._keys.checkpoint_key), now)
            for detail in choices.custody_details():
                self._audit.append(wconn, at=now, actor=staff.member.id,
                                   action="case.export.choice", object_type="report",
                                   object_id=report_id, detail=detail)
            self._audit.append(wconn, at=now, actor=staff.member.id, action="case.export",
                               object_type="report", object_id=report_id,
                               detail=f"court bundle; legal-use consent recorded at hour "
                                      f"{consent_hour}; court scope "
                                      f"{','.join(plan.view.consent.court_scope()) or 'none'}")
        conn = self._db.read()
        checkpoint = _best_checkpoint(conn, needed)
        if checkpoint is None:  # a restored node whose signing is held (issue 21)
            raise EvidenceLogHeld()
        origin = checkpoint.checkpoint.origin
        # After a log succession (issue 21): the signed statements from the first origin to
        # the checkpoint's, which the verifier follows.
        successions: list[str] = []
        succession_files: list[tuple[str, bytes]] = []
        for n, statement in enumerate(
                succession.statements_to(conn, self._keys.node_id, origin), start=1):
            successions.append(f"checkpoints/successor-{n}.txt")
            succession_files.append((successions[-1], statement.encode("utf-8")))

        writer = BundleWriter()
        for path, data in succession_files:
            writer.add(path, data)
        entries: list[dict[str, Any]] = []
        # cosigned checkpoints, oldest first: each item's earliest one bounds its time
        cosigned = sorted(size for size, _ in cosignatures.cosigned_sizes(conn, limit=1 << 30)
                          if size <= checkpoint.size)

        def proof_of(leaf: EvidenceLeaf, index: int, label: str) -> str:
            path = proof_path(len(entries) + 1)
            proof = log_store.inclusion_proof(conn, index, checkpoint.size)
            writer.add(path, canonical_json({
                "item": label, "leaf_index": index, "tree_size": checkpoint.size,
                "leaf": leaf.encode().hex(), "leaf_hash": leaf.leaf_hash.hex(),
                "inclusion_path": [h.hex() for h in proof.path],
                "checkpoint": checkpoint_path(checkpoint.size)}))
            return path

        if original is not None:  # the version-1 leaf of a re-committed report
            leaf = EvidenceLeaf.decode(original.leaf())
            entries.append(_common(original, proof_of(leaf, original.leaf_index, "report")) | {
                "version": 1, "path": None, "withheld_item": True,
                "description": "the report as first committed, contact details included: "
                               "withheld whole"})
        for item in plan.items:
            entries.append(self._item_entry(writer, item, proof_of))
            if item.key == ORIGINAL:
                entries[-1]["original"] = True
        for opinion in plan.sealed_opinions:  # only its digests: nobody could open it yet
            leaf = sd.item_leaf(ItemType.OPINION, opinion.received_at,
                                sd.report_subject(report_id), opinion.digests)
            entries.append(_common_leaf(ItemType.OPINION, opinion.received_at,
                                        opinion.leaf_index,
                                        proof_of(leaf, opinion.leaf_index, "opinion")) | {
                "version": 2, "path": None, "subject": sd.report_subject(report_id),
                "disclosed": [], "withheld": [
                    {"name": "(sealed)", "digest": d.hex(), "why": "sealed", "group": "opinion"}
                    for d in opinion.digests]})
        observatory: dict[str, str] = {}
        if any(item.credential is not None for item in plan.items):
            assert self._opinions is not None and self._opinions.observatory_key is not None
            observatory["observatory_key"] = OBSERVATORY_KEY
            writer.add(OBSERVATORY_KEY,
                       f"ed25519:{self._opinions.observatory_key}\n".encode("ascii"))
        for entry in entries:  # the earliest witnessed checkpoint holding each item
            earliest = next((n for n in cosigned if n > entry["leaf_index"]), None)
            if earliest is None or earliest == checkpoint.size:
                continue
            stored = checkpoints.checkpoint_at(conn, earliest)
            if stored is None:
                continue
            path = checkpoint_path(earliest)
            if path not in writer.files:
                writer.add(path, cosignatures.with_cosignatures(conn, stored.note, earliest))
            entry["bounded_by"] = {"checkpoint": path, "tree_size": earliest, "inclusion_path": [
                h.hex() for h in log_store.inclusion_proof(conn, entry["leaf_index"],
                                                           earliest).path]}
        if original is not None:
            entries[1]["recommitted"] = {
                "at": entries[1]["received_at"], "at_utc": entries[1]["received_at_utc"],
                "original_leaf_index": original.leaf_index,
                "original_received_at": original.received_at,
                "original_received_at_utc": _utc(original.received_at)}

        # The witnesses' cosignature lines, if any, after the node's own signature (issue 5).
        writer.add(checkpoint_path(checkpoint.size),
                   cosignatures.with_cosignatures(conn, checkpoint.note, checkpoint.size))
        timestamp: dict[str, str] = {}
        if checkpoint.timestamp_token is not None:
            timestamp["checkpoint_timestamp"] = timestamp_path(checkpoint.size)
            writer.add(timestamp["checkpoint_timestamp"], checkpoint.timestamp_token)
        identity_public = self._keys.identity_public
        writer.add(NODE_KEY, node_key_text(origin, identity_public))
        assert self._keys.statement is not None  # `keyring.load` refuses to start without
        writer.add(NODE_ROLES, self._keys.statement.encode().encode("ascii") + b"\n")
        verdict = self._audit.verify(conn)
        custody = [{"seq": e.seq, "at": e.at, "at_utc": _utc(e.at), "actor": e.actor,
                    "action": e.action, "detail": e.detail, "prev_hash": e.prev_hash.hex(),
                    "hash": e.hash.hex()} for e in audit_log.entries(conn, report_id)]
        writer.add("custody.json", canonical_json({"chain_verified_at_export": verdict.ok,
                                                   "chain_entries": verdict.entries,
                                                   "entries": custody}))
        writer.add("consent.json", canonical_json({"current": plan.view.consent.model_dump(),
                                                   "history": consent_history}))
        manifest = {"format": FORMAT, "case_id": report_id, "node_id": self._keys.node_id,
                    "log_origin": origin, **({"log_successions": successions}
                                             if successions else {}),
                    "exported_at": now, "exported_at_utc": _utc(now),
                    "checkpoint": checkpoint_path(checkpoint.size),
                    "tree_size": checkpoint.size, **timestamp, **observatory,
                    "items": entries}
        vkey = encode_vkey(origin, ED25519, identity_public)
        shown = {e["proof"]: _readable(writer.files[e["path"]]) for e in entries
                 if e.get("version") == 2 and e.get("path")}
        writer.add("summary.html", render_summary(manifest, custody,
                                                  plan.view.consent.model_dump(), vkey,
                                                  lang, shown).encode())
        return writer.finish(manifest, self._keys.manifest_key.sign)

    def _item_entry(self, writer: BundleWriter, item: CaseItem,
                    proof_of: Callable[[EvidenceLeaf, int, str], str]) -> dict[str, Any]:
        record = item.record
        if isinstance(record, EvidenceRecord):
            leaf = EvidenceLeaf.decode(record.leaf())
            if not item.file_leaves:
                return _common(record, proof_of(leaf, record.leaf_index, item.base)) | {
                    "version": 1, "path": None, "withheld_item": True,
                    "why": item.decision.fields[0].why}
            content = item.load()
            if hashlib.sha256(content).digest() != record.sha256:
                raise errors.NodeError()  # the stored item does not match its commitment
            path = (item.file_name() if record.item_type == ItemType.ATTACHMENT
                    else f"evidence/{item.base}.txt")
            writer.add(path, content)
            return _common(record, proof_of(leaf, record.leaf_index, path)) | {
                "version": 1, "path": path, "salt": record.salt.hex(),
                "sha256": record.sha256.hex(), "size": len(content)}
        leaf = record.evidence_leaf()
        shown = {d.name for d in item.decision.fields if d.disclose}
        why = {d.name: d.why for d in item.decision.fields}
        group = {d.name: d.group for d in item.decision.fields}
        lines, withheld = [], []
        for raw, field in zip(record.disclosures, record.fields(), strict=True):
            if field.name in shown:
                lines.append(raw)
            else:
                withheld.append({"name": field.name, "digest": disclosure_digest(raw).hex(),
                                 "why": why.get(field.name, "default"),
                                 "group": group.get(field.name, "other")})
        jsonl: str | None = f"evidence/{item.base}.jsonl" if lines else None
        if jsonl is not None:
            writer.add(jsonl, b"".join(line + b"\n" for line in lines))
        entry = _common(record, proof_of(leaf, record.leaf_index, jsonl or item.base)) | {
            "version": 2, "path": jsonl, "subject": record.subject,
            "disclosed": [d.name for d in item.decision.fields if d.disclose],
            "withheld": withheld}
        if item.file_leaves:
            content = item.load()
            if hashlib.sha256(content).hexdigest() != record.value("file.sha256"):
                raise errors.NodeError()  # the stored file does not match its commitment
            file_path = item.file_name()
            entry["file"] = file_path
            writer.add(file_path, content)
        if item.credential is not None:  # an opinion: the credential of its signature
            path = f"experts/credential-{item.credential_serial}.json"
            if path not in writer.files:
                writer.add(path, item.credential)
            entry["credential"] = path
        return entry


def _decide(item_type: ItemType, names: list[str], key: str, consent: Consent,
            choices: policy.Choices, *, sound: bool = False) -> policy.ItemDecision:
    if not names:  # a version-1 item: whole
        return policy.ItemDecision(key, item_type, [
            policy.decide_whole(item_type, key, consent, choices, sound=sound)])
    return policy.ItemDecision(key, item_type, [
        policy.decide(item_type, n, key, consent, choices, sound=sound) for n in names])


def _original_item(data: bytes, record: DisclosedRecord, report: CaseItem, consent: Consent,
                   choices: policy.Choices) -> CaseItem:
    """An imported report's original submission (issue 19), one more item of the bundle:
    its bytes leave whole or not at all (`policy.decide_original`)."""
    mime = record.value("file.mime")
    mime = mime if isinstance(mime, str) else None
    if isinstance(report.record, DisclosedRecord):
        holds_contact = any(f.name.startswith("contact.") and f.value not in (None, "")
                            for f in report.record.fields())
    else:
        holds_contact = True  # not reached: imports came after per-field leaves
    if not holds_contact:
        try:
            holds_contact = bool(original_flags(data, mime))
        except Unreadable:
            holds_contact = True
    decision = policy.ItemDecision(ORIGINAL, ItemType.ATTACHMENT, [
        policy.decide_original(f.name, ORIGINAL, consent, choices,
                               holds_contact=holds_contact, report=report.decision.fields)
        for f in record.fields()])
    return CaseItem(ORIGINAL, ORIGINAL, record, decision, mime, lambda: data)


def _readable(lines: bytes) -> list[tuple[str, str]]:
    out = []
    for line in lines.splitlines():
        field = parse_disclosure(line)
        out.append((field.name, "" if field.value is None else str(field.value)))
    return out


def _common(record: Record, proof: str) -> dict[str, Any]:
    return _common_leaf(record.item_type, record.received_at, record.leaf_index, proof)


def _common_leaf(item_type: ItemType, received_at: int, leaf_index: int,
                 proof: str) -> dict[str, Any]:
    return {"proof": proof, "type": item_type.name.lower(), "type_code": int(item_type),
            "received_at": received_at, "received_at_utc": _utc(received_at),
            "leaf_index": leaf_index}


def _best_checkpoint(conn: sqlite3.Connection, needed: int
                     ) -> checkpoints.StoredCheckpoint | None:
    """Of the signed checkpoints that cover every item (`needed` leaves), the one a court
    can trust most: the most witness cosignatures, then an RFC 3161 timestamp, then the
    newest. None if the log grew since the last checkpoint."""
    candidates = checkpoints.covering(conn, needed)
    if not candidates:
        return None
    # Cosigned checkpoints are among the candidates' sizes, and those at least `needed`
    # are the largest: the newest len(candidates) cosigned sizes hold all of them.
    counts = dict(cosignatures.cosigned_sizes(conn, limit=len(candidates)))
    size, _ = max(candidates, key=lambda c: (counts.get(c[0], 0), c[1], c[0]))
    return checkpoints.checkpoint_at(conn, size)


def _utc(ts: int) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
