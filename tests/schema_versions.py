"""A database of every earlier schema version, generated: the fixture of each version.

`at_version(migrations, n, statements)` applies the first ``n`` migrations to a new SQLite
database, exactly as the released code did, and puts one synthetic row into every table that
version has (parents first, foreign keys pointing at the parents' rows, values that satisfy
the tables' ``CHECK ... IN (...)`` and ``length(...) = N`` constraints). What it inserted is
returned, so a test can upgrade the database to the current version and check that every
row is still there. No old code is needed: the migrations are data, and never edited once
released (the committed schema-10 and schema-18 fixtures cover what the code did on top).
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

Row = dict[str, Any]


def _check_values(sql: str, column: str) -> list[Any]:
    """The literals a ``CHECK (column IN ('a', 'b'))`` (or ``column = 1``) allows."""
    match = re.search(rf"\b{re.escape(column)}\s+IN\s*\(([^)]*)\)", sql, re.IGNORECASE)
    if match is None:
        equal = re.search(rf"CHECK\s*\(\s*{re.escape(column)}\s*=\s*(\d+)\s*\)", sql,
                          re.IGNORECASE)
        return [] if equal is None else [int(equal.group(1))]
    return [text if number == "" else int(number) for text, number in
            re.findall(r"'([^']*)'|(-?\d+)", match.group(1))]


def _length(sql: str, column: str) -> int | None:
    match = re.search(rf"length\(\s*{re.escape(column)}\s*\)\s*(?:=|>=|BETWEEN)\s*(\d+)", sql,
                      re.IGNORECASE)
    return None if match is None else int(match.group(1))


def _value(table: str, sql: str, column: str, declared: str, n: int) -> Any:
    allowed = _check_values(sql, column)
    if allowed:
        return allowed[0]
    declared = declared.upper()
    if "INT" in declared:
        return 3600 * n  # a whole hour: times are coarsened to the hour by some migrations
    if "REAL" in declared:
        return float(n)
    length = _length(sql, column)
    if "BLOB" in declared:
        return bytes([n % 256]) * (length or 32)
    if length is not None:
        return (f"{n:x}" * length)[:length]
    return f"{table}.{column}.{n}"


def tables(conn: sqlite3.Connection) -> dict[str, str]:
    """Every table and its SQL, in creation order."""
    return {str(name): str(sql) for name, sql in conn.execute(
        "SELECT name, sql FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
        "ORDER BY rowid")}


def fill(conn: sqlite3.Connection) -> dict[str, Row]:
    """One synthetic row in every table (parents first); returns table -> the row."""
    inserted: dict[str, Row] = {}
    pending = tables(conn)
    for _ in range(len(pending) + 1):  # parents may come after children in creation order
        progress = False
        for table, sql in list(pending.items()):
            parents = {row[3]: (row[2], row[4]) for row in conn.execute(
                f'PRAGMA foreign_key_list("{table}")')}
            if any(parent not in inserted for parent, _ in parents.values()
                   if parent != table):
                continue
            row: Row = {}
            nullable = []
            for _cid, column, declared, notnull, _default, pk in conn.execute(
                    f'PRAGMA table_info("{table}")'):
                if column in parents and parents[column][0] != table:
                    parent, target = parents[column]
                    row[column] = inserted[parent][target] if target else None
                    continue
                row[column] = _value(table, sql, column, declared or "", 1)
                if not notnull and not pk:
                    nullable.append(column)
            names = ", ".join(f'"{c}"' for c in row)
            marks = ", ".join("?" for _ in row)
            try:
                conn.execute(f'INSERT INTO "{table}" ({names}) VALUES ({marks})',
                             tuple(row.values()))
            except sqlite3.IntegrityError:
                # a CHECK across columns (a decision time only once decided...): the
                # optional columns left empty
                row.update({column: None for column in nullable})
                conn.execute(f'INSERT INTO "{table}" ({names}) VALUES ({marks})',
                             tuple(row.values()))
            inserted[table] = row
            del pending[table]
            progress = True
        if not pending or not progress:
            break
    if pending:
        raise AssertionError(f"no synthetic row could go into {sorted(pending)}")
    return inserted


def at_version(path: Path, migrations: Sequence[str], n: int,
               statements: Callable[[str], list[str]]) -> dict[str, Row]:
    """A database at schema ``n`` (the first ``n`` migrations) at `path`, with a synthetic
    row in every table; returns what was inserted."""
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("PRAGMA foreign_keys=ON")
        conn.execute("BEGIN")
        for number, script in enumerate(migrations[:n], start=1):
            for statement in statements(script):
                conn.execute(statement)
            conn.execute(f"PRAGMA user_version={number}")
        inserted = fill(conn)
        conn.execute("COMMIT")
        return inserted
    finally:
        conn.close()


def surviving(conn: sqlite3.Connection, inserted: dict[str, Row],
              changed: dict[tuple[str, str], Callable[[Any], Any]] | None = None
              ) -> dict[str, list[str]]:
    """For each table inserted into that still exists: the columns (still there) whose
    synthetic value is no longer found. Empty lists everywhere: every row survived.
    `changed` names the values a later migration changes on purpose, and how."""
    now = tables(conn)
    lost: dict[str, list[str]] = {}
    for table, row in inserted.items():
        if table not in now:
            continue
        columns = {r[1] for r in conn.execute(f'PRAGMA table_info("{table}")')}
        missing = []
        for column, value in row.items():
            if column not in columns:
                continue
            value = (changed or {}).get((table, column), lambda v: v)(value)
            found = conn.execute(f'SELECT 1 FROM "{table}" WHERE "{column}" IS ? LIMIT 1',
                                 (value,)).fetchone()
            if found is None:
                missing.append(column)
        lost[table] = missing
    return lost
