"""Storing imported submissions as reports, idempotently, in batched transactions.

Each submission becomes a report through the intake's own path
(`IntakeService.insert_report`): its attachments go through the intake's attachment writer
(type sniffed, limits applied, encrypted while read) into the evidence log byte for byte; the
original submission is kept, encrypted under the report's data key, and committed to the
evidence log as one more item; the channel (``import:kobo`` or ``import:odk``) is in the
stored report. ``imported_submissions`` keeps a keyed hash of the submission's UUID, so that
importing the same export again creates nothing -- even after a report was deleted.

Imported reports get no reporter receipt unless asked: a receipt costs an Argon2id wrap
(about 0.1 s) and is useful only if someone hands it over on paper.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from backup_evidence.leaves import ItemType
from crypto import passphrase as pw
from crypto import receipt
from crypto.keys import DataKey
from node import errors
from node.backoffice.audit import AuditLog
from node.backoffice.deletion import DerivedStore
from node.evidence import items as evidence
from node.imports.formats import MediaFile, Submission
from node.imports.mapping import Mapping, default_for, report_of
from node.intake.attachments import StagedFile
from node.intake.models import ReportInput
from node.intake.service import IntakeService, Receipt, hour_of, reporter_wrap_context
from node.keyring import NodeKeys
from node.storage.database import Database

BATCH = 500


def original_context(report_id: str) -> bytes:
    return b"import-original:" + report_id.encode()


@dataclass(frozen=True)
class Planned:
    submission: Submission
    report: ReportInput
    index: bytes = field(repr=False)
    already: bool
    """Imported before (or earlier in this same export): nothing will be created."""


@dataclass(frozen=True)
class _Prepared:
    planned: Planned
    key: DataKey
    files: list[StagedFile]
    report_id: str
    secret: str | None
    wrap: bytes


@dataclass(frozen=True)
class Imported:
    number: int
    report_id: str
    receipt: Receipt | None


class Importer:
    def __init__(self, db: Database, intake: IntakeService, keys: NodeKeys, audit: AuditLog,
                 clock: Callable[[], datetime],
                 receipt_params: pw.KdfParams = pw.RECEIPT) -> None:
        self._db = db
        self._intake = intake
        self._keys = keys
        self._audit = audit
        self._clock = clock
        self._receipt_params = receipt_params

    def plan(self, submissions: list[Submission], mapping: Mapping | None) -> list[Planned]:
        """Map and check every submission, writing nothing; the first that cannot become a
        report raises (its number and field in the error), so a run imports all or none of
        what is new."""
        conn = self._db.read()
        seen: set[bytes] = set()
        planned = []
        for sub in submissions:
            report = report_of(sub, mapping or default_for(sub))
            try:
                self._intake.validate(report, files=len(sub.attachments))
            except errors.NodeError as exc:
                exc.params.setdefault("number", sub.number)
                raise
            index = self._keys.receipt_index.submission_index(sub.source, sub.uuid)
            already = index in seen or conn.execute(
                "SELECT 1 FROM imported_submissions WHERE submission_index = ?",
                (index,)).fetchone() is not None
            seen.add(index)
            planned.append(Planned(sub, report, index, already))
        return planned

    def run(self, planned: list[Planned], *, receipts: bool = False,
            batch: int = BATCH) -> list[Imported]:
        """Store what is new, `batch` reports per write transaction. A file the intake refuses
        (its type or size) stops the run with the submission's number: the batches before
        it stay imported, and running again imports the rest."""
        todo = [p for p in planned if not p.already]
        done: list[Imported] = []
        for start in range(0, len(todo), batch):
            done += self._store_batch(todo[start:start + batch], receipts)
        return done

    def _store_batch(self, planned: list[Planned], receipts: bool) -> list[Imported]:
        now = self._clock()
        prepared: list[_Prepared] = []
        staged: list[StagedFile] = []
        kept: set[str] = set()
        try:
            # Everything slow happens before the write lock is taken: files are encrypted
            # while read, and a receipt's Argon2id wrap (about 0.1 s) is made here, so that
            # the live node's own intake is never held up for long by an import.
            for p in planned:
                key = DataKey.generate()
                files = []
                for media in p.submission.attachments:
                    try:
                        files.append(self._stage(key, media))
                    except errors.NodeError as exc:  # a type or size intake refuses
                        exc.params.setdefault("number", p.submission.number)
                        raise
                    staged.append(files[-1])
                report_id = secrets.token_hex(16)
                secret = receipt.new_secret() if receipts else None
                wrap = (pw.wrap_key(key, secret, self._receipt_params,
                                    reporter_wrap_context(report_id))
                        if secret is not None else b"")
                prepared.append(_Prepared(p, key, files, report_id, secret, wrap))
            out = []
            with self._db.write() as conn:
                for prep in prepared:
                    if conn.execute("SELECT 1 FROM imported_submissions"
                                    " WHERE submission_index = ?",
                                    (prep.planned.index,)).fetchone():
                        continue  # imported meanwhile by another run
                    out.append(self._insert(conn, now, prep))
                    kept.update(f.blob_name for f in prep.files)
        except BaseException:
            self._intake.discard(staged)
            raise
        self._intake.discard([f for f in staged if f.blob_name not in kept])
        return out

    def _stage(self, key: DataKey, media: MediaFile) -> StagedFile:
        writer = self._intake.attachment_writer(key, self._intake.allowance(), media.name)
        for chunk in media.chunks():
            writer.feed(chunk)
        return writer.finish()

    def _insert(self, conn: sqlite3.Connection, now: datetime, prep: _Prepared) -> Imported:
        sub, report_id = prep.planned.submission, prep.report_id
        channel = f"import:{sub.source}"
        record = prep.planned.report.model_dump(mode="json") | {
            "received_at": now.isoformat(), "channel": channel,
            "synthetic": False, "collected_at": sub.submitted_at}
        issued: Receipt | None = None
        if prep.secret is not None:
            code = self._free_code(conn)
            index = self._keys.receipt_index.index(code)
            issued = Receipt(report_id, code, prep.secret)
        else:
            # no receipt: an index no receipt number hashes to, and no wrap of the key
            index = secrets.token_bytes(32)
        records = self._intake.insert_report(
            conn, report_id, prep.planned.report, record, prep.key, prep.files,
            receipt_index=index, reporter_wrap=prep.wrap,
            extra_items=[(ItemType.ATTACHMENT, evidence_fields(sub))],
            consent_source="import")
        sealed = prep.key.encrypt(sub.original + b"\n" + _record_json(records[0]),
                                  original_context(report_id))
        conn.execute("INSERT INTO imported_submissions (submission_index, source, report_id,"
                     " imported_hour, original_ct) VALUES (?, ?, ?, ?, ?)",
                     (prep.planned.index, sub.source, report_id, hour_of(now), sealed))
        # the case's chain of custody starts with where it came from
        self._audit.append(conn, at=int(now.timestamp()), actor="import",
                           action="case.import", object_type="report", object_id=report_id,
                           detail=channel)
        return Imported(sub.number, report_id, issued)

    def _free_code(self, conn: sqlite3.Connection) -> str:
        while True:
            code = receipt.new_receipt_code()
            if conn.execute("SELECT 1 FROM reports WHERE receipt_index = ?",
                            (self._keys.receipt_index.index(code),)).fetchone() is None:
                return code


def evidence_fields(sub: Submission) -> list[tuple[str, object]]:
    """The original submission as an evidence item: its bytes' SHA-256, size, type, name."""
    return list(evidence.attachment_fields(
        hashlib.sha256(sub.original).hexdigest(), len(sub.original), sub.original_mime,
        sub.original_name))


def _record_json(record: evidence.DisclosedRecord) -> bytes:
    return json.dumps(record.to_json()).encode()


def open_original(conn: sqlite3.Connection, report_id: str, key: DataKey) -> bytes | None:
    """The original submission of an imported report, as exported (None if not imported)."""
    found = original_with_record(conn, report_id, key)
    return found[0] if found is not None else None


def original_with_record(conn: sqlite3.Connection, report_id: str, key: DataKey
                         ) -> tuple[bytes, evidence.DisclosedRecord] | None:
    """The original submission of an imported report and the evidence record that commits
    to it (a court bundle carries both, issue 19); None if the report was not imported."""
    row = conn.execute("SELECT original_ct FROM imported_submissions WHERE report_id = ?",
                       (report_id,)).fetchone()
    if row is None or row["original_ct"] is None:
        return None
    original, record = key.decrypt(row["original_ct"],
                                   original_context(report_id)).rsplit(b"\n", 1)
    committed = evidence.record_from_json(json.loads(record))
    if not isinstance(committed, evidence.DisclosedRecord):
        raise TypeError("an original submission is committed field by field")
    return original, committed


def _erase(conn: sqlite3.Connection, report_id: str) -> None:
    row = conn.execute("SELECT submission_index, source, imported_hour FROM"
                       " imported_submissions WHERE report_id = ?", (report_id,)).fetchone()
    if row is None:
        return
    # deleted, then written again without the report: secure_delete zeroes the old row's
    # bytes, and the keyed hash stays so that the same export cannot bring the report back
    conn.execute("DELETE FROM imported_submissions WHERE report_id = ?", (report_id,))
    conn.execute("INSERT INTO imported_submissions (submission_index, source, report_id,"
                 " imported_hour, original_ct) VALUES (?, ?, NULL, ?, NULL)",
                 (row["submission_index"], row["source"], row["imported_hour"]))


DERIVED_STORE = DerivedStore("imported submission originals", _erase)
