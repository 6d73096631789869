"""Reading cases: the triage queue, the lists, one case with everything recorded on it, its
files, and the cases a person may read (for their search index).

Each case is opened with the key the reader holds (`CaseAccess.case_key`); reading one
case or one of its files is written to the chain of custody. What is recorded on a case is
each service's own: `CaseTimeline` (status, notes, tasks), `Conversations`, `Referrals`,
`CaseIncidents`, `Retention`.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from crypto.keys import DataKey
from node import accounts, errors
from node.accounts import UnlockedStaff
from node.backoffice.access import Action, require, require_node_key
from node.backoffice.case_access import CaseAccess
from node.backoffice.case_incidents import CaseIncident, CaseIncidents
from node.backoffice.case_listing import reads_every_case
from node.backoffice.conversations import MESSAGES, Conversations
from node.backoffice.ledger import CaseLedger, TimelineEntry, aead_context
from node.backoffice.referrals import Referrals
from node.backoffice.retention import Retention
from node.backoffice.timeline import NOTES, CaseTimeline
from node.backoffice.urgency import EC_HOURS, Urgency, assess
from node.intake.service import IntakeService, ReportView, hour_of
from node.storage.database import Database

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

    def queue(self, staff: UnlockedStaff, limit: int | None = None) -> list[QueueEntry]:
        """New and in-triage reports, most urgent first, then newest first: all of them, or
        those that may be urgent and the newest `limit` of the others. (The staff pages list
        through `node.backoffice.case_listing`, by pages, from the person's index.)"""
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
            " ORDER BY received_hour DESC, id", (recent_hour, -1 if limit is None else limit)
        ).fetchall()
        entries = []
        for row in rows:
            view = self._intake.view_row(row, self._access.row_key(staff, row))
            entries.append(QueueEntry(view, assess(view.record, view.received_hour, now)))
        entries.sort(key=lambda e: (e.urgency.rank, -e.view.received_hour))
        return entries

    # ------------------------------------------------------------------ the cases a person may read

    def readable_listing(self, staff: UnlockedStaff) -> str:
        """What this person's search index must hold, in one string (one query and one
        string comparison to know that nothing changed; 10,000 ids take 2 ms): the ids of
        the cases they may read, and ``case/kind/entry`` for each note and message on those
        cases, sorted."""
        conn = self._db.read()
        if _coordinator(staff):
            row = conn.execute(
                "SELECT group_concat(d, ' ') FROM (SELECT id AS d FROM reports"
                " UNION ALL SELECT report_id || '/note/' || id FROM case_notes"
                " UNION ALL SELECT report_id || '/message/' || id FROM messages ORDER BY d)"
            ).fetchone()
        else:
            row = conn.execute(
                "SELECT group_concat(d, ' ') FROM ("
                " SELECT r.id AS d FROM reports r JOIN case_key_wraps w ON w.report_id = r.id"
                " WHERE w.staff_id = ?1"
                " UNION ALL SELECT n.report_id || '/note/' || n.id FROM case_notes n"
                " JOIN case_key_wraps w ON w.report_id = n.report_id WHERE w.staff_id = ?1"
                " UNION ALL SELECT m.report_id || '/message/' || m.id FROM messages m"
                " JOIN case_key_wraps w ON w.report_id = m.report_id WHERE w.staff_id = ?1"
                " ORDER BY d)", (staff.member.id,)).fetchone()
        return row[0] or ""

    def readable(self, staff: UnlockedStaff, only: set[str] | None = None
                 ) -> list[tuple[ReportView, DataKey]]:
        """Every case this person may read, or the cases `only` (which `row_key` still
        refuses to open unless this person may read them), with its data key."""
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
        out: list[tuple[ReportView, DataKey]] = []
        for r in rows:
            key = self._access.row_key(staff, r)
            out.append((self._intake.view_row(r, key), key))
        return out

    def entry_texts(self, keys: Mapping[str, DataKey], only: set[str] | None = None
                    ) -> list[tuple[str, str]]:
        """``(case/kind/entry, text)`` of the notes and messages on the cases of `keys`
        (which the caller opened, so may read), or only those named in `only`. Read in one
        pass over each table: per-case queries would cost a round trip per case."""
        out: list[tuple[str, str]] = []
        conn = self._db.read()
        for table in (NOTES, MESSAGES):
            for r in conn.execute(
                    f"SELECT id, report_id, body_ct FROM {table.table}"):  # noqa: S608
                key = keys.get(r[1])
                doc_id = f"{r[1]}/{table.kind}/{r[0]}"
                if key is None or (only is not None and doc_id not in only):
                    continue
                body = json.loads(key.decrypt(r[2], aead_context(table.kind, r[1], r[0])))
                out.append((doc_id, str(body.get("text") or "")))
        return out

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


def _coordinator(staff: UnlockedStaff) -> bool:
    return reads_every_case(staff)
