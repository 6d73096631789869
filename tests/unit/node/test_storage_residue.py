"""Shredding leaves no residue (issue 13, item 4), against a real data directory.

The attacker is whoever later holds a copy of the data directory (a seized powered-off
server): a deleted report's sealed key, reporter wrap and body must not be found in
``node.db``, ``node.db-wal`` or any temporary file. The review's attack was a concurrent
read snapshot during the deletion: ``wal_checkpoint(TRUNCATE)`` answered busy, the answer
was ignored, and the deleted report stayed in the write-ahead log. What now detects and
defeats it: `node.storage.database.Database.shred_wal`, which retries until the checkpoint
completes, or leaves it pending (`checkpoint_pending`) until `retry_pending_checkpoint`.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from crypto import passphrase as pw
from node.context import NodeContext, open_node
from node.datadir import DataDir
from node.storage.database import Database
from tests.conftest import CANARY, files_containing


@pytest.fixture
def ctx(node_dir: DataDir) -> Iterator[NodeContext]:
    context = open_node(node_dir, staff_params=pw.INSECURE_FAST_FOR_TESTS,
                        receipt_params=pw.INSECURE_FAST_FOR_TESTS)
    yield context
    context.close()


def _secrets_of(conn: sqlite3.Connection, report_id: str) -> list[bytes]:
    row = conn.execute("SELECT sealed_key, reporter_wrap, body_ct FROM reports WHERE id = ?",
                       (report_id,)).fetchone()
    return [bytes(v) for v in row]


def _hits(root: Path, needles: list[bytes]) -> list[Path]:
    return sorted({p for n in needles for p in files_containing(root, n)})


def _new_temp_files_containing(since: float, needles: list[bytes]) -> list[str]:
    """Regular files in the system's temporary directories written since `since` that hold
    one of `needles` (other processes create and remove files there meanwhile: skip what
    goes). GNU find lists them: walking hundreds of thousands of entries in Python took most
    of this test's time; a second of slack only widens the net."""
    listed = subprocess.run(
        ["find", *sorted({tempfile.gettempdir(), "/var/tmp"}), "-type", "f",
         "-newermt", f"@{since - 1:.6f}", "-print0"],
        capture_output=True, check=False, timeout=600)  # vanished files make it exit 1
    hits = []
    for raw in filter(None, listed.stdout.split(b"\0")):
        path = os.fsdecode(raw)
        try:
            with open(path, "rb") as fh:
                data = fh.read()
        except OSError:
            continue
        if any(n in data for n in needles):
            hits.append(path)
    return hits


def _holding_reader(path: Path) -> sqlite3.Connection:
    """Another process's reader (an admin's sqlite3 shell, a backup tool) with an open
    read transaction: its snapshot pins the write-ahead log."""
    reader = sqlite3.connect(path, isolation_level=None)
    reader.execute("BEGIN")
    assert reader.execute("SELECT COUNT(*) FROM reports").fetchone()[0] > 0
    return reader


def test_node_connections_keep_temporary_files_in_memory_and_shred(ctx: NodeContext) -> None:
    # VACUUM's full temporary copy and large sorts never reach /var/tmp or /tmp
    for conn in (ctx.db.read(), ctx.db._writer):
        assert conn.execute("PRAGMA temp_store").fetchone()[0] == 2  # MEMORY
        assert conn.execute("PRAGMA secure_delete").fetchone()[0] == 1


def test_deletion_with_a_concurrent_reader_waits_and_leaves_no_residue(
        ctx: NodeContext, tmp_path: Path) -> None:
    from tests.unit.node.test_deletion import submit  # one way to make a report

    kept = submit(ctx, "kept")
    r = submit(ctx, f"{CANARY} deleted with a reader open")
    secrets_ = _secrets_of(ctx.db.read(), r.report_id)
    started = time.time()
    reader = _holding_reader(ctx.datadir.database)
    done = threading.Event()
    failure: list[BaseException] = []

    def delete() -> None:
        try:
            ctx.deletion.by_reporter(r.report_id)
        except BaseException as exc:  # noqa: BLE001 -- reported below
            failure.append(exc)
        done.set()

    worker = threading.Thread(target=delete)
    worker.start()
    # wait (no timing assertion) until the deletion committed; the checkpoint is now
    # retrying against the reader's snapshot
    watcher = sqlite3.connect(ctx.datadir.database, isolation_level=None)
    while watcher.execute("SELECT COUNT(*) FROM deletions").fetchone()[0] == 0:
        assert not done.wait(0.02) or failure == [], failure
    watcher.close()
    # while the reader holds its snapshot, the deleted report is still in the WAL: this is
    # the residue the former vacuum() left for good
    assert not done.is_set()
    reader.execute("COMMIT")
    reader.close()
    worker.join()
    assert failure == []
    assert not ctx.db.checkpoint_pending
    assert ctx.datadir.database.with_name("node.db-wal").stat().st_size == 0
    assert _hits(ctx.datadir.root, secrets_) == []
    assert _new_temp_files_containing(started, secrets_) == []
    assert ctx.intake.view_for_reporter(ctx.intake.open_receipt(kept.code, kept.secret))


def test_deletion_with_a_reader_holding_on_leaves_the_checkpoint_pending_then_shreds(
        ctx: NodeContext, caplog: pytest.LogCaptureFixture) -> None:
    """The review's attack as it was: the reader holds its snapshot past any wait. The
    deletion returns, says the checkpoint is pending, and the background retry finishes it
    once the reader lets go (the former vacuum() ignored the busy answer for good)."""
    from tests.unit.node.test_deletion import submit

    submit(ctx, "kept")
    r = submit(ctx, f"{CANARY} deleted while a reader holds on")
    secrets_ = _secrets_of(ctx.db.read(), r.report_id)
    ctx.db.checkpoint_patience_s = 0.2
    reader = _holding_reader(ctx.datadir.database)
    ctx.deletion.by_reporter(r.report_id)
    assert ctx.db.checkpoint_pending  # detected, and said
    assert "shredding checkpoint pending" in caplog.text
    assert _hits(ctx.datadir.root, secrets_) != []  # the residue the reader pins, for now
    assert ctx.db.retry_pending_checkpoint() is False
    reader.execute("COMMIT")
    reader.close()
    assert ctx.db.retry_pending_checkpoint() is True
    assert not ctx.db.checkpoint_pending
    assert _hits(ctx.datadir.root, secrets_) == []


def test_a_checkpoint_a_reader_blocks_too_long_stays_pending_until_it_completes(
        tmp_path: Path) -> None:
    path = tmp_path / "node.db"
    db = Database(path, checkpoint_patience_s=0.2)
    secret = CANARY.encode() * 64
    with db.write() as conn:
        conn.execute("CREATE TABLE residue (id INTEGER PRIMARY KEY, body BLOB)")
        conn.execute("INSERT INTO residue (body) VALUES (?)", (secret,))
    assert db.shred_wal()
    with db.write() as conn:  # the row is now in the database file, not the WAL
        conn.execute("INSERT INTO residue (body) VALUES (zeroblob(10))")
    reader = sqlite3.connect(path, isolation_level=None)
    reader.execute("BEGIN")
    assert reader.execute("SELECT COUNT(*) FROM residue").fetchone()[0] == 2
    with db.write() as conn:
        conn.execute("DELETE FROM residue WHERE body = ?", (secret,))
    # secure_delete zeroed the row in the new page images, but the reader pins the old
    # ones: the checkpoint cannot complete, and says so
    assert db.shred_wal() is False
    assert db.checkpoint_pending
    assert db.retry_pending_checkpoint() is False
    reader.execute("COMMIT")
    reader.close()
    assert db.retry_pending_checkpoint() is True
    assert not db.checkpoint_pending
    assert files_containing(tmp_path, CANARY.encode()) == []
    db.close()


def test_a_pending_checkpoint_is_finished_at_close(tmp_path: Path) -> None:
    path = tmp_path / "node.db"
    db = Database(path, checkpoint_patience_s=0.1)
    with db.write() as conn:
        conn.execute("CREATE TABLE residue (id INTEGER PRIMARY KEY, body BLOB)")
        conn.execute("INSERT INTO residue (body) VALUES (?)", (CANARY.encode() * 64,))
    db.shred_wal()
    own_reader = db.read()
    own_reader.execute("BEGIN")
    own_reader.execute("SELECT COUNT(*) FROM residue").fetchone()
    with db.write() as conn:
        conn.execute("DELETE FROM residue")
    assert db.shred_wal() is False
    db.close()  # closes its own readers first, then completes the checkpoint
    assert files_containing(tmp_path, CANARY.encode()) == []
