"""Messages about needs and engagements waiting for the federation outbox (issue 16).

A coordinator's or expert's action writes its message here in the same transaction as the
action itself; the federation service moves it into the outbox (`transport.outbox`, the one
delivery path) in one transaction that also deletes it here (`take`), so nothing is sent
twice or lost. The service is woken at once (`FederationStatus.wake`).
"""

from __future__ import annotations

import sqlite3

from protocol.encoding import canonical_json, parse_canonical_json
from protocol.engagements import ExpertDecline, ExpertEngagement, ExpertNeed, ExpertOffer
from protocol.message import Message
from protocol.opinions import ExpertOpinion

TYPES: dict[str, type[Message]] = {m.TYPE: m for m in (ExpertNeed, ExpertOffer, ExpertDecline,
                                                       ExpertEngagement, ExpertOpinion)}
# How the outbox names them (`transport.store.Queued.message_type`): their answers are acks.
KINDS = frozenset(f"{m.TYPE} v{m.VERSION}" for m in TYPES.values())


def queue(conn: sqlite3.Connection, recipient: str, message: Message) -> None:
    conn.execute("INSERT INTO expert_outgoing (recipient, type, message) VALUES (?, ?, ?)",
                 (recipient, message.TYPE,
                  canonical_json(message.to_json_object()).decode("utf-8")))


def waiting(conn: sqlite3.Connection) -> list[tuple[int, str, Message]]:
    """(id, recipient node, message) of each message not yet in the outbox, oldest first."""
    return [(row_id, recipient, TYPES[kind].from_json_object(
        parse_canonical_json(text.encode("utf-8"))))
        for row_id, recipient, kind, text in conn.execute(
            "SELECT id, recipient, type, message FROM expert_outgoing ORDER BY id")]


def take(conn: sqlite3.Connection, row_id: int) -> None:
    """The message is in the outbox now (the caller's transaction)."""
    conn.execute("DELETE FROM expert_outgoing WHERE id = ?", (row_id,))
