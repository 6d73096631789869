"""The outbox's and the replay guard's tables in the caller's SQLite database, each part
created if missing and its version recorded in ``transport_schema`` (one row per component),
so that an older release refuses a database that a newer one has changed."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable

_VERSIONS = """
    CREATE TABLE IF NOT EXISTS transport_schema (
        component TEXT PRIMARY KEY,
        version INTEGER NOT NULL
    ) STRICT
    """


def ensure_component(conn: sqlite3.Connection, component: str, statements: Iterable[str],
                     version: int) -> None:
    """Run ``statements`` (idempotent DDL) and record ``component`` at ``version`` inside the
    caller's open write transaction (the process's one writer: `transport.store.Database`);
    refuse a database whose ``component`` is newer than ``version``."""
    if not conn.in_transaction:
        raise RuntimeError("the transport's tables are made inside a write transaction")
    conn.execute(_VERSIONS)
    for statement in statements:
        conn.execute(statement)
    row = conn.execute(
        "SELECT version FROM transport_schema WHERE component = ?", (component,)
    ).fetchone()
    if row is None:
        conn.execute("INSERT INTO transport_schema (component, version) VALUES (?, ?)",
                     (component, version))
    elif row[0] > version:
        raise RuntimeError(
            f"{component} schema v{row[0]} is newer than this release (v{version})")
