"""SQLite with discipline (STYLE.md, 7), as on a node.

* WAL and ``synchronous=FULL``: an answer sent to a node (an accepted enrollment, a
  cosignature) is only sent after the transaction that recorded it is on disk.
* One writer: every write goes through `Database.write()`, serialised by a lock, in a
  ``BEGIN IMMEDIATE`` transaction that commits or rolls back as a whole.
* Readers get their own connection per thread and read in parallel (WAL allows it).
* ``trusted_schema=OFF``: no SQL function runs from the schema.
* Numbered migrations tracked in ``PRAGMA user_version`` (`observatory.storage.migrations`);
  the transport's replay guard and outbox keep their own tables (`transport.inbox`,
  `transport.outbox`) in the same file.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from observatory.storage import migrations
from transport import inbox, outbox


def connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30)
    conn.row_factory = sqlite3.Row
    for pragma in (
        "PRAGMA journal_mode=WAL",
        "PRAGMA synchronous=FULL",
        "PRAGMA foreign_keys=ON",
        "PRAGMA trusted_schema=OFF",
        "PRAGMA busy_timeout=30000",
    ):
        conn.execute(pragma)
    return conn


class Database:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._writer = connect(path)
        self._write_lock = threading.Lock()
        self._local = threading.local()
        self._readers: list[sqlite3.Connection] = []
        self._readers_lock = threading.Lock()
        with self.write() as conn:
            migrations.apply(conn)
        with self._write_lock:
            inbox.ensure_schema(self._writer)
            outbox.ensure_schema(self._writer)

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

    def read(self) -> sqlite3.Connection:
        """This thread's read connection (autocommit; each statement sees committed data)."""
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = connect(self.path)
            conn.execute("PRAGMA query_only=ON")
            self._local.conn = conn
            with self._readers_lock:
                self._readers.append(conn)
        return conn

    def close(self) -> None:
        with self._readers_lock:
            for conn in self._readers:
                conn.close()
            self._readers.clear()
        with self._write_lock:
            self._writer.close()
