"""Sending approved statistics releases to the observatory (issue 6), and what it answered.

An approved release is already the protocol's `StatisticsRelease` (the node builds that
message when it draws the noise); the federation service seals it and puts it in the
persistent outbox. The observatory answers `DeliveryAck`: accepted (or duplicate: it already
had it) marks the release sent, through the ledger (`Ledger.mark_sent`, the one writer of
that status); rejected keeps the observatory's reason code for the staff page and is final
for that envelope.
"""

from __future__ import annotations

import sqlite3

from node.statistics.budget import Ledger
from protocol.delivery import DeliveryAck
from protocol.message import Message
from protocol.statistics import StatisticsRelease

MESSAGE_TYPE = f"{StatisticsRelease.TYPE} v{StatisticsRelease.VERSION}"


def record_queued(conn: sqlite3.Connection, envelope_id: str, release_id: str,
                  hour: int) -> None:
    conn.execute("INSERT OR IGNORE INTO statistics_deliveries (envelope_id, release_id,"
                 " queued_hour) VALUES (?, ?, ?)", (envelope_id, release_id, hour))


def handle_answer(conn: sqlite3.Connection, envelope_id: str, answer: Message,
                  hour: int) -> str:
    """Store the observatory's answer, in the caller's write transaction; returns the
    outcome for the log line."""
    if not isinstance(answer, DeliveryAck):
        return "unexpected"
    outcome = answer.status if answer.status != "rejected" else f"rejected: {answer.reason}"
    row = conn.execute("SELECT release_id FROM statistics_deliveries WHERE envelope_id = ?",
                       (envelope_id,)).fetchone()
    conn.execute("UPDATE statistics_deliveries SET answer = ?, answered_hour = ?"
                 " WHERE envelope_id = ?", (outcome, hour, envelope_id))
    if row is not None and answer.status in ("accepted", "duplicate"):
        Ledger.mark_sent(conn, row[0], hour)
    return outcome


def answers(conn: sqlite3.Connection) -> dict[str, str]:
    """The latest answer per release id (for the staff page)."""
    out: dict[str, str] = {}
    for release_id, answer in conn.execute(
            "SELECT release_id, COALESCE(answer, 'queued') FROM statistics_deliveries"
            " ORDER BY queued_hour"):
        out[release_id] = answer
    return out
