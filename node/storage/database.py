"""The node's database: `runtime.sqlite` with the node's migrations, and what shredding
needs so that a deleted report leaves no residue on disk (issue 13).

* ``secure_delete=ON`` on every connection: SQLite overwrites deleted content with zeros
  in its pages and free pages, so a deleted row's bytes do not wait for a ``VACUUM``.
* ``temp_store=MEMORY`` on every connection: the temporary database ``VACUUM`` builds (a
  full copy of the live database) and the spill files of large sorts stay in memory, never
  in ``/var/tmp`` or ``/tmp``, where they would outlive every later deletion on a
  filesystem nobody shreds.
* `shred_wal`: ``wal_checkpoint(TRUNCATE)`` copies the write-ahead log into the database and
  cuts the log to zero bytes; it cannot complete while a reader holds a snapshot older than
  the log's end (it answers "busy", which the former ``vacuum`` ignored, leaving a deleted
  report's sealed key, wrap and body in ``node.db-wal``). It is retried until it completes;
  if a reader still holds its snapshot after `CHECKPOINT_PATIENCE_S`, the checkpoint stays
  *pending*: `checkpoint_pending` says so, every later write's end and
  `retry_pending_checkpoint` (called by the background loop, `node.background`) try again,
  and `close` finishes it.

The writer keeps a larger page cache (64 MiB): appends to the evidence log touch index
pages all over a large file (bench: 33k -> 50k appends/s at 1M leaves).
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from pathlib import Path

from node.storage import migrations
from runtime import sqlite

DB_FILE = "node.db"
log = logging.getLogger("backup.node")
CHECKPOINT_PATIENCE_S = 60.0
"""How long a deletion waits for readers to let go of their snapshot before it leaves the
checkpoint pending (our own readers hold one only for the length of a statement)."""
_RETRY_PAUSE_S = 0.05
_BUSY_TIMEOUT_MS = 30000
_NODE_PRAGMAS = ("PRAGMA temp_store=MEMORY", "PRAGMA secure_delete=ON")


class Database(sqlite.Database):
    def __init__(self, path: Path, *, checkpoint_patience_s: float = CHECKPOINT_PATIENCE_S
                 ) -> None:
        self._pending = threading.Event()
        self.checkpoint_patience_s = checkpoint_patience_s
        self._node_local = threading.local()
        super().__init__(path, self._migrate, secure_delete=True, writer_cache_kib=65536)

    def _migrate(self, conn: sqlite3.Connection) -> None:
        # runs first thing on the writer, before anything could spill to a temporary file
        for pragma in _NODE_PRAGMAS:
            conn.execute(pragma)
        migrations.apply(conn)

    def read(self) -> sqlite3.Connection:
        conn = super().read()
        if getattr(self._node_local, "ready", None) is not conn:
            for pragma in _NODE_PRAGMAS:
                conn.execute(pragma)
            self._node_local.ready = conn
        return conn

    @property
    def checkpoint_pending(self) -> bool:
        """True while a shredding checkpoint could not complete (a reader held an old
        snapshot): the write-ahead log may still hold deleted content."""
        return self._pending.is_set()

    def shred_wal(self) -> bool:
        """Checkpoint the write-ahead log into the database and truncate it, retrying while
        readers hold older snapshots, for up to the patience given at open; True if it
        completed, else the checkpoint is left pending (`checkpoint_pending`)."""
        deadline = time.monotonic() + self.checkpoint_patience_s
        while True:
            if self._checkpoint_once(wait_ms=int(max(0.0, deadline - time.monotonic()) * 1000)):
                self._pending.clear()
                return True
            if time.monotonic() >= deadline:
                if not self._pending.is_set():
                    log.warning("shredding checkpoint pending: a reader holds an older "
                                "snapshot; the write-ahead log is retried in the background")
                self._pending.set()
                return False
            time.sleep(_RETRY_PAUSE_S)

    def retry_pending_checkpoint(self) -> bool:
        """One more try at a pending shredding checkpoint, without waiting for readers;
        True if none is pending any more."""
        if not self._pending.is_set():
            return True
        if self._checkpoint_once(wait_ms=0):
            self._pending.clear()
            log.info("shredding checkpoint completed")
            return True
        return False

    def _checkpoint_once(self, wait_ms: int) -> bool:
        with self._write_lock:
            # the busy handler waits for readers inside the checkpoint; bound it
            self._writer.execute(f"PRAGMA busy_timeout={min(wait_ms, _BUSY_TIMEOUT_MS)}")
            try:
                busy, log_frames, _done = self._writer.execute(
                    "PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
            finally:
                self._writer.execute(f"PRAGMA busy_timeout={_BUSY_TIMEOUT_MS}")
        # TRUNCATE answers (0, 0, 0) once the log is copied and cut to zero bytes
        return bool(busy == 0 and log_frames == 0)

    def vacuum(self) -> None:
        """Rewrite the file (in memory, `temp_store`) so that deleted content leaves no
        trace in free pages, then shred the write-ahead log (`shred_wal`)."""
        with self._write_lock:
            self._writer.execute("VACUUM")
        self.shred_wal()

    def close(self) -> None:
        if self._pending.is_set():
            # no reader of ours is left once the process closes; finish the shredding
            with self._readers_lock:
                for conn in self._readers:
                    conn.close()
                self._readers.clear()
            self._checkpoint_once(wait_ms=_BUSY_TIMEOUT_MS)
        super().close()
