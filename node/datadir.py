"""The layout of a node's data directory.

    DIR/node.toml            configuration (not secret, documented)
    DIR/node.db              SQLite database (+ -wal, -shm): ciphertext and coarse metadata
    DIR/blobs/               encrypted attachments
    DIR/keys/identity.key    the node's Ed25519 identity seed (0600), signs what leaves the node
    DIR/keys/receipt-index.key  the key of the receipt index (0600), never in the database
                             (`node.intake.receipt_index`); backed up with the identity seed
    DIR/keys/consent.key     the key of the consent tags (0600), never in the database
                             (`node.intake.consent_auth`); backed up with the identity seed
"""

from __future__ import annotations

from pathlib import Path

from node.config import CONFIG_FILE
from node.storage.blobstore import BLOB_DIR
from node.storage.database import DB_FILE
from runtime.datadir import PrivateDataDir
from runtime.files import write_private_file

__all__ = ["DataDir", "write_private_file"]


class DataDir(PrivateDataDir):
    config_file = CONFIG_FILE
    database_file = DB_FILE

    @property
    def blobs(self) -> Path:
        return self.root / BLOB_DIR

    @property
    def receipt_index_key(self) -> Path:
        return self.keys / "receipt-index.key"

    def create(self) -> None:
        super().create()
        self.blobs.mkdir(mode=0o700, exist_ok=True)
