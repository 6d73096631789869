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
