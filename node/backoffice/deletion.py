"""Deleting a report: the one path, whoever asks -- a coordinator (`by_staff`), the
reporter with their receipt (`by_reporter`), or the node when the retention period ends
(`by_retention`).

A deletion is a crypto-shred. In one write transaction, every *derived store* -- each
place that holds something derived from the report: its items, consent history, case
wraps, notes, tasks, messages, referrals, incident codings, and whatever later features
keep -- erases what it holds about the report; then the report's row goes, and with it
every wrap of its data key (the intake seal, the reporter's wrap) and its ciphertexts. A
record that a report existed and was destroyed stays (``deletions``: hours and the reason's
code only), and the chain of custody keeps who asked and why (the code, never text). The
reason is one of a closed list (`REASONS`); what a coordinator adds in their own words is
sealed to the node's intake key (``deletions.note_ct``) and never enters the chain: free
text there would outlive, in plaintext and for good, the crypto-shredding it records.
``secure_delete`` zeroes every deleted row and freed page as the transaction writes them.
Once committed, files are removed and the write-ahead log is checkpointed into the database
and truncated, retried while another reader holds an older snapshot; if one holds it too
long the checkpoint stays pending, is logged, and the background loop finishes it
(`node.storage.database.Database.shred_wal`). No ``VACUUM``: it rewrote the whole file
under the write lock at every deletion (a second at 10,000 reports, bench_shredding) and
the canary tests show no byte left without it.

Whoever asks -- the receipt page, the JSON API, a coordinator's page, the retention sweep
-- calls one of the three methods below and nothing else deletes a report
(`tests/unit/node/test_deletion.py` drives each entry point through the real web app).

A feature that keeps something derived from a report adds one `DerivedStore` to the list
the node is composed with, and its test to the list of erasure tests; `Deletion.stores`
lists them all.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from crypto.keys import BoxPublicKey
from node import errors
from node.accounts import UnlockedStaff
from node.backoffice.access import Action, require
from node.backoffice.audit import AuditLog
from node.i18n import N_
from node.storage.database import Database

AfterCommit = Callable[[], None]
REPORTER_REQUEST = "reporter request"
RETENTION_ENDED = "retention period ended"
OTHER = "other"
# The closed list of reasons, code -> label. The codes are stored and chained; the first
# two are the texts the node always wrote for the reporter's and the retention's deletions.
REASONS: dict[str, str] = {
    REPORTER_REQUEST: N_("The reporter asked for it"),
    RETENTION_ENDED: N_("The retention period ended"),
    "duplicate": N_("Duplicate of another report"),
    "not a report": N_("Not a report (a test, spam or a mistake)"),
    OTHER: N_("Other reason"),
}
STAFF_REASONS = (REPORTER_REQUEST, "duplicate", "not a report", OTHER)
NOTE_CHARS = 2000


class UnknownReason(errors.InvalidInput):
    message = N_("Choose a reason for the deletion from the list.")


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
                 stores: Sequence[DerivedStore], note_key: BoxPublicKey) -> None:
        names = [s.name for s in stores]
        if len(set(names)) != len(names):
            raise ValueError("two derived stores have the same name")
        self._db = db
        self._audit = audit
        self._clock = clock
        self._stores = tuple(stores)
        self._note_key = note_key

    @property
    def stores(self) -> tuple[DerivedStore, ...]:
        """Every derived store a deletion erases, in the order it erases them."""
        return self._stores

    def by_staff(self, staff: UnlockedStaff, report_id: str, reason: str,
                 note: str = "") -> None:
        """`reason` is one of `STAFF_REASONS`; `note`, the coordinator's own words, is
        sealed to the intake key and kept out of the chain of custody."""
        require(staff.member, Action.DELETE_CASE)
        if reason not in STAFF_REASONS:
            raise UnknownReason(field="reason")
        note = note.strip()
        if len(note) > NOTE_CHARS:
            raise errors.TextTooLong(field="note", limit=NOTE_CHARS)
        sealed = self._note_key.seal(note.encode("utf-8")) if note else None
        self._delete(report_id, staff.member.id, reason, sealed)

    def by_reporter(self, report_id: str) -> None:
        """The reporter's own request, made with their receipt (the caller opened it)."""
        self._delete(report_id, "reporter", REPORTER_REQUEST)

    def by_retention(self, report_id: str) -> None:
        self._delete(report_id, "system", RETENTION_ENDED)

    def replayed(self, report_id: str, reason: str) -> None:
        """A deletion made after the backup this node was restored from (`node.backups`):
        done again through this same path, with the reason it had, by actor "restore"."""
        self._delete(report_id, "restore", reason if reason in REASONS else OTHER)

    def _delete(self, report_id: str, actor: str, reason: str,
                note_ct: bytes | None = None) -> None:
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
            conn.execute("INSERT INTO deletions (report_id, received_hour, deleted_hour, reason,"
                         " note_ct) VALUES (?, ?, ?, ?, ?)",
                         (report_id, row["received_hour"], now // 3600, reason, note_ct))
            conn.execute("DELETE FROM reports WHERE id = ?", (report_id,))
            self._audit.append(conn, at=now, actor=actor, action="case.delete",
                               object_type="report", object_id=report_id, detail=reason)
        for done in after:
            done()
        self._db.shred_wal()
