"""The layout of an observatory's data directory.

    DIR/observatory.toml     configuration (not secret, documented in observatory/README.md)
    DIR/observatory.db       SQLite database (+ -wal, -shm): members, lists, witness state
    DIR/keys/identity.key    the observatory's Ed25519 identity seed (0600): signs certificates,
                             membership lists, envelopes and cosignatures; its libp2p identity
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

CONFIG_FILE = "observatory.toml"
DB_FILE = "observatory.db"


@dataclass(frozen=True)
class DataDir:
    root: Path

    @property
    def config(self) -> Path:
        return self.root / CONFIG_FILE

    @property
    def database(self) -> Path:
        return self.root / DB_FILE

    @property
    def keys(self) -> Path:
        return self.root / "keys"

    @property
    def identity_key(self) -> Path:
        return self.keys / "identity.key"

    def is_initialised(self) -> bool:
        return self.database.exists() and self.identity_key.exists()

    def create(self) -> None:
        self.root.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chmod(self.root, 0o700)
        self.keys.mkdir(mode=0o700, exist_ok=True)


def write_private_file(path: Path, data: bytes) -> None:
    """Create `path` readable by its owner only (0600), atomically and durably."""
    tmp = path.with_suffix(path.suffix + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)
    dfd = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(dfd)
    finally:
        os.close(dfd)
