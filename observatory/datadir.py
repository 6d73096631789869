"""The layout of an observatory's data directory.

    DIR/observatory.toml     configuration (not secret, documented in observatory/README.md)
    DIR/observatory.db       SQLite database (+ -wal, -shm): members, lists, witness state
    DIR/keys/identity.key    the observatory's Ed25519 identity seed (0600): signs certificates,
                             membership lists, envelopes and cosignatures; its libp2p identity
"""

from __future__ import annotations

from runtime.datadir import PrivateDataDir

CONFIG_FILE = "observatory.toml"
DB_FILE = "observatory.db"


class DataDir(PrivateDataDir):
    config_file = CONFIG_FILE
    database_file = DB_FILE
