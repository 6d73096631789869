"""Keeping the tokens made from one confirmation (issue 18), under the report's case
reference: the one random reference a report has at the observatory, drawn with its first
token. Used when the evaluator's answer is believed (`node.matching.worker`), inside the
transaction that records the answer."""

from __future__ import annotations

import secrets
import sqlite3
from collections.abc import Sequence

from node.matching.recipe import TokenKind
from node.storage.database import Database


def case_ref(conn: sqlite3.Connection, report_id: str) -> str:
    """The report's opaque reference at the observatory (one a report, random)."""
    # the tokens' reference, else the one its matches are recorded under (its tokens of a
    # retired epoch went, `drop_retired`): a case keeps one reference across epochs
    row = conn.execute("SELECT case_ref FROM matching_tokens WHERE report_id = ? UNION ALL"
                       " SELECT case_ref FROM matching_matches WHERE report_id = ? LIMIT 1",
                       (report_id, report_id)).fetchone()
    return str(row[0]) if row is not None else secrets.token_hex(16)


def record_tokens_in(conn: sqlite3.Connection, report_id: str, identifier_id: str, epoch: int,
                     tokens: list[tuple[TokenKind, bytes]]) -> None:
    """Keep the tokens, to be submitted; nothing if the confirmation was removed (or its
    report deleted) while the evaluator answered."""
    if conn.execute("SELECT 1 FROM perpetrator_identifiers WHERE id = ? AND report_id = ?",
                    (identifier_id, report_id)).fetchone() is None:
        return
    ref = case_ref(conn, report_id)
    conn.executemany(
        "INSERT OR IGNORE INTO matching_tokens (report_id, case_ref, identifier_id,"
        " epoch, kind, token) VALUES (?, ?, ?, ?, ?, ?)",
        [(report_id, ref, identifier_id, epoch, k, t) for k, t in tokens])


def drop_retired(db: Database, live_epochs: Sequence[int]) -> int:
    """Delete the tokens of every epoch the membership list no longer publishes (retired:
    the evaluator shredded its seed and the observatory dropped its tokens of it); the
    count. A read first: nothing is written on the rounds where there is nothing to drop."""
    if not live_epochs:
        return 0
    marks = ", ".join("?" for _ in live_epochs)
    query = f"FROM matching_tokens WHERE epoch NOT IN ({marks})"
    if db.read().execute(f"SELECT 1 {query} LIMIT 1", tuple(live_epochs)).fetchone() is None:
        return 0
    with db.write() as conn:
        return conn.execute(f"DELETE {query}", tuple(live_epochs)).rowcount
