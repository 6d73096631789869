"""Sending approved statistics releases to the observatory (issue 6), and what it answered.

An approved release is mapped one to one onto the protocol's `StatisticsRelease`, sealed and
put in the persistent outbox; the observatory answers `DeliveryAck`: accepted (or duplicate:
it already had it) marks the release sent; rejected keeps the observatory's reason code for
the staff page and is final for that envelope.
"""

from __future__ import annotations

import sqlite3

from node.statistics.release import ReleasePayload
from protocol.delivery import DeliveryAck
from protocol.message import Message
from protocol.statistics import StatisticsRelease, StatisticsTable

MESSAGE_TYPE = f"{StatisticsRelease.TYPE} v{StatisticsRelease.VERSION}"


def to_message(payload: ReleasePayload) -> StatisticsRelease:
    return StatisticsRelease(
        release_id=payload.release_id, plan_version=payload.plan_version,
        period=payload.period, first_month=payload.first_month,
        last_month=payload.last_month, period_start=payload.period_start,
        period_end=payload.period_end, privacy_unit=payload.privacy_unit,
        contributions=payload.contributions, mechanism=payload.mechanism,
        epsilon=payload.epsilon, delta=payload.delta,
        budget_per_period=payload.budget_per_period, spent_in_period=payload.spent_in_period,
        created_hour=payload.created_hour,
        tables=tuple(StatisticsTable(
            name=t.name, dimensions=tuple(t.dimensions), domains=t.domains, counts=t.counts,
            mechanism=t.mechanism, scale=t.scale, variance=t.variance,
            accuracy_95=t.accuracy_95, epsilon=t.epsilon) for t in payload.tables))


def record_queued(conn: sqlite3.Connection, envelope_id: str, release_id: str,
                  hour: int) -> None:
    conn.execute("INSERT OR IGNORE INTO statistics_deliveries (envelope_id, release_id,"
                 " queued_hour) VALUES (?, ?, ?)", (envelope_id, release_id, hour))


def handle_answer(conn: sqlite3.Connection, envelope_id: str, answer: Message,
                  hour: int) -> str:
    """Store the observatory's answer; returns the outcome for the log line."""
    if not isinstance(answer, DeliveryAck):
        return "unexpected"
    outcome = answer.status if answer.status != "rejected" else f"rejected: {answer.reason}"
    row = conn.execute("SELECT release_id FROM statistics_deliveries WHERE envelope_id = ?",
                       (envelope_id,)).fetchone()
    conn.execute("UPDATE statistics_deliveries SET answer = ?, answered_hour = ?"
                 " WHERE envelope_id = ?", (outcome, hour, envelope_id))
    if row is not None and answer.status in ("accepted", "duplicate"):
        conn.execute("UPDATE statistics_releases SET status = 'sent', sent_hour = ?"
                     " WHERE id = ? AND status = 'approved'", (hour, row[0]))
    return outcome


def answers(conn: sqlite3.Connection) -> dict[str, str]:
    """The latest answer per release id (for the staff page)."""
    out: dict[str, str] = {}
    for release_id, answer in conn.execute(
            "SELECT release_id, COALESCE(answer, 'queued') FROM statistics_deliveries"
            " ORDER BY queued_hour"):
        out[release_id] = answer
    return out
