"""How long a case is kept: a coordinator sets a retention period, counted from the case's
last activity; staff see the cases due within a notice period, the reporter sees when
theirs will go, and the serving process deletes the cases whose period ended (hourly),
through the one deletion path (`node.backoffice.deletion`)."""

from __future__ import annotations

import sqlite3
from datetime import date, datetime, timedelta

from node import errors
from node.accounts import UnlockedStaff
from node.backoffice.access import Action, require
from node.backoffice.deletion import Deletion
from node.backoffice.ledger import CaseLedger
from node.storage.database import Database

RETENTION_NOTICE_DAYS = 14
MAX_RETENTION_DAYS = 36_500


def deletion_day(row: sqlite3.Row | None) -> date | None:
    """When a report row's retention ends, if it has one."""
    if row is None or row["retention_days"] is None:
        return None
    last = row["last_activity_hour"] or row["received_hour"]
    return (datetime.fromtimestamp(last * 3600).date()
            + timedelta(days=row["retention_days"]))


class Retention:
    def __init__(self, db: Database, ledger: CaseLedger, deletion: Deletion) -> None:
        self._db = db
        self._ledger = ledger
        self._deletion = deletion

    def set(self, staff: UnlockedStaff, report_id: str, days: int | None) -> None:
        """Keep the case `days` after its last activity, or (None) until deleted."""
        require(staff.member, Action.SET_RETENTION)
        if days is not None and not 1 <= days <= MAX_RETENTION_DAYS:
            raise errors.InvalidInput(field="retention_days")
        with self._db.write() as conn:
            conn.execute("UPDATE reports SET retention_days = ? WHERE id = ?", (days, report_id))
            self._ledger.touch(conn, report_id)
            self._ledger.record(conn, staff, "case.retention", report_id,
                                f"{days} days" if days else "kept until deleted")

    def of_case(self, report_id: str) -> tuple[int | None, date | None]:
        """The case's retention period in days and the day it will be deleted, if set
        (also what the reporter is told about their own report)."""
        row = self._db.read().execute(
            "SELECT retention_days, last_activity_hour, received_hour FROM reports WHERE id = ?",
            (report_id,)).fetchone()
        return (None if row is None else row["retention_days"]), deletion_day(row)

    def due(self, within_days: int = RETENTION_NOTICE_DAYS) -> list[tuple[str, date]]:
        """Cases whose retention ends within `within_days` (the notice before deletion),
        soonest first."""
        today = self._ledger.clock().date()
        out = []
        for row in self._db.read().execute(
                "SELECT id, retention_days, last_activity_hour, received_hour FROM reports"
                " WHERE retention_days IS NOT NULL"):
            day = deletion_day(row)
            if day is not None and day <= today + timedelta(days=within_days):
                out.append((row["id"], day))
        return sorted(out, key=lambda x: x[1])

    def sweep(self) -> list[str]:
        """Delete every case whose retention period has ended; returns their ids."""
        today = self._ledger.clock().date()
        deleted = []
        for report_id, day in self.due(within_days=0):
            if day <= today:
                self._deletion.by_retention(report_id)
                deleted.append(report_id)
        return deleted
