"""Writing a backup archive of a live node, and keeping N generations.

The database is copied with SQLite's online backup API into memory (a consistent snapshot
while the node serves: never a file copy, which could catch a half-written page or miss
the write-ahead log), then streamed with the configuration, the keys and the encrypted
blobs into the encrypted tar of `node.backups.archive`. Nothing is written in clear: the
archive is written to ``OUT.partial`` (0600) and renamed when complete.
"""

from __future__ import annotations

import os
import sqlite3
import tarfile
import time
from dataclasses import dataclass
from pathlib import Path

from crypto.keys import DataKey
from node import keyring
from node.backups import archive, keys
from node.datadir import DataDir
from node.storage.database import Database
from node.storage.migrations import MIGRATIONS

# Files of the data directory that are the database or its journals (the snapshot replaces
# them) and leftovers that must not travel.
_SKIP_SUFFIXES = ("-wal", "-shm", "-journal", ".partial")
NAME_FORMAT = "backup-%Y%m%dT%H%M%SZ.bkp"


@dataclass(frozen=True)
class Made:
    path: Path
    files: int
    size: int


def _snapshot(database: Path) -> bytes:
    source = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
    memory = sqlite3.connect(":memory:")
    try:
        source.backup(memory)
        return memory.serialize()
    finally:
        source.close()
        memory.close()


def _add_bytes(tar: tarfile.TarFile, name: str, data: bytes, mtime: int) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mtime, info.mode = len(data), mtime, 0o600
    tar.addfile(info, _BytesReader(data))


class _BytesReader:
    def __init__(self, data: bytes) -> None:
        self._view = memoryview(data)
        self._at = 0

    def read(self, n: int = -1) -> bytes:
        end = len(self._view) if n < 0 else min(len(self._view), self._at + n)
        out = bytes(self._view[self._at:end])
        self._at = end
        return out


def _files(datadir: DataDir) -> list[Path]:
    out = []
    for path in sorted(datadir.root.rglob("*")):
        if not path.is_file() or path.is_symlink():
            continue
        rel = path.relative_to(datadir.root)
        if rel == Path(datadir.database.name) or path.name.endswith(_SKIP_SUFFIXES):
            continue
        out.append(path)
    return out


def make(datadir: DataDir, out: Path, now: float | None = None) -> Made:
    """Write an archive of the node in `datadir` to `out` (which must not exist)."""
    if out.exists():
        raise FileExistsError(f"{out} exists; nothing was written")
    when = int(now if now is not None else time.time())
    db = Database(datadir.database)
    try:
        node_keys = keyring.load(datadir, db)
        with db.write() as conn:
            backup_key = keys.ensure(conn, node_keys.certifier)
        snapshot = _snapshot(datadir.database)
    finally:
        db.close()
    data_key = DataKey.generate()
    partial = out.with_name(out.name + ".partial")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    count = 1
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(archive.MAGIC)
            writer = archive.EncryptingWriter(f, data_key, node_keys.node_id)
            with tarfile.open(fileobj=writer, mode="w|", format=tarfile.PAX_FORMAT) as tar:
                _add_bytes(tar, datadir.database.name, snapshot, when)
                for path in _files(datadir):
                    tar.add(path, arcname=str(path.relative_to(datadir.root)), recursive=False)
                    count += 1
            digest = writer.finish()
            archive.write_trailer(f, {
                "format": archive.FORMAT, "node_id": node_keys.node_id,
                "identity_key": node_keys.identity.verify_key.raw().hex(),
                "created_at": when, "schema": len(MIGRATIONS),
                "backup_key": backup_key.public.raw().hex(),
                "sealed_backup_secret": backup_key.sealed_secret.hex(),
                "sealed_data_key": backup_key.public.seal_data_key(data_key).hex(),
                "stream_sha256": digest, "stream_length": writer.length, "files": count,
            }, writer.length, node_keys.identity)
            f.flush()
            os.fsync(f.fileno())
        partial.rename(out)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return Made(out, count, out.stat().st_size)


def make_generation(datadir: DataDir, directory: Path, keep: int,
                    now: float | None = None) -> tuple[Made, list[Path]]:
    """A new archive in `directory`, named by its time, then only the newest `keep`
    archives there are kept; returns the new one and those removed."""
    when = time.time() if now is None else now
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    made = make(datadir, directory / time.strftime(NAME_FORMAT, time.gmtime(when)), when)
    kept = sorted(directory.glob("backup-*.bkp"))
    removed = kept[:-keep] if keep > 0 else []
    for old in removed:
        old.unlink()
    return made, removed
