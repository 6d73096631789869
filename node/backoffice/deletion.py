"""Deleting a report: the one path, whoever asks -- a coordinator (`by_staff`), the
reporter with their receipt (`by_reporter`), or the node when the retention period ends
(`by_retention`).

A deletion is a crypto-shred. In one write transaction, every *derived store* -- each
place that holds something derived from the report: its items, consent history, case
wraps, notes, tasks, messages, referrals, incident codings, and whatever later features
keep -- erases what it holds about the report; then the report's row goes, and with it
every wrap of its data key (the intake seal, the reporter's wrap) and its ciphertexts. A
record that a report existed and was destroyed stays (``deletions``: hours only), and the
chain of custody keeps who asked and why (never content). Once committed, files are
removed and the database is vacuumed, so that no trace remains in free pages or the
write-ahead log.

A feature that keeps something derived from a report adds one `DerivedStore` to the list
the node is composed with, and its test to the list of erasure tests; `Deletion.stores`
lists them all.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from node import errors
from node.accounts import UnlockedStaff
from node.backoffice.access import Action, require
from node.backoffice.audit import AuditLog
from node.storage.database import Database

AfterCommit = Callable[[], None]
REPORTER_REQUEST = "reporter request"
RETENTION_ENDED = "retention period ended"


@dataclass(frozen=True)
class DerivedStore:
    """One place that holds something derived from a report."""

    name: str
    """What it holds, as the documentation and the erasure tests name it."""
    erase: Callable[[sqlite3.Connection, str], AfterCommit | None]
    """Remove what it holds about a report, inside the deletion's write transaction;
    return what must be done once that commits (e.g. removing files), if anything."""


class Deletion:
    def __init__(self, db: Database, audit: AuditLog, clock: Callable[[], datetime],
                 stores: Sequence[DerivedStore]) -> None:
        names = [s.name for s in stores]
        if len(set(names)) != len(names):
            raise ValueError("two derived stores have the same name")
        self._db = db
        self._audit = audit
        self._clock = clock
        self._stores = tuple(stores)

    @property
    def stores(self) -> tuple[DerivedStore, ...]:
        """Every derived store a deletion erases, in the order it erases them."""
        return self._stores

    def by_staff(self, staff: UnlockedStaff, report_id: str, reason: str) -> None:
        require(staff.member, Action.DELETE_CASE)
        self._delete(report_id, staff.member.id, reason)

    def by_reporter(self, report_id: str) -> None:
        """The reporter's own request, made with their receipt (the caller opened it)."""
        self._delete(report_id, "reporter", REPORTER_REQUEST)

    def by_retention(self, report_id: str) -> None:
        self._delete(report_id, "system", RETENTION_ENDED)

    def _delete(self, report_id: str, actor: str, reason: str) -> None:
        now = int(self._clock().timestamp())
        after: list[AfterCommit] = []
        with self._db.write() as conn:
            row = conn.execute("SELECT received_hour FROM reports WHERE id = ?",
                               (report_id,)).fetchone()
            if row is None:
                raise errors.ReportGone()
            for store in self._stores:
                done = store.erase(conn, report_id)
                if done is not None:
                    after.append(done)
            conn.execute("INSERT INTO deletions (report_id, received_hour, deleted_hour, reason)"
                         " VALUES (?, ?, ?, ?)",
                         (report_id, row["received_hour"], now // 3600, reason))
            conn.execute("DELETE FROM reports WHERE id = ?", (report_id,))
            self._audit.append(conn, at=now, actor=actor, action="case.delete",
                               object_type="report", object_id=report_id, detail=reason)
        for done in after:
            done()
        self._db.vacuum()
