"""The layout of a node's data directory.

    DIR/node.toml            configuration (not secret, documented)
    DIR/node.db              SQLite database (+ -wal, -shm): ciphertext and coarse metadata
    DIR/blobs/               encrypted attachments
    DIR/keys/identity.key    the node's Ed25519 identity seed (0600), signs what leaves the node
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from node.config import CONFIG_FILE
from node.storage.blobstore import BLOB_DIR
from node.storage.database import DB_FILE
from runtime.files import write_private_file

__all__ = ["DataDir", "write_private_file"]


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
    def blobs(self) -> Path:
        return self.root / BLOB_DIR

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
        self.blobs.mkdir(mode=0o700, exist_ok=True)
