"""The transport's tables: created once, recorded per component, and a database that a newer
release has changed is refused rather than written with an older layout."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

import pytest

from runtime.sqlite import Database
from transport import inbox, queue, store


def test_both_components_share_one_database_and_are_idempotent(tmp_path: Path) -> None:
    db = Database(tmp_path / "node.db", store.ensure_schema)
    with db.write() as conn:
        store.ensure_schema(conn)
    assert dict(db.read().execute("SELECT component, version FROM transport_schema")) == {
        "inbox": inbox.SCHEMA_VERSION, "outbox": queue.SCHEMA_VERSION}
    db.close()


def test_the_tables_are_made_inside_the_writers_transaction(tmp_path: Path) -> None:
    import sqlite3

    conn = sqlite3.connect(tmp_path / "node.db", isolation_level=None)
    with pytest.raises(RuntimeError, match="inside a write transaction"):
        store.ensure_schema(conn)
    conn.close()


@pytest.mark.parametrize(("module", "name"), [(inbox, "inbox"), (queue, "outbox")])
def test_a_newer_component_is_refused(tmp_path: Path, module: ModuleType, name: str) -> None:
    path = tmp_path / "node.db"
    db = Database(path, module.ensure_schema)
    with db.write() as conn:
        conn.execute("UPDATE transport_schema SET version = version + 1 WHERE component = ?",
                     (name,))
    db.close()
    with pytest.raises(RuntimeError, match=f"{name} schema v2 is newer than this release"):
        Database(path, module.ensure_schema)
    db = Database(path, lambda conn: None)
    assert dict(db.read().execute("SELECT component, version FROM transport_schema")) == {
        name: 2}  # rolled back, nothing half-made
    db.close()
