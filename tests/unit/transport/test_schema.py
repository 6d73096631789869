"""The transport's tables: created once, recorded per component, and a database that a newer
release has changed is refused rather than written with an older layout."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from types import ModuleType

import pytest

from transport import inbox, outbox


def test_both_components_share_one_database_and_are_idempotent(tmp_path: Path) -> None:
    conn = sqlite3.connect(tmp_path / "node.db", isolation_level=None)
    for _ in range(2):
        inbox.ensure_schema(conn)
        outbox.ensure_schema(conn)
    assert dict(conn.execute("SELECT component, version FROM transport_schema")) == {
        "inbox": inbox.SCHEMA_VERSION, "outbox": outbox.SCHEMA_VERSION}
    assert not conn.in_transaction


@pytest.mark.parametrize("module", [inbox, outbox])
def test_a_newer_component_is_refused(tmp_path: Path, module: ModuleType) -> None:
    conn = sqlite3.connect(tmp_path / "node.db", isolation_level=None)
    module.ensure_schema(conn)
    name = module.__name__.rsplit(".", 1)[1]
    conn.execute("UPDATE transport_schema SET version = version + 1 WHERE component = ?",
                 (name,))
    with pytest.raises(RuntimeError, match=f"{name} schema v2 is newer than this release"):
        module.ensure_schema(conn)
    assert not conn.in_transaction  # rolled back, nothing half-made
