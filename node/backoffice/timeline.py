"""A case's own record of the work on it: its status and their history, notes and tasks.

Notes and tasks are encrypted with the report's data key (`CaseLedger.add_entry`);
statuses are not content and stay readable for lists and the queue. Every change is in the
chain of custody.
"""

from __future__ import annotations

import sqlite3
from datetime import date

from crypto.keys import DataKey
from node import errors
from node.accounts import UnlockedStaff
from node.backoffice.access import Action
from node.backoffice.case_access import CaseAccess
from node.backoffice.deletion import DerivedStore
from node.backoffice.ledger import STATUSES, CaseLedger, EntryTable, TimelineEntry, check_text
from node.storage.database import Database

NOTES = EntryTable("case_notes", "note")
TASKS = EntryTable("case_tasks", "task", "created_at")
NOTE_CHARS = 20_000
TASK_CHARS = 2_000


class CaseTimeline:
    def __init__(self, db: Database, access: CaseAccess, ledger: CaseLedger) -> None:
        self._db = db
        self._access = access
        self._ledger = ledger

    def set_status(self, staff: UnlockedStaff, report_id: str, status: str) -> None:
        self._access.require(staff, Action.CHANGE_STATUS, report_id)
        if status not in STATUSES:
            raise errors.UnknownChoice(field="status")
        with self._db.write() as conn:
            self._ledger.set_status(conn, staff, report_id, status)

    def statuses(self, report_id: str) -> list[tuple[int, str, str]]:
        """(at, actor, status) of every change, oldest first."""
        return [(r["at"], r["actor"], r["status"]) for r in self._db.read().execute(
            "SELECT at, actor, status FROM status_events WHERE report_id = ? ORDER BY id",
            (report_id,))]

    def add_note(self, staff: UnlockedStaff, report_id: str, text: str) -> str:
        check_text(text, NOTE_CHARS)
        key = self._access.open_case(staff, Action.WRITE_NOTE, report_id)
        return self._ledger.add_entry(staff, report_id, key, NOTES, {"text": text})

    def add_task(self, staff: UnlockedStaff, report_id: str, text: str,
                 due: date | None) -> str:
        check_text(text, TASK_CHARS)
        key = self._access.open_case(staff, Action.MANAGE_TASKS, report_id)
        return self._ledger.add_entry(staff, report_id, key, TASKS, {"text": text},
                                      {"due_day": due.isoformat() if due else None})

    def complete_task(self, staff: UnlockedStaff, report_id: str, task_id: str) -> None:
        self._access.require(staff, Action.MANAGE_TASKS, report_id)
        with self._db.write() as conn:
            conn.execute("UPDATE case_tasks SET done_at = ? WHERE id = ? AND report_id = ?",
                         (self._ledger.now(), task_id, report_id))
            self._ledger.record(conn, staff, "case.task_done", report_id, f"task {task_id}")

    def notes(self, report_id: str, key: DataKey) -> list[TimelineEntry]:
        return self._ledger.entries(NOTES, report_id, key)

    def tasks(self, report_id: str, key: DataKey) -> list[TimelineEntry]:
        return self._ledger.entries(TASKS, report_id, key)

    @property
    def derived_stores(self) -> tuple[DerivedStore, ...]:
        return (DerivedStore("status history", _erase_statuses),
                DerivedStore("case notes", self._ledger.erase_entries(NOTES)),
                DerivedStore("case tasks", self._ledger.erase_entries(TASKS)))


def _erase_statuses(conn: sqlite3.Connection, report_id: str) -> None:
    conn.execute("DELETE FROM status_events WHERE report_id = ?", (report_id,))
