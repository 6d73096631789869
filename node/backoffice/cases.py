"""Reading cases: the triage queue, the lists, one case with everything recorded on it, its
files, and the cases a person may read (for their search index).

Each case is opened with the key the reader holds (`CaseAccess.case_key`); reading one
case or one of its files is written to the chain of custody. What is recorded on a case is
each service's own: `CaseTimeline` (status, notes, tasks), `Conversations`, `Referrals`,
`CaseIncidents`, `Retention`.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import date
from typing import Any

from node import accounts, errors
from node.accounts import UnlockedStaff
from node.backoffice.access import Action, require, require_node_key
from node.backoffice.case_access import CaseAccess
from node.backoffice.case_incidents import CaseIncident, CaseIncidents
from node.backoffice.conversations import Conversations
from node.backoffice.ledger import STATUSES, CaseLedger, TimelineEntry
from node.backoffice.referrals import Referrals
from node.backoffice.retention import Retention
from node.backoffice.timeline import CaseTimeline
from node.backoffice.urgency import EC_HOURS, Urgency, assess
from node.intake.service import IntakeService, ReportView, hour_of
from node.storage.database import Database

QUEUE_LIMIT = 200
_CHUNK = 500  # ids per "IN (...)" query, well under SQLite's 32,766 variables


@dataclass(frozen=True)
class QueueEntry:
    view: ReportView
    urgency: Urgency


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
    incidents: list[CaseIncident]
    retention_days: int | None
    deletion_due: date | None
    usernames: dict[str, str]
    """The username of every actor on the case that is an account."""


class CaseReader:
    def __init__(self, db: Database, intake: IntakeService, access: CaseAccess,
                 ledger: CaseLedger, timeline: CaseTimeline, conversations: Conversations,
                 referrals: Referrals, incidents: CaseIncidents, retention: Retention) -> None:
        self._db = db
        self._intake = intake
        self._access = access
        self._ledger = ledger
        self._timeline = timeline
        self._conversations = conversations
        self._referrals = referrals
        self._incidents = incidents
        self._retention = retention

    # ------------------------------------------------------------------ queue and lists

    def queue(self, staff: UnlockedStaff, limit: int = QUEUE_LIMIT) -> list[QueueEntry]:
        """New and in-triage reports, most urgent first, then newest first."""
        require(staff.member, Action.VIEW_QUEUE)
        require_node_key(self._db.read(), staff, accounts.INTAKE_KEY)
        if staff.intake_key is None:  # for the type checker: require_node_key raised
            raise errors.Forbidden()
        now = self._ledger.clock()
        # Every untriaged report that may still be in the PEP or emergency-contraception
        # window is included, however many there are: the incident's latest moment is at
        # most a day after its date, which is at most the receipt, so a report received
        # more than 120 + 24 hours ago can no longer be flagged (node/backoffice/urgency.py).
        # Beyond those, the newest `limit`.
        recent_hour = hour_of(now) - (EC_HOURS + 24) - 1
        rows = self._db.read().execute(
            "SELECT * FROM reports WHERE status IN ('new', 'in_triage') AND ("
            " received_hour >= ? OR id IN (SELECT id FROM reports"
            " WHERE status IN ('new', 'in_triage') ORDER BY received_hour DESC, id LIMIT ?))"
            " ORDER BY received_hour DESC, id", (recent_hour, limit)).fetchall()
        entries = []
        for row in rows:
            view = self._intake.view_row(row, staff.intake_key.open_data_key(row["sealed_key"]))
            entries.append(QueueEntry(view, assess(view.record, view.received_hour, now)))
        entries.sort(key=lambda e: (e.urgency.rank, -e.view.received_hour))
        return entries

    def list_cases(self, staff: UnlockedStaff, limit: int = 100, offset: int = 0,
                   status: str | None = None) -> tuple[list[QueueEntry], int]:
        """Coordinators see every case, caseworkers only those assigned to them."""
        require(staff.member, Action.LIST_CASES)
        where, args = [], []
        if not _coordinator(staff):
            where.append("id IN (SELECT report_id FROM case_key_wraps WHERE staff_id = ?)")
            args.append(staff.member.id)
        if status in STATUSES:
            where.append("status = ?")
            args.append(status)
        clause = (" WHERE " + " AND ".join(where)) if where else ""
        conn = self._db.read()
        total = conn.execute(f"SELECT COUNT(*) FROM reports{clause}", args).fetchone()[0]  # noqa: S608
        rows = conn.execute(f"SELECT * FROM reports{clause} ORDER BY received_hour DESC, id"  # noqa: S608
                            " LIMIT ? OFFSET ?", [*args, limit, offset]).fetchall()
        return self._entries(staff, rows), total

    def summaries(self, staff: UnlockedStaff, report_ids: list[str]) -> list[QueueEntry]:
        """The reports `report_ids` that still exist, in that order (search results)."""
        rows = {r["id"]: r for r in self._rows(report_ids)}
        return self._entries(staff, [rows[i] for i in report_ids if i in rows])

    def newest_first(self, report_ids: set[str], limit: int) -> list[str]:
        """The `limit` most recently received of `report_ids` (search results, newest
        first)."""
        found: list[str] = []
        if not report_ids:
            return found
        # walks the index `reports_by_time_and_id` (migration 9), never the encrypted rows,
        # and stops at the `limit`th match: a common word stops early, a rare one reads
        # every entry
        cursor = self._db.read().execute("SELECT id FROM reports ORDER BY received_hour DESC, id")
        try:
            for (report_id,) in cursor:
                if report_id in report_ids:
                    found.append(report_id)
                    if len(found) == limit:
                        break
        finally:
            cursor.close()
        return found

    # ------------------------------------------------------------------ the cases a person may read

    def readable_listing(self, staff: UnlockedStaff) -> str:
        """The ids of the cases this person may read, sorted, in one string (one query and
        one string comparison to know that nothing changed; 10,000 ids take 2 ms)."""
        conn = self._db.read()
        if _coordinator(staff):
            row = conn.execute(
                "SELECT group_concat(id, ' ') FROM (SELECT id FROM reports ORDER BY id)"
            ).fetchone()
        else:
            row = conn.execute(
                "SELECT group_concat(id, ' ') FROM (SELECT r.id FROM reports r"
                " JOIN case_key_wraps w ON w.report_id = r.id WHERE w.staff_id = ?"
                " ORDER BY r.id)", (staff.member.id,)).fetchone()
        return row[0] or ""

    def readable(self, staff: UnlockedStaff, only: set[str] | None = None) -> list[ReportView]:
        """Every case this person may read, or the cases `only` (which `row_key` still
        refuses to open unless this person may read them)."""
        require(staff.member, Action.SEARCH)
        conn = self._db.read()
        if only is not None:
            rows = self._rows(sorted(only))
        elif _coordinator(staff):
            rows = conn.execute("SELECT * FROM reports").fetchall()
        else:
            rows = conn.execute(
                "SELECT r.* FROM reports r JOIN case_key_wraps w ON w.report_id = r.id"
                " WHERE w.staff_id = ?", (staff.member.id,)).fetchall()
        return [self._intake.view_row(r, self._access.row_key(staff, r)) for r in rows]

    # ------------------------------------------------------------------ one case

    def read(self, staff: UnlockedStaff, report_id: str) -> CaseView:
        if staff.has_role("coordinator") and not self._access.is_assigned(
                staff.member.id, report_id):
            # a coordinator opens any case with the intake key: say so if they lack it
            require_node_key(self._db.read(), staff, accounts.INTAKE_KEY)
        key = self._access.open_case(staff, Action.READ_CASE, report_id)
        view = self._intake.view_with_key(report_id, key)
        with self._db.write() as conn:
            self._ledger.record(conn, staff, "case.view", report_id)
        retention_days, due = self._retention.of_case(report_id)
        statuses = self._timeline.statuses(report_id)
        notes = self._timeline.notes(report_id, key)
        tasks = self._timeline.tasks(report_id, key)
        messages = self._conversations.of_case(report_id, key)
        referrals = self._referrals.of_case(report_id, key)
        actors = [a for _, a, _ in statuses] + [e.actor for e in (
            *notes, *tasks, *messages, *referrals)]
        return CaseView(
            report=view, urgency=assess(view.record, view.received_hour, self._ledger.clock()),
            assignees=self._access.assignees(report_id), statuses=statuses, notes=notes,
            tasks=tasks, messages=messages, referrals=referrals,
            incidents=self._incidents.of_case(report_id, key),
            retention_days=retention_days, deletion_due=due,
            usernames=accounts.usernames(self._db.read(), actors))

    def open_attachment(self, staff: UnlockedStaff, report_id: str, item_id: str
                        ) -> tuple[dict[str, Any], bytes]:
        key = self._access.open_case(staff, Action.READ_CASE, report_id)
        meta, chunks = self._intake.open_attachment_with_key(key, report_id, item_id)
        body = b"".join(chunks)  # fully authenticated before a byte is served
        with self._db.write() as conn:
            self._ledger.record(conn, staff, "case.decrypt_attachment", report_id,
                                f"item {item_id}")
        return meta, body

    # ------------------------------------------------------------------ helpers

    def _rows(self, report_ids: list[str]) -> list[sqlite3.Row]:
        conn = self._db.read()
        rows: list[sqlite3.Row] = []
        for i in range(0, len(report_ids), _CHUNK):
            chunk = report_ids[i:i + _CHUNK]
            rows += conn.execute(
                f"SELECT * FROM reports WHERE id IN ({', '.join('?' * len(chunk))})",  # noqa: S608
                chunk).fetchall()
        return rows

    def _entries(self, staff: UnlockedStaff, rows: list[sqlite3.Row]) -> list[QueueEntry]:
        now = self._ledger.clock()
        out = []
        for row in rows:
            view = self._intake.view_row(row, self._access.row_key(staff, row))
            out.append(QueueEntry(view, assess(view.record, view.received_hour, now)))
        return out


def _coordinator(staff: UnlockedStaff) -> bool:
    return staff.has_role("coordinator") and staff.intake_key is not None
