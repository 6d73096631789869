"""What a node remembers about having been restored from a backup (issue 21).

`restore` writes two ``node_meta`` rows into the restored database: when the restore ran and
when the backup it came from was made. Reports acknowledged between the two are gone, and
their receipts no longer open anything. For `LOST_NOTICE_DAYS` after a restore, *every*
receipt that does not open a report gets the same honest answer ("a report sent on or after
<the backup's day> may have been lost in an incident; please report again") instead of a
bare "not found": the answer is the same for an unknown code, a wrong secret and a lost
report, so it says nothing about whether a receipt ever existed -- only what the node
itself knows and states, the backup's day.
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, date, datetime

RESTORED_AT = "restored_at"
BACKUP_MADE_AT = "restored_backup_made_at"

# How long after a restore unknown receipts get the "may have been lost" answer: a survivor
# may come back with their receipt months later (a year covers the follow-ups we see).
LOST_NOTICE_DAYS = 365


def _int_meta(conn: sqlite3.Connection, key: str) -> int | None:
    row = conn.execute("SELECT value FROM node_meta WHERE key = ?", (key,)).fetchone()
    return None if row is None else int(bytes(row[0]).decode("ascii"))


def record_restore(conn: sqlite3.Connection, *, restored_at: int, backup_made_at: int) -> None:
    """Remember a restore (in the caller's write transaction)."""
    conn.executemany(
        "INSERT INTO node_meta (key, value) VALUES (?, ?) "
        "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        [(RESTORED_AT, str(int(restored_at)).encode("ascii")),
         (BACKUP_MADE_AT, str(int(backup_made_at)).encode("ascii"))])


def last_restore(conn: sqlite3.Connection) -> tuple[int, int] | None:
    """(restored at, backup made at), POSIX seconds, of the last restore, or None."""
    restored_at = _int_meta(conn, RESTORED_AT)
    made_at = _int_meta(conn, BACKUP_MADE_AT)
    if restored_at is None or made_at is None:
        return None
    return restored_at, made_at


def reports_may_be_lost_since(conn: sqlite3.Connection, now: int) -> date | None:
    """The day (UTC) from which reports may have been lost, while a restore is recent
    enough for unknown receipts to be told so; None otherwise."""
    last = last_restore(conn)
    if last is None:
        return None
    restored_at, made_at = last
    if not restored_at <= now <= restored_at + LOST_NOTICE_DAYS * 86400:
        return None
    return datetime.fromtimestamp(made_at, UTC).date()
