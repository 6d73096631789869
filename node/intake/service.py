"""The intake service layer, shared by the HTML form, the JSON API, the CLI and the demo.

Synchronous on purpose: the web layer runs these calls in a thread pool, and tests and
the CLI call them directly. Time is passed in through `clock`, so tests control it.
"""

from __future__ import annotations

import calendar
import json
import secrets
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import rfc8785

from backup_evidence.disclosures import report_subject
from backup_evidence.leaves import ItemType
from crypto import passphrase as pw
from crypto import receipt
from crypto.errors import DecryptionError, FormatError
from crypto.filestream import decrypt_stream
from crypto.keys import BoxPublicKey, BoxSecretKey, CaseKey, DataKey
from node import errors, keyring
from node.backoffice import case_keys
from node.backoffice.deletion import DerivedStore
from node.backups import restore_state
from node.config import NodeConfig
from node.evidence import items as evidence
from node.intake.attachments import (
    Allowance,
    AttachmentWriter,
    StagedFile,
    item_context,
    meta_context,
)
from node.intake.consent_auth import ConsentKey, ConsentUnverified
from node.intake.models import AdditionInput, Consent, ReportInput, Status
from node.keyring import NodeKeys
from node.matching.withdrawals import withdraw_case
from node.statistics.budget import void_drafts_counting
from node.storage.blobstore import BlobStore
from node.storage.database import Database

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


def hour_of(t: datetime) -> int:
    return int(t.timestamp()) // 3600


def body_context(report_id: str) -> bytes:
    return b"report-body:" + report_id.encode()


def evidence_context(report_id: str) -> bytes:
    return b"report-evidence:" + report_id.encode()


def reporter_wrap_context(report_id: str) -> bytes:
    return b"reporter-wrap:" + report_id.encode()


# The channels that do not ask the matching question (issue 18): a USSD screen cannot say
# it in plain words, and a field tool's form was written before it.
_NOT_ASKED_ABOUT_MATCHING = ("ussd", "import:")


@dataclass(frozen=True)
class Receipt:
    report_id: str
    code: str
    secret: str

    @property
    def code_display(self) -> str:
        return receipt.group(self.code, 5)

    @property
    def secret_display(self) -> str:
        return receipt.group(self.secret, 3)


@dataclass(frozen=True)
class ReporterAccess:
    """A reporter's open report: held in their session's memory only."""

    report_id: str
    data_key: DataKey = field(repr=False)


@dataclass(frozen=True)
class ItemView:
    id: str
    kind: str
    received_hour: int
    meta: dict[str, Any]


@dataclass(frozen=True)
class ReportView:
    id: str
    status: Status
    received_hour: int
    updated_hour: int
    consent: Consent
    record: dict[str, Any]
    items: list[ItemView]
    synthetic: bool
    # made before the reporter was asked about matching (issue 18): ask on the receipt page
    matching_unasked: bool = False

    @property
    def report(self) -> ReportInput:
        fields = {k: v for k, v in self.record.items() if k in ReportInput.model_fields}
        return ReportInput.model_validate(fields)


# SQL built from the Consent model's field names (constants, never input).
_CONSENT_NAMES = tuple(Consent.model_fields)
_CONSENT_COLUMNS = ", ".join(f"consent_{n}" for n in _CONSENT_NAMES)
_INSERT_REPORT = (
    "INSERT INTO reports (id, receipt_index, received_hour, updated_hour, status, sealed_key,"  # noqa: S608
    f" reporter_wrap, body_ct, {_CONSENT_COLUMNS}, synthetic)"
    f" VALUES (?, ?, ?, ?, 'new', ?, ?, ?, {', '.join('?' * len(_CONSENT_NAMES))}, ?)")
_INSERT_CONSENT_EVENT = (
    f"INSERT INTO consent_events (report_id, at_hour, source, {', '.join(_CONSENT_NAMES)})"  # noqa: S608
    f" VALUES (?, ?, ?, {', '.join('?' * len(_CONSENT_NAMES))})")
_UPDATE_CONSENT = (
    f"UPDATE reports SET {', '.join(f'consent_{n} = ?' for n in _CONSENT_NAMES)},"  # noqa: S608
    " updated_hour = ? WHERE id = ?")


class IntakeService:
    def __init__(self, db: Database, blobs: BlobStore, config: NodeConfig, keys: NodeKeys,
                 receipt_params: pw.KdfParams = pw.RECEIPT, clock: Clock = utc_now, *,
                 consent: ConsentKey) -> None:
        self.db = db
        self.consent = consent
        self.blobs = blobs
        self.config = config
        self.keys = keys
        self.receipt_params = receipt_params
        self.clock = clock

    # ---------------------------------------------------------------- validation

    def validate(self, report: ReportInput, *, files: int = 0) -> None:
        """Checks that need the configuration or the clock (pydantic checks the rest)."""
        limit = self.config.limits.max_text_chars
        for name in ("narrative", "place", "perpetrators", "incident_when"):
            value = getattr(report, name)
            if value and len(value) > limit:
                raise errors.TextTooLong(field=name, limit=limit)
        if report.region is not None and self.config.region(report.region) is None:
            raise errors.UnknownChoice(field="region")
        if len(set(report.needs)) != len(report.needs):
            raise errors.InvalidInput(field="needs")
        self.check_date(report)
        if not files and is_empty(report):
            raise errors.EmptyReport()

    def check_date(self, r: ReportInput) -> None:
        if r.incident_day is not None and (r.incident_month is None or r.incident_year is None):
            raise errors.BadDate(field="incident_day")
        if r.incident_month is not None and r.incident_year is None:
            raise errors.BadDate(field="incident_month")
        if r.incident_year is None:
            return
        now = self.clock()
        if r.incident_day is not None and r.incident_month is not None:
            if r.incident_day > calendar.monthrange(r.incident_year, r.incident_month)[1]:
                raise errors.BadDate(field="incident_day")
        start = (r.incident_year, r.incident_month or 1, r.incident_day or 1)
        if start > (now.year, now.month, now.day):
            raise errors.BadDate(field="incident_year")

    # ---------------------------------------------------------------- attachments

    def allowance(self, access: ReporterAccess | None = None) -> Allowance:
        if access is None:
            return Allowance(self.config.limits)
        row = self.db.read().execute(
            "SELECT COUNT(*) AS n, COALESCE(SUM(stored_bytes), 0) AS b FROM report_items "
            "WHERE report_id = ? AND kind = 'attachment'", (access.report_id,)).fetchone()
        return Allowance(self.config.limits, row["n"], row["b"])

    def attachment_writer(self, key: DataKey, allowance: Allowance,
                          filename: str | None, *, audio_only: bool = False
                          ) -> AttachmentWriter:
        return AttachmentWriter(self.blobs, key, allowance, filename, self.clock(),
                                audio_only=audio_only)

    def discard(self, staged: list[StagedFile]) -> None:
        """Remove staged files that will not be sent (the reporter removed them or left)."""
        for f in staged:
            self.blobs.delete(f.blob_name)

    def sweep_orphan_files(self) -> int:
        """Delete encrypted files no report refers to: drafts abandoned when the server stopped
        (their key lived only in its memory, so they were unreadable already) and half-written
        temporary files. Only the serving process may call this, at start, before it accepts
        uploads: another process would see a live draft's files as orphans."""
        self.blobs.sweep_temporary()
        known = {r[0] for r in self.db.read().execute(
            "SELECT blob_name FROM report_items WHERE blob_name IS NOT NULL")}
        orphans = self.blobs.names() - known
        for name in orphans:
            self.blobs.delete(name)
        return len(orphans)

    # ---------------------------------------------------------------- submission

    def submit(self, report: ReportInput, data_key: DataKey, files: list[StagedFile],
               channel: str, *, synthetic: bool = False) -> Receipt:
        """Store a report durably, then return its receipt. Nothing is acknowledged before
        the transaction commits with a full fsync (invariant 6: bad input gets a clear
        error and loses nothing)."""
        self.validate(report, files=len(files))
        now = self.clock()
        report_id = secrets.token_hex(16)
        secret = receipt.new_secret()
        # The report as submitted; stored as canonical JSON (RFC 8785), the exact bytes the
        # evidence log commits to and a court bundle contains.
        record = report.model_dump(mode="json") | {
            "received_at": now.isoformat(), "channel": channel, "synthetic": synthetic}
        # Sealed to the intake key as certified now (issue 13): a rotation made by another
        # process is followed, and a key swapped in the database is refused.
        intake_public = keyring.certified_intake_key(self.db.read(), self.keys)
        sealed = intake_public.seal_data_key(data_key)
        # one Argon2id run: the wrap of generation 0 and the reporter's public key, which
        # later generations of the case key are sealed to (issue 13, `case_keys`)
        wrap, reporter_public = pw.wrap_key_with_box(data_key, secret, self.receipt_params,
                                                     reporter_wrap_context(report_id))
        for _attempt in range(8):
            code = receipt.new_receipt_code()
            try:
                with self.db.write() as conn:
                    self.insert_report(conn, report_id, report, record, data_key, files,
                                       receipt_index=self.keys.receipt_index.index(code),
                                       reporter_wrap=wrap, sealed=(intake_public, sealed),
                                       reporter_public=reporter_public)
            except sqlite3.IntegrityError as exc:
                if "receipt_index" in str(exc):
                    continue  # a receipt code collided; draw another
                raise
            return Receipt(report_id, code, secret)
        raise errors.Busy()

    def insert_report(self, conn: sqlite3.Connection, report_id: str, report: ReportInput,
                      record: dict[str, Any], data_key: DataKey, files: list[StagedFile], *,
                      receipt_index: bytes, reporter_wrap: bytes,
                      sealed: tuple[Any, bytes] | None = None,
                      extra_items: Sequence[tuple[ItemType, list[tuple[str, Any]]]] = (),
                      consent_source: str = "report",
                      reporter_public: BoxPublicKey | None = None
                      ) -> list[evidence.DisclosedRecord]:
        """Store a validated report inside the caller's write transaction: its evidence leaves
        (the report, its files, then `extra_items`), its row, items and consent history.
        `record` is the report as stored (`received_at` and `channel` included); `sealed`, a
        seal made before the transaction to the intake key then certified, is redone if the
        key rotated meanwhile; `reporter_public`, the reporter's receipt-derived key, is
        stored certified (else at their first visit). Returns the evidence records of
        `extra_items`. Used by
        `submit` and by imports from field tools (issue 19), which batch many reports into one
        transaction."""
        current = keyring.certified_intake_key(conn, self.keys)
        seal = (sealed[1] if sealed is not None and sealed[0] == current
                else current.seal_data_key(data_key))
        now = datetime.fromisoformat(record["received_at"])
        at, hour = int(now.timestamp()), hour_of(now)
        subject = report_subject(report_id)
        records = evidence.commit_items(conn, [
            evidence.NewItem(ItemType.REPORT, at, subject, evidence.report_fields(record)),
            *(_attachment_item(f, at, subject) for f in files),
            *(evidence.NewItem(t, at, subject, fields) for t, fields in extra_items)])
        consent = report.consent
        conn.execute(
            _INSERT_REPORT,
            (report_id, receipt_index, hour, hour, seal, reporter_wrap,
             data_key.encrypt(rfc8785.dumps(record), body_context(report_id)),
             *(int(getattr(consent, n)) for n in Consent.model_fields),
             int(bool(record.get("synthetic")))))
        if reporter_public is not None:
            case_keys.record_reporter_key(conn, self.keys.certifier, report_id, reporter_public)
        conn.execute("UPDATE reports SET evidence_ct = ? WHERE id = ?", (
            data_key.encrypt(json.dumps(records[0].to_json()).encode(),
                             evidence_context(report_id)), report_id))
        self._insert_files(conn, report_id, data_key, files, hour, records[1:1 + len(files)])
        self._record_consent(conn, report_id, consent, hour, consent_source)
        if str(record.get("channel", "")).startswith(_NOT_ASKED_ABOUT_MATCHING):
            # USSD screens and imported forms do not ask about matching (issue 18): the
            # receipt page asks, as it asks reports made before the question existed
            conn.execute("UPDATE reports SET matching_asked = 0 WHERE id = ?", (report_id,))
        return records[1 + len(files):]

    def _insert_files(self, conn: sqlite3.Connection, report_id: str, key: DataKey,
                      files: list[StagedFile], hour: int,
                      records: list[evidence.DisclosedRecord]) -> None:
        for f, record in zip(files, records, strict=True):
            meta = json.loads(f.meta_json()) | {"evidence": record.to_json()}
            conn.execute(
                "INSERT INTO report_items (id, report_id, kind, received_hour, meta_ct,"
                " blob_name, stored_bytes) VALUES (?, ?, 'attachment', ?, ?, ?, ?)",
                (f.item_id, report_id, hour,
                 key.encrypt(json.dumps(meta, ensure_ascii=False).encode(),
                             meta_context(f.item_id)), f.blob_name, f.size))

    def _record_consent(self, conn: sqlite3.Connection, report_id: str, consent: Consent,
                        hour: int, source: str) -> None:
        conn.execute(_INSERT_CONSENT_EVENT,
                     (report_id, hour, source, *(int(getattr(consent, n)) for n in _CONSENT_NAMES)))
        # after every change to the report's consent or its history: tag it (issue 13)
        self.consent.seal(conn, report_id)

    # ---------------------------------------------------------------- receipt channel

    def open_receipt(self, code_text: str, secret_text: str) -> ReporterAccess:
        try:
            code = receipt.normalize_receipt_code(code_text)
        except FormatError:
            raise errors.ReceiptFormat(field="receipt") from None
        try:
            secret = receipt.normalize_secret(secret_text)
        except FormatError:
            raise errors.SecretFormat(field="secret") from None
        conn = self.db.read()
        row = conn.execute(
            "SELECT id, reporter_wrap FROM reports WHERE receipt_index = ?",
            (self.keys.receipt_index.index(code),)).fetchone()
        if row is None:
            # Same Argon2id cost as a real attempt: timing does not reveal which codes exist.
            pw.spend_one_attempt(secret, self.receipt_params)
            raise self._rejected(conn)
        try:
            first, box = pw.open_data_key_with_box(row["reporter_wrap"], secret,
                                                   reporter_wrap_context(row["id"]))
        except DecryptionError:
            raise self._rejected(conn) from None
        return ReporterAccess(row["id"], self._reporter_case_key(row["id"], first, box))

    def _reporter_case_key(self, report_id: str, first: DataKey, box: BoxSecretKey) -> CaseKey:
        """Every generation of the case key the reporter holds (issue 13); their public key
        is stored now if the report predates it, or if it was replaced in the database."""
        conn = self.db.read()
        certifier = self.keys.certifier
        public = box.public_key
        stored = conn.execute("SELECT reporter_public FROM reports WHERE id = ?",
                              (report_id,)).fetchone()
        if stored is not None and (
                stored[0] is None or bytes(stored[0]) != public.raw()
                or not certifier.is_authentic(conn, case_keys.reporter_subject(report_id),
                                              public)):
            with self.db.write() as w:
                case_keys.record_reporter_key(w, certifier, report_id, public)
        return case_keys.for_reporter(self.db.read(), report_id, first, box)

    def _rejected(self, conn: sqlite3.Connection) -> errors.ReceiptRejected:
        """The one answer to any receipt that opens nothing: after a recent restore, that
        reports sent after the backup may have been lost (the same for every code)."""
        since = restore_state.reports_may_be_lost_since(conn, int(self.clock().timestamp()))
        if since is None:
            return errors.ReceiptRejected()
        return errors.ReceiptMaybeLost(since=since)

    def view_for_reporter(self, access: ReporterAccess) -> ReportView:
        return self._view(access.report_id, access.data_key)

    def add_information(self, access: ReporterAccess, addition: AdditionInput,
                        files: list[StagedFile]) -> None:
        limit = self.config.limits.max_text_chars
        if len(addition.text) > limit:
            raise errors.TextTooLong(field="text", limit=limit)
        if not addition.text and not files:
            raise errors.EmptyReport()
        now = self.clock()
        hour = hour_of(now)
        at = int(now.timestamp())
        with self.db.write() as conn:
            self._require(conn, access.report_id)
            subject = report_subject(access.report_id)
            records = evidence.commit_items(conn, [
                *([evidence.NewItem(ItemType.ADDITION, at, subject, evidence.addition_fields(
                    addition.text, now.isoformat()))] if addition.text else []),
                *(_attachment_item(f, at, subject) for f in files)])
            if addition.text:
                item_id = secrets.token_hex(16)
                # the leaf commits to `text` and its time, exactly as stored here
                meta = json.dumps({"text": addition.text, "received_at": now.isoformat(),
                                   "evidence": records[0].to_json()},
                                  ensure_ascii=False).encode()
                conn.execute(
                    "INSERT INTO report_items (id, report_id, kind, received_hour, meta_ct)"
                    " VALUES (?, ?, 'addition', ?, ?)",
                    (item_id, access.report_id, hour,
                     access.data_key.encrypt(meta, meta_context(item_id))))
                records = records[1:]
            self._insert_files(conn, access.report_id, access.data_key, files, hour, records)
            conn.execute("UPDATE reports SET updated_hour = ? WHERE id = ?",
                         (hour, access.report_id))

    def change_consent(self, access: ReporterAccess, consent: Consent) -> None:
        """The reporter's new choices. The SMS notice (issue 19) is set where the number
        is given (`change_notice_consent`): a form that does not ask it keeps it."""
        hour = hour_of(self.clock())
        with self.db.write() as conn:
            self._require(conn, access.report_id)
            if "sms_notice" not in consent.model_fields_set:
                consent = consent.model_copy(update={"sms_notice": self._current(
                    conn, access.report_id).get("consent_sms_notice") == 1})
            conn.execute(_UPDATE_CONSENT,
                         (*(int(getattr(consent, n)) for n in _CONSENT_NAMES), hour,
                          access.report_id))
            self._record_consent(conn, access.report_id, consent, hour, "reporter")
            conn.execute("UPDATE reports SET matching_asked = 1 WHERE id = ?",
                         (access.report_id,))
            if not consent.matching:  # its tokens leave the observatory (issue 18)
                withdraw_case(conn, access.report_id)
            if not consent.statistics:  # a draft that counted it must not leave (issue 14)
                void_drafts_counting(conn, reports=[access.report_id], reason="consent")

    def _current(self, conn: sqlite3.Connection, report_id: str) -> dict[str, object]:
        """The report's consent columns, or nothing if its tag does not verify (a gate
        that is kept must not carry a flag a database writer set)."""
        try:
            return self.consent.verify(conn, report_id)
        except ConsentUnverified:
            return {}

    def change_notice_consent(self, conn: sqlite3.Connection, report_id: str, on: bool,
                              hour: int, source: str) -> bool:
        """Record the reporter's yes or no to SMS notices (issue 19) in the consent history,
        inside the caller's write transaction, the other choices as they stand; whether it
        changed. Refused (`ConsentUnverified`) when the standing choices do not verify."""
        current = self.consent.verify(conn, report_id)
        if (current.get("consent_sms_notice") == 1) == on:
            return False
        consent = Consent(**{n: current.get(f"consent_{n}") == 1 for n in _CONSENT_NAMES}
                          | {"sms_notice": on})
        conn.execute(_UPDATE_CONSENT, (*(int(getattr(consent, n)) for n in _CONSENT_NAMES),
                                       hour, report_id))
        self._record_consent(conn, report_id, consent, hour, source)
        return True

    # ---------------------------------------------------------------- deletion

    @property
    def derived_stores(self) -> tuple[DerivedStore, ...]:
        """What the intake keeps about a report beside its own row, for the one deletion
        path (`node.backoffice.deletion`): its items with their encrypted files, and its
        consent history."""
        return (DerivedStore("report items and their files", self._erase_items),
                DerivedStore("consent history", _erase_consent))

    def _erase_items(self, conn: sqlite3.Connection, report_id: str) -> Callable[[], None]:
        blobs = [r["blob_name"] for r in conn.execute(
            "SELECT blob_name FROM report_items WHERE report_id = ? AND blob_name IS NOT NULL",
            (report_id,))]
        conn.execute("DELETE FROM report_items WHERE report_id = ?", (report_id,))

        def remove_files() -> None:  # once the rows are gone for good
            for name in blobs:
                self.blobs.delete(name)
        return remove_files

    def _require(self, conn: sqlite3.Connection, report_id: str) -> sqlite3.Row:
        row: sqlite3.Row | None = conn.execute(
            "SELECT * FROM reports WHERE id = ?", (report_id,)).fetchone()
        if row is None:
            raise errors.ReportGone()
        return row

    # ---------------------------------------------------------------- staff side

    def open_attachment_with_key(self, key: DataKey, report_id: str, item_id: str
                                 ) -> tuple[dict[str, Any], Iterator[bytes]]:
        conn = self.db.read()
        item = conn.execute(
            "SELECT * FROM report_items WHERE id = ? AND report_id = ? AND kind = 'attachment'",
            (item_id, report_id)).fetchone()
        if item is None:
            raise errors.NotFound()
        meta = json.loads(key.decrypt(item["meta_ct"], meta_context(item_id)))

        def chunks() -> Iterator[bytes]:
            with self.blobs.open(item["blob_name"]) as fh:
                yield from decrypt_stream(key, fh, item_context(item_id))

        return meta, chunks()

    # ---------------------------------------------------------------- views

    def _view(self, report_id: str, key: DataKey) -> ReportView:
        row = self._require(self.db.read(), report_id)
        return self._view_row(row, key, items=True)

    def view_with_key(self, report_id: str, key: DataKey) -> ReportView:
        """A report with its items, opened with a data key the caller already holds."""
        return self._view(report_id, key)

    def submitted(self, report_id: str, key: DataKey) -> bytes:
        """The report exactly as submitted: the canonical JSON the evidence log commits to."""
        row = self._require(self.db.read(), report_id)
        return key.decrypt(row["body_ct"], body_context(report_id))

    def evidence_record(self, report_id: str, key: DataKey) -> evidence.Record | None:
        """The evidence record of the report as submitted (None for a report stored before
        the evidence log): version 2, or version 1 for a report committed before issue 12
        and not yet re-committed."""
        row = self._require(self.db.read(), report_id)
        if row["evidence_ct"] is None:
            return None
        data = json.loads(key.decrypt(row["evidence_ct"], evidence_context(report_id)))
        return evidence.record_from_json(data.get("current", data))

    def original_evidence_record(self, report_id: str, key: DataKey
                                 ) -> evidence.EvidenceRecord | None:
        """The version-1 record a re-committed report was first committed with, if any."""
        row = self._require(self.db.read(), report_id)
        if row["evidence_ct"] is None:
            return None
        data = json.loads(key.decrypt(row["evidence_ct"], evidence_context(report_id)))
        return evidence.EvidenceRecord.from_json(data["original"]) if "original" in data else None

    def store_recommitted(self, conn: sqlite3.Connection, report_id: str, key: DataKey,
                          original: evidence.EvidenceRecord,
                          current: evidence.DisclosedRecord) -> None:
        """Keep a re-committed report's version-2 record beside its original one, inside the
        caller's write transaction (`node.bundles.recommit`); refused (Busy, rolled back)
        if another export re-committed it meanwhile."""
        row = self._require(conn, report_id)
        if "original" in json.loads(key.decrypt(row["evidence_ct"],
                                                evidence_context(report_id))):
            raise errors.Busy()
        conn.execute("UPDATE reports SET evidence_ct = ? WHERE id = ?", (key.encrypt(
            json.dumps({"current": current.to_json(), "original": original.to_json()}).encode(),
            evidence_context(report_id)), report_id))

    def consent_history(self, report_id: str) -> list[dict[str, Any]]:
        """Every consent the reporter gave or changed, oldest first: hour, source and
        each choice (no content) -- read in the snapshot in which its tag verifies
        (`ConsentUnverified` otherwise), since a court bundle carries it."""
        conn = self.db.read()
        own = not conn.in_transaction
        if own:
            conn.execute("BEGIN")
        try:
            self.consent.verify(conn, report_id)
            return [dict(r) for r in conn.execute(
                f"SELECT at_hour, source, {', '.join(_CONSENT_NAMES)} FROM consent_events"  # noqa: S608
                " WHERE report_id = ? ORDER BY id", (report_id,))]
        finally:
            if own:
                conn.execute("COMMIT")

    def view_row(self, row: sqlite3.Row, key: DataKey) -> ReportView:
        """A report without its items (for lists), from a row the caller selected."""
        return self._view_row(row, key, items=False)

    def _view_row(self, row: sqlite3.Row, key: DataKey, *, items: bool) -> ReportView:
        record = json.loads(key.decrypt(row["body_ct"], body_context(row["id"])))
        item_views: list[ItemView] = []
        if items:
            for it in self.db.read().execute(
                    "SELECT * FROM report_items WHERE report_id = ? ORDER BY rowid", (row["id"],)):
                meta = json.loads(key.decrypt(it["meta_ct"], meta_context(it["id"])))
                item_views.append(ItemView(it["id"], it["kind"], it["received_hour"], meta))
        consent = Consent(**{n: bool(row[f"consent_{n}"]) for n in _CONSENT_NAMES})
        return ReportView(row["id"], row["status"], row["received_hour"], row["updated_hour"],
                          consent, record, item_views, bool(row["synthetic"]),
                          matching_unasked=("matching_asked" in row.keys()
                                            and not row["matching_asked"]))


def _attachment_item(f: StagedFile, at: int, subject: str) -> evidence.NewItem:
    return evidence.NewItem(ItemType.ATTACHMENT, at, subject, evidence.attachment_fields(
        f.sha256, f.size, f.mime, f.filename))


def _erase_consent(conn: sqlite3.Connection, report_id: str) -> None:
    conn.execute("DELETE FROM consent_events WHERE report_id = ?", (report_id,))


def is_empty(report: ReportInput) -> bool:
    ignored = {"consent", "language"}
    for name in ReportInput.model_fields:
        if name in ignored:
            continue
        value = getattr(report, name)
        if value not in (None, "", []):
            return False
    return True
