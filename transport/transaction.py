"""Explicit SQLite write transactions on a caller's connection (STYLE.md, 7).

The node and the observatory open their own connections (WAL, `synchronous=FULL`,
`busy_timeout`); the outbox and the replay guard only ever write inside
``BEGIN IMMEDIATE … COMMIT``, so a write either lands whole or not at all, and the write
lock is taken up front rather than on the first write (no SQLITE_BUSY upgrade deadlock).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def write_transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """``BEGIN IMMEDIATE``; commit when the block ends, roll back if it raises."""
    if conn.in_transaction:
        raise RuntimeError("the connection is already inside a transaction")
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")
