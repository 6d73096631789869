"""Case work on reports: triage, assignment, status, notes, tasks, conversations with the
reporter, referrals, incident coding, retention and deletion.

Access is enforced twice (issue 3). The application half is `access.require` in every
method; the cryptographic half is `case_key`: a coordinator opens a report's data key with
the intake key; anyone else only through a wrap of that key to their own public key, which
assignment creates and unassignment deletes. Without a wrap there is nothing to decrypt
with, whichever code path is taken.

Every action appends to the audit chain in the same transaction (node/backoffice/audit.py).
Building a person's search index over the cases they may read is node/backoffice/search.py;
opening every incident coding for analysis is node/backoffice/codings.py.
"""

from __future__ import annotations

import json
import secrets
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from crypto.keys import DataKey
from node import accounts, errors
from node.accounts import UnlockedStaff
from node.backoffice import audit as audit_log
from node.backoffice.access import Action, require
from node.backoffice.audit import AuditLog
from node.backoffice.incidents import IncidentCoding
from node.backoffice.urgency import EC_HOURS, Urgency, assess
from node.config import NodeConfig
from node.intake.models import CONSENT_LABELS, Status
from node.intake.service import IntakeService, ReportView, hour_of
from node.keyring import NodeKeys
from node.storage.database import Database

STATUSES: tuple[Status, ...] = ("new", "in_triage", "assigned", "referred", "closed",
                                "withdrawn")
RETENTION_NOTICE_DAYS = 14


def aead_context(kind: str, *ids: str) -> bytes:
    """What a ciphertext derived from a report is bound to: its kind and ids (AEAD
    associated data), so that it cannot be passed off as another."""
    return (kind + ":" + ":".join(ids)).encode()


@dataclass(frozen=True)
class QueueEntry:
    view: ReportView
    urgency: Urgency


@dataclass(frozen=True)
class TimelineEntry:
    id: str
    at: int
    actor: str
    kind: str  # note | task | message | referral | status
    body: dict[str, Any]
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class CaseView:
    report: ReportView
    urgency: Urgency
    assignees: list[accounts.StaffMember]
    statuses: list[tuple[int, str, str]]  # (at, actor, status)
    notes: list[TimelineEntry]
    tasks: list[TimelineEntry]
    messages: list[TimelineEntry]
    referrals: list[TimelineEntry]
    incidents: list[tuple[str, IncidentCoding]]
    retention_days: int | None
    deletion_due: date | None


class CaseService:
    def __init__(self, db: Database, intake: IntakeService, config: NodeConfig, keys: NodeKeys,
                 audit: AuditLog, clock: Callable[[], datetime]) -> None:
        self.db = db
        self.intake = intake
        self.config = config
        self.keys = keys
        self.audit = audit
        self.clock = clock

    # ------------------------------------------------------------------ keys and access

    def is_assigned(self, staff_id: str, report_id: str) -> bool:
        return self.db.read().execute(
            "SELECT 1 FROM case_key_wraps WHERE report_id = ? AND staff_id = ?",
            (report_id, staff_id)).fetchone() is not None

    def _require(self, staff: UnlockedStaff, action: Action, report_id: str) -> None:
        require(staff.member, action, assigned=self.is_assigned(staff.member.id, report_id))

    def case_key(self, staff: UnlockedStaff, report_id: str) -> DataKey:
        """The report's data key, opened with what this person holds -- or Forbidden."""
        conn = self.db.read()
        if staff.has_role("coordinator") and staff.intake_key is not None:
            row = conn.execute("SELECT sealed_key FROM reports WHERE id = ?",
                               (report_id,)).fetchone()
            if row is None:
                raise errors.ReportGone()
            return staff.intake_key.open_data_key(row["sealed_key"])
        wrap = conn.execute(
            "SELECT sealed FROM case_key_wraps WHERE report_id = ? AND staff_id = ?",
            (report_id, staff.member.id)).fetchone()
        if wrap is None:
            raise errors.Forbidden()
        return staff.secret_key.open_data_key(wrap["sealed"])

    def row_key(self, staff: UnlockedStaff, row: sqlite3.Row) -> DataKey:
        """`case_key` for a report row the caller has already selected: a coordinator's
        key is opened from the row's own sealed key instead of selecting it again; anyone
        else still goes through their wrap."""
        intake_key = staff.intake_key
        if staff.has_role("coordinator") and intake_key is not None:
            return intake_key.open_data_key(row["sealed_key"])
        return self.case_key(staff, row["id"])

    def _now(self) -> tuple[datetime, int]:
        now = self.clock()
        return now, int(now.timestamp())

    def _audit(self, conn: sqlite3.Connection, staff: UnlockedStaff | None, action: str,
               object_type: str, object_id: str, detail: str = "") -> None:
        self.audit.append(conn, at=self._now()[1],
                          actor=staff.member.id if staff else "system", action=action,
                          object_type=object_type, object_id=object_id, detail=detail)

    def _touch(self, conn: sqlite3.Connection, report_id: str) -> None:
        hour = hour_of(self.clock())
        conn.execute("UPDATE reports SET last_activity_hour = ?, updated_hour = ? WHERE id = ?",
                     (hour, hour, report_id))

    # ------------------------------------------------------------------ queue and lists

    def queue(self, staff: UnlockedStaff, limit: int = 200) -> list[QueueEntry]:
        """New and in-triage reports, most urgent first, then newest first."""
        require(staff.member, Action.VIEW_QUEUE)
        if staff.intake_key is None:
            raise errors.Forbidden()
        now = self.clock()
        # Every untriaged report that may still be in the PEP or emergency-contraception
        # window is included, however many there are: the incident's latest moment is at
        # most a day after its date, which is at most the receipt, so a report received
        # more than 120 + 24 hours ago can no longer be flagged (node/backoffice/urgency.py).
        # Beyond those, the newest `limit`.
        recent_hour = hour_of(now) - (EC_HOURS + 24) - 1
        rows = self.db.read().execute(
            "SELECT * FROM reports WHERE status IN ('new', 'in_triage') AND ("
            " received_hour >= ? OR id IN (SELECT id FROM reports"
            " WHERE status IN ('new', 'in_triage') ORDER BY received_hour DESC, id LIMIT ?))"
            " ORDER BY received_hour DESC, id", (recent_hour, limit)).fetchall()
        entries = []
        for row in rows:
            view = self.intake.view_row(row, staff.intake_key.open_data_key(row["sealed_key"]))
            entries.append(QueueEntry(view, assess(view.record, view.received_hour, now)))
        entries.sort(key=lambda e: (e.urgency.rank, -e.view.received_hour))
        return entries

    def list_cases(self, staff: UnlockedStaff, limit: int = 100, offset: int = 0,
                   status: str | None = None) -> tuple[list[QueueEntry], int]:
        """Coordinators see every case, caseworkers only those assigned to them."""
        require(staff.member, Action.LIST_CASES)
        where, args = [], []
        coordinator = staff.has_role("coordinator") and staff.intake_key is not None
        if not coordinator:
            where.append("id IN (SELECT report_id FROM case_key_wraps WHERE staff_id = ?)")
            args.append(staff.member.id)
        if status in STATUSES:
            where.append("status = ?")
            args.append(status)
        clause = (" WHERE " + " AND ".join(where)) if where else ""
        conn = self.db.read()
        total = conn.execute(f"SELECT COUNT(*) FROM reports{clause}", args).fetchone()[0]  # noqa: S608
        rows = conn.execute(f"SELECT * FROM reports{clause} ORDER BY received_hour DESC, id"  # noqa: S608
                            " LIMIT ? OFFSET ?", [*args, limit, offset]).fetchall()
        now = self.clock()
        out = []
        for row in rows:
            view = self.intake.view_row(row, self.row_key(staff, row))
            out.append(QueueEntry(view, assess(view.record, view.received_hour, now)))
        return out, total

    def summaries(self, staff: UnlockedStaff, report_ids: list[str]) -> list[ReportView]:
        """The reports `report_ids` that still exist, in that order."""
        conn = self.db.read()
        rows: dict[str, sqlite3.Row] = {}
        for i in range(0, len(report_ids), 500):
            chunk = report_ids[i:i + 500]
            rows.update((r["id"], r) for r in conn.execute(
                f"SELECT * FROM reports WHERE id IN ({', '.join('?' * len(chunk))})",  # noqa: S608
                chunk))
        return [self.intake.view_row(rows[i], self.row_key(staff, rows[i]))
                for i in report_ids if i in rows]

    # ------------------------------------------------------------------ one case

    def read(self, staff: UnlockedStaff, report_id: str) -> CaseView:
        self._require(staff, Action.READ_CASE, report_id)
        key = self.case_key(staff, report_id)
        view = self.intake.view_with_key(report_id, key)
        with self.db.write() as conn:
            self._audit(conn, staff, "case.view", "report", report_id)
        conn = self.db.read()
        staff_ids = [r[0] for r in conn.execute(
            "SELECT staff_id FROM case_key_wraps WHERE report_id = ? ORDER BY assigned_at",
            (report_id,))]
        assignees = [m for m in (accounts.get(conn, s) for s in staff_ids) if m is not None]
        statuses = [(r["at"], r["actor"], r["status"]) for r in conn.execute(
            "SELECT at, actor, status FROM status_events WHERE report_id = ? ORDER BY id",
            (report_id,))]

        def load(table: str, kind: str, order: str = "at") -> list[TimelineEntry]:
            out = []
            for r in conn.execute(f"SELECT * FROM {table} WHERE report_id = ? ORDER BY {order}",  # noqa: S608
                                  (report_id,)):
                body = json.loads(key.decrypt(r["body_ct"], aead_context(kind, report_id, r["id"])))
                extra = {k: r[k] for k in r.keys() if k not in ("body_ct", "report_id")}
                out.append(TimelineEntry(r["id"], r[order], r["actor"], kind, body, extra))
            return out

        row = conn.execute("SELECT retention_days, last_activity_hour, received_hour FROM reports"
                           " WHERE id = ?", (report_id,)).fetchone()
        due = self._deletion_due(row)
        return CaseView(
            report=view, urgency=assess(view.record, view.received_hour, self.clock()),
            assignees=assignees, statuses=statuses, notes=load("case_notes", "note"),
            tasks=load("case_tasks", "task", "created_at"), messages=load("messages", "message"),
            referrals=load("referrals", "referral"),
            incidents=self._incidents_of(report_id, key),
            retention_days=row["retention_days"], deletion_due=due)

    def open_attachment(self, staff: UnlockedStaff, report_id: str, item_id: str
                        ) -> tuple[dict[str, Any], bytes]:
        self._require(staff, Action.READ_CASE, report_id)
        key = self.case_key(staff, report_id)
        meta, chunks = self.intake.open_attachment_with_key(key, report_id, item_id)
        body = b"".join(chunks)  # fully authenticated before a byte is served
        with self.db.write() as conn:
            self._audit(conn, staff, "case.decrypt_attachment", "report", report_id,
                        f"item {item_id}")
        return meta, body

    # ------------------------------------------------------------------ actions

    def set_status(self, staff: UnlockedStaff, report_id: str, status: str) -> None:
        self._require(staff, Action.CHANGE_STATUS, report_id)
        if status not in STATUSES:
            raise errors.UnknownChoice(field="status")
        with self.db.write() as conn:
            self._set_status(conn, staff, report_id, status)

    def _set_status(self, conn: sqlite3.Connection, staff: UnlockedStaff | None,
                    report_id: str, status: str) -> None:
        actor = staff.member.id if staff else "system"
        conn.execute("UPDATE reports SET status = ? WHERE id = ?", (status, report_id))
        conn.execute("INSERT INTO status_events (report_id, at, actor, status) VALUES (?, ?, ?, ?)",
                     (report_id, self._now()[1], actor, status))
        self._touch(conn, report_id)
        self._audit(conn, staff, "case.status", "report", report_id, status)

    def assign(self, staff: UnlockedStaff, report_id: str, assignee_id: str) -> None:
        """Wrap the case's data key to the assignee's public key: from now on they can
        decrypt it (and nobody else through this row)."""
        require(staff.member, Action.ASSIGN)
        key = self.case_key(staff, report_id)
        conn = self.db.read()
        assignee = accounts.get(conn, assignee_id)
        disabled = conn.execute("SELECT disabled FROM staff WHERE id = ?",
                                (assignee_id,)).fetchone()
        if (assignee is None or not assignee.roles & {"caseworker", "coordinator"}
                or disabled is None or disabled[0]):
            raise errors.UnknownChoice(field="assignee")
        with self.db.write() as conn:
            conn.execute(
                "INSERT OR REPLACE INTO case_key_wraps (report_id, staff_id, sealed, assigned_at)"
                " VALUES (?, ?, ?, ?)",
                (report_id, assignee_id, assignee.public_key.seal_data_key(key), self._now()[1]))
            self._audit(conn, staff, "case.assign", "report", report_id, f"to {assignee_id}")
            status = conn.execute("SELECT status FROM reports WHERE id = ?",
                                  (report_id,)).fetchone()[0]
            if status in ("new", "in_triage"):
                self._set_status(conn, staff, report_id, "assigned")

    def unassign(self, staff: UnlockedStaff, report_id: str, assignee_id: str) -> None:
        require(staff.member, Action.ASSIGN)
        with self.db.write() as conn:
            conn.execute("DELETE FROM case_key_wraps WHERE report_id = ? AND staff_id = ?",
                         (report_id, assignee_id))
            self._audit(conn, staff, "case.unassign", "report", report_id, f"from {assignee_id}")

    def _add_row(self, staff: UnlockedStaff, action: Action, report_id: str, table: str,
                 kind: str, body: dict[str, Any], extra: dict[str, Any] | None = None,
                 audit_detail: str = "") -> str:
        self._require(staff, action, report_id)
        key = self.case_key(staff, report_id)
        row_id = secrets.token_hex(12)
        columns = {"id": row_id, "report_id": report_id, "actor": staff.member.id,
                   "body_ct": key.encrypt(json.dumps(body, ensure_ascii=False).encode(),
                                          aead_context(kind, report_id, row_id)),
                   **(extra or {})}
        if table != "case_tasks":
            columns["at"] = self._now()[1]
        else:
            columns["created_at"] = self._now()[1]
        names = ", ".join(columns)
        with self.db.write() as conn:
            conn.execute(f"INSERT INTO {table} ({names}) VALUES ({', '.join('?' * len(columns))})",  # noqa: S608
                         list(columns.values()))
            self._touch(conn, report_id)
            self._audit(conn, staff, f"case.{kind}", "report", report_id,
                        audit_detail or f"{kind} {row_id}")
        return row_id

    def add_note(self, staff: UnlockedStaff, report_id: str, text: str) -> str:
        _check_text(text, 20_000)
        return self._add_row(staff, Action.WRITE_NOTE, report_id, "case_notes", "note",
                             {"text": text})

    def add_task(self, staff: UnlockedStaff, report_id: str, text: str,
                 due: date | None) -> str:
        _check_text(text, 2_000)
        return self._add_row(staff, Action.MANAGE_TASKS, report_id, "case_tasks", "task",
                             {"text": text},
                             {"due_day": due.isoformat() if due else None})

    def complete_task(self, staff: UnlockedStaff, report_id: str, task_id: str) -> None:
        self._require(staff, Action.MANAGE_TASKS, report_id)
        with self.db.write() as conn:
            conn.execute("UPDATE case_tasks SET done_at = ? WHERE id = ? AND report_id = ?",
                         (self._now()[1], task_id, report_id))
            self._audit(conn, staff, "case.task_done", "report", report_id, f"task {task_id}")

    def send_message(self, staff: UnlockedStaff, report_id: str, text: str) -> str:
        """A message the reporter reads through the receipt channel (encrypted with the
        report's data key, which the reporter's secret also opens)."""
        _check_text(text, 10_000)
        return self._add_row(staff, Action.MESSAGE_REPORTER, report_id, "messages", "message",
                             {"text": text}, {"direction": "to_reporter"})

    def refer(self, staff: UnlockedStaff, report_id: str, service_id: str,
              shared: str) -> str:
        """Refer the reporter to a service from the directory -- only with their recorded
        referral consent (ARCHITECTURE.md, invariant 4). Records what was shared, with whom
        and when; the outcome is recorded later."""
        self._require(staff, Action.REFER, report_id)
        service = next((s for s in self.config.services if s.id == service_id), None)
        if service is None:
            raise errors.UnknownChoice(field="service")
        _check_text(shared, 5_000)
        self.require_consent(report_id, "referral")
        ref_id = self._add_row(staff, Action.REFER, report_id, "referrals", "referral",
                               {"service_id": service.id, "service_name": service.name,
                                "shared": shared, "outcome": None},
                               audit_detail=f"to service {service.id}")
        with self.db.write() as conn:
            if conn.execute("SELECT status FROM reports WHERE id = ?",
                            (report_id,)).fetchone()[0] not in ("closed", "withdrawn"):
                self._set_status(conn, staff, report_id, "referred")
        return ref_id

    def record_referral_outcome(self, staff: UnlockedStaff, report_id: str, referral_id: str,
                                outcome: str) -> None:
        self._require(staff, Action.REFER, report_id)
        _check_text(outcome, 5_000)
        key = self.case_key(staff, report_id)
        with self.db.write() as conn:
            row = conn.execute("SELECT body_ct FROM referrals WHERE id = ? AND report_id = ?",
                               (referral_id, report_id)).fetchone()
            if row is None:
                raise errors.NotFound()
            context = aead_context("referral", report_id, referral_id)
            body = json.loads(key.decrypt(row["body_ct"], context))
            body["outcome"] = outcome
            conn.execute("UPDATE referrals SET body_ct = ?, outcome_at = ? WHERE id = ?",
                         (key.encrypt(json.dumps(body, ensure_ascii=False).encode(), context),
                          self._now()[1], referral_id))
            self._touch(conn, report_id)
            self._audit(conn, staff, "case.referral_outcome", "report", report_id,
                        f"referral {referral_id}")

    def require_consent(self, report_id: str, name: str) -> None:
        """Raise `ConsentMissing` unless the reporter's current consent allows `name`."""
        row = self.db.read().execute(
            f"SELECT consent_{name} FROM reports WHERE id = ?", (report_id,)).fetchone()  # noqa: S608
        if row is None:
            raise errors.ReportGone()
        if not row[0]:
            raise errors.ConsentMissing(consent=CONSENT_LABELS[name])

    # ------------------------------------------------------------------ incidents

    def code_incident(self, staff: UnlockedStaff, report_id: str, coding: IncidentCoding,
                      incident_id: str | None = None) -> str:
        """Create an incident coding linked to this report, or replace an existing one
        (which must already be linked to it)."""
        self._require(staff, Action.CODE_INCIDENT, report_id)
        if coding.region is not None and self.config.region(coding.region) is None:
            raise errors.UnknownChoice(field="region")
        report_key = self.case_key(staff, report_id)
        now = self._now()[1]
        payload = coding.model_dump_json().encode()
        with self.db.write() as conn:
            if incident_id is None:
                incident_id = secrets.token_hex(12)
                ikey = DataKey.generate()
                conn.execute(
                    "INSERT INTO incidents (id, created_at, updated_at, sealed_key, coding_ct)"
                    " VALUES (?, ?, ?, ?, ?)",
                    (incident_id, now, now, self.keys.analysis_public.seal_data_key(ikey),
                     ikey.encrypt(payload, aead_context("incident", incident_id))))
                self._link(conn, incident_id, report_id, ikey, report_key)
                action = "case.code"
            else:
                ikey = self._incident_key_via_report(conn, incident_id, report_id, report_key)
                conn.execute("UPDATE incidents SET coding_ct = ?, updated_at = ? WHERE id = ?",
                             (ikey.encrypt(payload, aead_context("incident", incident_id)), now,
                              incident_id))
                action = "case.recode"
            self._touch(conn, report_id)
            self._audit(conn, staff, action, "report", report_id, f"incident {incident_id}")
        return incident_id

    def link_incident(self, staff: UnlockedStaff, report_id: str, incident_id: str,
                      from_report_id: str) -> None:
        """Link an incident already coded on another report (both must be readable)."""
        self._require(staff, Action.CODE_INCIDENT, report_id)
        self._require(staff, Action.CODE_INCIDENT, from_report_id)
        key_to = self.case_key(staff, report_id)
        key_from = self.case_key(staff, from_report_id)
        with self.db.write() as conn:
            ikey = self._incident_key_via_report(conn, incident_id, from_report_id, key_from)
            self._link(conn, incident_id, report_id, ikey, key_to)
            self._touch(conn, report_id)
            self._audit(conn, staff, "case.link_incident", "report", report_id,
                        f"incident {incident_id}")

    def _link(self, conn: sqlite3.Connection, incident_id: str, report_id: str,
              ikey: DataKey, report_key: DataKey) -> None:
        conn.execute(
            "INSERT OR REPLACE INTO incident_links (incident_id, report_id, wrapped_key)"
            " VALUES (?, ?, ?)",
            (incident_id, report_id,
             report_key.encrypt(ikey.raw(), aead_context("incident-key", incident_id, report_id))))

    def _incident_key_via_report(self, conn: sqlite3.Connection, incident_id: str,
                                 report_id: str, report_key: DataKey) -> DataKey:
        row = conn.execute("SELECT wrapped_key FROM incident_links WHERE incident_id = ? AND"
                           " report_id = ?", (incident_id, report_id)).fetchone()
        if row is None:
            raise errors.NotFound()
        return DataKey(report_key.decrypt(row["wrapped_key"],
                                          aead_context("incident-key", incident_id, report_id)))

    def _incidents_of(self, report_id: str, report_key: DataKey
                      ) -> list[tuple[str, IncidentCoding]]:
        conn = self.db.read()
        out = []
        for r in conn.execute(
                "SELECT i.id, i.coding_ct, l.wrapped_key FROM incidents i JOIN incident_links l"
                " ON l.incident_id = i.id WHERE l.report_id = ? ORDER BY i.created_at",
                (report_id,)):
            ikey = DataKey(report_key.decrypt(r["wrapped_key"],
                                              aead_context("incident-key", r["id"], report_id)))
            out.append((r["id"], IncidentCoding.model_validate_json(
                ikey.decrypt(r["coding_ct"], aead_context("incident", r["id"])))))
        return out

    # ------------------------------------------------------------------ retention, deletion

    def set_retention(self, staff: UnlockedStaff, report_id: str, days: int | None) -> None:
        require(staff.member, Action.SET_RETENTION)
        if days is not None and not 1 <= days <= 36_500:
            raise errors.InvalidInput(field="retention_days")
        with self.db.write() as conn:
            conn.execute("UPDATE reports SET retention_days = ? WHERE id = ?", (days, report_id))
            self._touch(conn, report_id)
            self._audit(conn, staff, "case.retention", "report", report_id,
                        f"{days} days" if days else "kept until deleted")

    @staticmethod
    def _deletion_due(row: sqlite3.Row) -> date | None:
        if row is None or row["retention_days"] is None:
            return None
        last = row["last_activity_hour"] or row["received_hour"]
        return (datetime.fromtimestamp(last * 3600).date()
                + timedelta(days=row["retention_days"]))

    def deletion_due_for_reporter(self, report_id: str) -> date | None:
        """When the reporter's report will be deleted under its retention rule, if any."""
        row = self.db.read().execute(
            "SELECT retention_days, last_activity_hour, received_hour FROM reports WHERE id = ?",
            (report_id,)).fetchone()
        return self._deletion_due(row)

    def due_for_deletion(self, within_days: int = RETENTION_NOTICE_DAYS
                         ) -> list[tuple[str, date]]:
        """Cases whose retention ends within `within_days` (the notice before deletion)."""
        today = self.clock().date()
        out = []
        for row in self.db.read().execute(
                "SELECT id, retention_days, last_activity_hour, received_hour FROM reports"
                " WHERE retention_days IS NOT NULL"):
            due = self._deletion_due(row)
            if due is not None and due <= today + timedelta(days=within_days):
                out.append((row["id"], due))
        return sorted(out, key=lambda x: x[1])

    def delete(self, staff: UnlockedStaff | None, report_id: str, reason: str) -> None:
        """Crypto-shred a case (see IntakeService.delete_report), and the incidents only it
        described; the audit chain keeps that it happened, who did it and why."""
        if staff is not None:
            require(staff.member, Action.DELETE_CASE)
        self.intake.delete_report(report_id, reason, before_commit=lambda conn: self._shred_extra(
            conn, staff, report_id, reason))

    def _shred_extra(self, conn: sqlite3.Connection, staff: UnlockedStaff | None,
                     report_id: str, reason: str) -> None:
        orphaned = [r[0] for r in conn.execute(
            "SELECT incident_id FROM incident_links WHERE report_id = ? AND incident_id NOT IN"
            " (SELECT incident_id FROM incident_links WHERE report_id != ?)",
            (report_id, report_id))]
        for incident_id in orphaned:
            conn.execute("DELETE FROM incidents WHERE id = ?", (incident_id,))
        self._audit(conn, staff, "case.delete", "report", report_id, reason)

    def sweep_retention(self) -> list[str]:
        """Delete every case whose retention period has ended (run by the server hourly)."""
        today = self.clock().date()
        deleted = []
        for report_id, due in self.due_for_deletion(within_days=0):
            if due <= today:
                self.delete(None, report_id, "retention period ended")
                deleted.append(report_id)
        return deleted

    # ------------------------------------------------------------------ chain of custody

    def custody(self, staff: UnlockedStaff, report_id: str
                ) -> tuple[list[audit_log.Entry], audit_log.Verdict]:
        """Who touched this case and its evidence, when, and why -- with the verdict on the
        whole chain, since an excerpt is only as good as the chain it comes from."""
        self._require(staff, Action.VIEW_CUSTODY, report_id)
        conn = self.db.read()
        verdict = audit_log.verify(conn, self.keys.identity_public)
        entries = list(audit_log.entries(conn, report_id))
        with self.db.write() as wconn:
            self._audit(wconn, staff, "case.custody_report", "report", report_id)
        return entries, verdict

    # ------------------------------------------------------------------ reporter side

    def reporter_messages(self, report_id: str, key: DataKey) -> list[TimelineEntry]:
        out = []
        for r in self.db.read().execute(
                "SELECT * FROM messages WHERE report_id = ? ORDER BY at, id", (report_id,)):
            body = json.loads(key.decrypt(r["body_ct"],
                                          aead_context("message", report_id, r["id"])))
            out.append(TimelineEntry(r["id"], r["at"], r["actor"], "message", body,
                                     {"direction": r["direction"]}))
        return out

    def reporter_reply(self, report_id: str, key: DataKey, text: str) -> None:
        _check_text(text, 10_000)
        msg_id = secrets.token_hex(12)
        with self.db.write() as conn:
            if conn.execute("SELECT 1 FROM reports WHERE id = ?", (report_id,)).fetchone() is None:
                raise errors.ReportGone()
            conn.execute(
                "INSERT INTO messages (id, report_id, at, direction, actor, body_ct)"
                " VALUES (?, ?, ?, 'from_reporter', 'reporter', ?)",
                (msg_id, report_id, self._now()[1],
                 key.encrypt(json.dumps({"text": text}, ensure_ascii=False).encode(),
                             aead_context("message", report_id, msg_id))))
            self._touch(conn, report_id)
            conn.execute("UPDATE messages SET read_at = ? WHERE report_id = ? AND"
                         " direction = 'to_reporter' AND read_at IS NULL",
                         (self._now()[1], report_id))
            self.audit.append(conn, at=self._now()[1], actor="reporter", action="case.reply",
                              object_type="report", object_id=report_id, detail=f"message {msg_id}")


def _check_text(text: str, limit: int) -> None:
    if not text.strip():
        raise errors.InvalidInput(field="text")
    if len(text) > limit:
        raise errors.TextTooLong(field="text", limit=limit)
