"""The node's database: `runtime.sqlite` with the node's migrations.

Deleted rows are overwritten (``secure_delete``: crypto-shredding leaves no residue in free
pages), and the writer keeps a larger page cache (64 MiB): appends to the evidence log touch
index pages all over a large file (bench: 33k -> 50k appends/s at 1M leaves).
"""

from __future__ import annotations

from pathlib import Path

from node.storage import migrations
from runtime import sqlite

DB_FILE = "node.db"


class Database(sqlite.Database):
    def __init__(self, path: Path) -> None:
        super().__init__(path, migrations.apply, secure_delete=True, writer_cache_kib=65536)
