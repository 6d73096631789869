"""The part of a data directory that a node and the observatory lay out alike: a root and a
``keys/`` directory only their owner may enter (0700), a configuration file, an SQLite
database and the Ed25519 identity seed ``keys/identity.key``. Each names its own files
(node/datadir.py, observatory/datadir.py) and adds what only it has."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar


@dataclass(frozen=True)
class PrivateDataDir:
    root: Path
    config_file: ClassVar[str]
    database_file: ClassVar[str]

    @property
    def config(self) -> Path:
        return self.root / self.config_file

    @property
    def database(self) -> Path:
        return self.root / self.database_file

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
