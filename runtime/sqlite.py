"""SQLite with discipline (docs/notes/style.md, 7).

* WAL and ``synchronous=FULL``: a transaction that returned is on disk (SQLite docs, "PRAGMA
  synchronous": FULL syncs the WAL at every commit), so what was acknowledged -- a report to
  a reporter, a cosignature to a node -- survives ``kill -9`` and power loss.
* One writer: every write goes through `Database.write()`, serialised by a lock, in a
  ``BEGIN IMMEDIATE`` transaction that commits or rolls back as a whole.
* Readers get their own connection per thread and read in parallel (WAL allows it).
* ``trusted_schema=OFF``: no SQL function runs from the schema. ``secure_delete=ON`` where
  deleted rows must leave no residue in free pages (a node's crypto-shredding).
* Numbered migrations, applied by the caller's `migrate` inside the first transaction.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path


def connect(path: Path, *, secure_delete: bool = True) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30)
    conn.row_factory = sqlite3.Row
    pragmas = ["PRAGMA journal_mode=WAL", "PRAGMA synchronous=FULL", "PRAGMA foreign_keys=ON",
               "PRAGMA trusted_schema=OFF", "PRAGMA busy_timeout=30000"]
    if secure_delete:
        pragmas.append("PRAGMA secure_delete=ON")
    for pragma in pragmas:
        conn.execute(pragma)
    return conn


class Database:
    def __init__(self, path: Path, migrate: Callable[[sqlite3.Connection], object], *,
                 secure_delete: bool = True, writer_cache_kib: int | None = None) -> None:
        """Open the database at `path` and migrate it in the first write transaction."""
        self.path = path
        self._secure_delete = secure_delete
        self._writer = connect(path, secure_delete=secure_delete)
        if writer_cache_kib is not None:
            self._writer.execute(f"PRAGMA cache_size=-{int(writer_cache_kib)}")
        self._write_lock = threading.Lock()
        self._local = threading.local()
        self._readers: list[sqlite3.Connection] = []
        self._readers_lock = threading.Lock()
        self._version = 0
        with self.write() as conn:
            migrate(conn)

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """A write transaction; commits (fsync'd) when the block ends without error."""
        with self._write_lock:
            self._writer.execute("BEGIN IMMEDIATE")
            try:
                yield self._writer
            except BaseException:
                self._writer.execute("ROLLBACK")
                raise
            self._writer.execute("COMMIT")
            self._version += 1

    def data_version(self) -> int:
        """Changes whenever this process commits a write (to know when a cache is stale)."""
        return self._version

    def read(self) -> sqlite3.Connection:
        """This thread's read connection (autocommit; each statement sees committed data)."""
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = connect(self.path, secure_delete=self._secure_delete)
            conn.execute("PRAGMA query_only=ON")
            self._local.conn = conn
            with self._readers_lock:
                self._readers.append(conn)
        return conn

    def vacuum(self) -> None:
        """Rewrite the file so that deleted content leaves no trace in free pages or the WAL."""
        with self._write_lock:
            self._writer.execute("VACUUM")
            self._writer.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def close(self) -> None:
        with self._readers_lock:
            for conn in self._readers:
                conn.close()
            self._readers.clear()
        with self._write_lock:
            self._writer.close()
