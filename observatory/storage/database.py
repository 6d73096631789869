"""The observatory's database: `runtime.sqlite` with the observatory's migrations.

An answer sent to a node (an accepted enrollment, a cosignature) is only sent after the
transaction that recorded it is on disk. The transport's replay guard and outbox keep their
own tables (`transport.inbox`, `transport.outbox`) in the same file.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from observatory.storage import migrations
from runtime import sqlite
from transport import inbox, outbox


def connect(path: Path) -> sqlite3.Connection:
    return sqlite.connect(path, secure_delete=False)


def _transport_schemas(writer: sqlite3.Connection) -> None:
    inbox.ensure_schema(writer)
    outbox.ensure_schema(writer)


class Database(sqlite.Database):
    def __init__(self, path: Path) -> None:
        super().__init__(path, migrations.apply, secure_delete=False,
                         setup=_transport_schemas)
