"""Every earlier schema version upgrades to the current one, for the node and the
observatory, and the data survives (issue 21, "Upgrades"): for each version n, a database
made by the first n migrations with a synthetic row in every table (`tests.schema_versions`)
is migrated by the current code inside one transaction; every row is still there, value for
value in every column that still exists, and no foreign key dangles. The committed schema-10
and schema-18 fixtures cover the work the code does on top at start (re-signing keys,
re-committing leaves)."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from node.storage import migrations as node_migrations
from observatory.storage import migrations as observatory_migrations
from tests.schema_versions import at_version, surviving


def _observatory_statements(script: str) -> list[str]:
    return [s for s in script.split(";") if s.strip()]  # as observatory.storage.migrations


SCHEMAS: dict[str, tuple[tuple[str, ...], Callable[[str], list[str]], Callable[..., Any]]] = {
    "node": (node_migrations.MIGRATIONS, node_migrations._statements, node_migrations.apply),
    "observatory": (observatory_migrations.MIGRATIONS, _observatory_statements,
                    observatory_migrations.apply),
}
# What a migration changes on purpose, by its number: the row is still there, these values
# transformed (from a version before that migration).
Change = tuple[int, Callable[[Any], Any]]
CHANGED: dict[str, dict[tuple[str, str], Change]] = {
    "node": {
        # 10 (issue 11): a deletion's free-text reason is dropped, not kept in clear
        ("deletions", "reason"): (10, lambda v: "other"),
        # 14 (issue 14): drafts drawn under the older privacy bound are voided (the synthetic
        # release is a draft: its status is the first the table allows)
        ("statistics_releases", "status"): (14, lambda v: "discarded" if v == "draft" else v),
        ("statistics_releases", "reviewed_by"): (14, lambda v: "system"),
        ("statistics_releases", "payload_key"): (14, lambda v: None),
        ("statistics_releases", "payload_ct"): (14, lambda v: None),
    },
    "observatory": {},
}
CASES = [(name, n) for name, (scripts, _, _) in SCHEMAS.items()
         for n in range(1, len(scripts))]


@pytest.mark.parametrize(("schema", "version"), CASES,
                         ids=[f"{name}-{n}" for name, n in CASES])
def test_every_earlier_version_upgrades_and_keeps_its_data(schema: str, version: int,
                                                           tmp_path: Path) -> None:
    scripts, statements, apply = SCHEMAS[schema]
    path = tmp_path / f"{schema}-{version}.db"
    inserted = at_version(path, scripts, version, statements)
    changed = {key: change for key, (number, change) in CHANGED[schema].items()
               if version < number}
    assert inserted, "a schema with no table"
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("PRAGMA foreign_keys=ON")
        conn.execute("BEGIN")
        apply(conn)
        conn.execute("COMMIT")
        assert conn.execute("PRAGMA user_version").fetchone()[0] == len(scripts)
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
        lost = {table: columns for table, columns in surviving(conn, inserted, changed).items()
                if columns}
        assert lost == {}, f"rows or values lost upgrading from {schema} schema {version}"
    finally:
        conn.close()
