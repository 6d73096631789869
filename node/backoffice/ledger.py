"""What every action on a case writes besides its own rows, in the same write transaction:
its chain-of-custody entry (`node.backoffice.audit`), the case's activity hour (which the
retention period counts from) and, when the action moves the case on, its status.

Also the one format of the encrypted entries recorded on a case (notes, tasks, messages,
referrals): a row whose body is JSON encrypted with the report's data key and bound to
its kind, report and row (`aead_context`), written and read by `CaseLedger.add_entry` and
`CaseLedger.entries` for every service that keeps such entries.
"""

from __future__ import annotations

import json
import secrets
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from crypto.keys import DataKey
from node import errors
from node.accounts import UnlockedStaff
from node.backoffice.audit import AuditLog
from node.intake.models import Status
from node.intake.service import hour_of
from node.storage.database import Database

STATUSES: tuple[Status, ...] = ("new", "in_triage", "assigned", "referred", "closed",
                                "withdrawn")


def aead_context(kind: str, *ids: str) -> bytes:
    """What a ciphertext derived from a report is bound to: its kind and ids (AEAD
    associated data), so that it cannot be passed off as another."""
    return (kind + ":" + ":".join(ids)).encode()


def check_text(text: str, limit: int) -> None:
    """Text a person typed on a case: not blank, at most `limit` characters."""
    if not text.strip():
        raise errors.InvalidInput(field="text")
    if len(text) > limit:
        raise errors.TextTooLong(field="text", limit=limit)


@dataclass(frozen=True)
class EntryTable:
    """A table of encrypted entries on a case. Table and column names are constants of
    this package, never input."""

    table: str
    kind: str  # note | task | message | referral: the AEAD context and the audit action
    time_column: str = "at"
    order_column: str | None = None  # the entries' order, when their times are coarse


@dataclass(frozen=True)
class TimelineEntry:
    id: str
    at: int
    actor: str
    kind: str  # note | task | message | referral
    body: dict[str, Any]
    extra: dict[str, Any] = field(default_factory=dict)


class CaseLedger:
    def __init__(self, db: Database, audit: AuditLog, clock: Callable[[], datetime]) -> None:
        self.db = db
        self.audit = audit
        self.clock = clock

    def now(self) -> int:
        return int(self.clock().timestamp())

    def hour_start(self) -> int:
        """Now, to the hour: the time of what a reporter does (a second would tie their
        connection, in a provider's logs, to their report)."""
        now = self.now()
        return now - now % 3600

    def record(self, conn: sqlite3.Connection, actor: UnlockedStaff | str | None,
               action: str, report_id: str, detail: str = "", at: int | None = None) -> None:
        """The custody entry of an action on a report: by a person, by ``"reporter"``, or
        (None) by the node itself; at `at` (now unless given)."""
        if isinstance(actor, UnlockedStaff):
            who = actor.member.id
        else:
            who = actor or "system"
        self.audit.append(conn, at=self.now() if at is None else at, actor=who, action=action,
                          object_type="report", object_id=report_id, detail=detail)

    def touch(self, conn: sqlite3.Connection, report_id: str) -> None:
        """Something happened on the case: its activity hour is now."""
        hour = hour_of(self.clock())
        conn.execute("UPDATE reports SET last_activity_hour = ?, updated_hour = ? WHERE id = ?",
                     (hour, hour, report_id))

    def status_of(self, conn: sqlite3.Connection, report_id: str) -> str:
        row = conn.execute("SELECT status FROM reports WHERE id = ?", (report_id,)).fetchone()
        if row is None:
            raise errors.ReportGone()
        return str(row[0])

    def set_status(self, conn: sqlite3.Connection, staff: UnlockedStaff | None,
                   report_id: str, status: str) -> None:
        """Move the case to `status`, with its history entry and custody entry."""
        actor = staff.member.id if staff else "system"
        conn.execute("UPDATE reports SET status = ? WHERE id = ?", (status, report_id))
        conn.execute("INSERT INTO status_events (report_id, at, actor, status) VALUES (?, ?, ?, ?)",
                     (report_id, self.now(), actor, status))
        self.touch(conn, report_id)
        self.record(conn, staff, "case.status", report_id, status)

    # ------------------------------------------------------------------ encrypted entries

    def add_entry(self, staff: UnlockedStaff, report_id: str, key: DataKey, table: EntryTable,
                  body: dict[str, Any], extra: dict[str, Any] | None = None,
                  audit_detail: str = "") -> str:
        """Write one entry (the caller checked access and opened `key`); returns its id."""
        row_id = secrets.token_hex(12)
        columns = {"id": row_id, "report_id": report_id, "actor": staff.member.id,
                   "body_ct": key.encrypt(json.dumps(body, ensure_ascii=False).encode(),
                                          aead_context(table.kind, report_id, row_id)),
                   **(extra or {}), table.time_column: self.now()}
        names = ", ".join(columns)
        with self.db.write() as conn:
            conn.execute(f"INSERT INTO {table.table} ({names})"  # noqa: S608
                         f" VALUES ({', '.join('?' * len(columns))})", list(columns.values()))
            self.touch(conn, report_id)
            self.record(conn, staff, f"case.{table.kind}", report_id,
                        audit_detail or f"{table.kind} {row_id}")
        return row_id

    def entries(self, table: EntryTable, report_id: str, key: DataKey, *,
                then_by_id: bool = False, held_only: bool = False) -> list[TimelineEntry]:
        """Every entry of `table` on the case, oldest first (by its order column if it has
        one; else by time, ties by id with `then_by_id`), decrypted and authenticated.
        `held_only`: leave out entries sealed under a generation of the case key that `key`
        does not hold yet (the reporter's, after a rotation made before their key was
        known, issue 13); any other failure still raises."""
        order = table.order_column or (table.time_column + (", id" if then_by_id else ""))
        out = []
        for r in self.db.read().execute(
                f"SELECT * FROM {table.table} WHERE report_id = ? ORDER BY {order}",  # noqa: S608
                (report_id,)):
            if held_only and not key.holds(r["body_ct"]):
                continue
            body = json.loads(key.decrypt(r["body_ct"],
                                          aead_context(table.kind, report_id, r["id"])))
            extra = {k: r[k] for k in r.keys() if k not in ("body_ct", "report_id")}
            out.append(TimelineEntry(r["id"], r[table.time_column], r["actor"], table.kind,
                                     body, extra))
        return out

    def erase_entries(self, table: EntryTable) -> Callable[[sqlite3.Connection, str], None]:
        """The deletion of `table`'s entries on a case (a derived store's `erase`)."""
        def erase(conn: sqlite3.Connection, report_id: str) -> None:
            conn.execute(f"DELETE FROM {table.table} WHERE report_id = ?",  # noqa: S608
                         (report_id,))
        return erase
