"""Keeping the tokens made from one confirmation (issue 18), under the report's case
reference: the one random reference a report has at the observatory, drawn with its first
token. Used when the evaluator's answer is believed (`node.matching.worker`), inside the
transaction that records the answer."""

from __future__ import annotations

import secrets
import sqlite3

from node.matching.recipe import TokenKind


def case_ref(conn: sqlite3.Connection, report_id: str) -> str:
    """The report's opaque reference at the observatory (one a report, random)."""
    row = conn.execute("SELECT case_ref FROM matching_tokens WHERE report_id = ? LIMIT 1",
                       (report_id,)).fetchone()
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
