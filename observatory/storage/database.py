"""The observatory's database: `runtime.sqlite` with the observatory's migrations.

An answer sent to a node (an accepted enrollment, a cosignature) is only sent after the
transaction that recorded it is on disk. The transport's replay guard and outbox keep their
own tables (`transport.store.ensure_schema`) in the same file, written through the same one
writer.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from observatory.storage import migrations
from runtime import sqlite
from transport import store


def _migrate(conn: sqlite3.Connection) -> None:
    migrations.apply(conn)
    store.ensure_schema(conn)


class Database(sqlite.Database):
    def __init__(self, path: Path) -> None:
        super().__init__(path, _migrate, secure_delete=False)
