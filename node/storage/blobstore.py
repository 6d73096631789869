"""Encrypted attachment files under ``DIR/blobs``, written atomically.

A blob is written to a temporary file, fsync'd, renamed into place and its directory
fsync'd, so a crash leaves either the whole file or nothing (POSIX rename atomicity).
Files hold only secretstream ciphertext (`crypto.filestream`); names are random.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

BLOB_DIR = "blobs"
_TMP = "tmp"


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class BlobWriter:
    def __init__(self, store: BlobStore, name: str, tmp_path: Path) -> None:
        self._store = store
        self.name = name
        self._tmp_path = tmp_path
        self._fh: BinaryIO = open(tmp_path, "xb")
        self.size = 0

    def write(self, data: bytes) -> None:
        self._fh.write(data)
        self.size += len(data)

    def commit(self) -> None:
        self._fh.flush()
        os.fsync(self._fh.fileno())
        self._fh.close()
        final = self._store.path_of(self.name)
        final.parent.mkdir(mode=0o700, exist_ok=True)
        os.replace(self._tmp_path, final)
        _fsync_dir(final.parent)

    def abort(self) -> None:
        if not self._fh.closed:
            self._fh.close()
        self._tmp_path.unlink(missing_ok=True)


class BlobStore:
    def __init__(self, root: Path) -> None:
        self.root = root
        (root / _TMP).mkdir(mode=0o700, parents=True, exist_ok=True)

    def path_of(self, name: str) -> Path:
        if len(name) != 32 or any(c not in "0123456789abcdef" for c in name):
            raise ValueError("bad blob name")
        return self.root / name[:2] / name

    @contextmanager
    def create(self) -> Iterator[BlobWriter]:
        """Write a new blob; it exists only if the block ends without error."""
        name = secrets.token_hex(16)
        writer = BlobWriter(self, name, self.root / _TMP / name)
        try:
            yield writer
        except BaseException:
            writer.abort()
            raise
        writer.commit()

    def open(self, name: str) -> BinaryIO:
        return open(self.path_of(name), "rb")

    def delete(self, name: str) -> None:
        path = self.path_of(name)
        path.unlink(missing_ok=True)
        _fsync_dir(path.parent)

    def names(self) -> set[str]:
        out: set[str] = set()
        for sub in self.root.iterdir():
            if sub.name == _TMP or not sub.is_dir():
                continue
            out.update(p.name for p in sub.iterdir())
        return out

    def sweep_temporary(self) -> int:
        """Remove half-written files left by a crash (they were never acknowledged)."""
        count = 0
        for p in (self.root / _TMP).iterdir():
            p.unlink(missing_ok=True)
            count += 1
        return count
