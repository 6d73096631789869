"""The federation's expert directory as this node knows it, and the one rule before any
share: the expert is listed, unrevoked, in a directory younger than 24 hours (issue 16).

The node fetches the directory from the observatory (`ExpertDirectoryQuery`, through the
outbox like the membership list) and keeps the latest one it verified: signed by the
observatory, every credential in it too, fresh, and newer than the one it replaces (no
rollback to a directory from before a revocation). `shareable` is what every later share,
need and engagement asks first; it checks the time again, so a node that stopped hearing
from the observatory stops sharing a day later.
"""

from __future__ import annotations

import sqlite3

from crypto.keys import VerifyKey
from node.federation.config import FederationConfig
from node.federation.errors import BadAnswer, Refused
from protocol.delivery import DeliveryAck
from protocol.encoding import canonical_json, parse_canonical_json
from protocol.errors import EnvelopeRejected
from protocol.experts import (
    DirectoryBody,
    DirectoryEntry,
    ExpertDirectory,
    ExpertDirectoryQuery,
    ExpertRefused,
    shareable_entry,
)
from protocol.message import Message
from protocol.statements import verify_key_from_hex

# How often, at most, a node that serves experts asks for the directory (more often if its
# membership list is refreshed more often): well inside the directory's 24 hours.
REFRESH_SECONDS = 3600
QUERY = f"{ExpertDirectoryQuery.TYPE} v{ExpertDirectoryQuery.VERSION}"  # as the outbox names it


def latest(conn: sqlite3.Connection) -> ExpertDirectory | None:
    row = conn.execute("SELECT directory FROM expert_directory WHERE id = 1").fetchone()
    if row is None:
        return None
    return ExpertDirectory.from_json_object(parse_canonical_json(row[0].encode("utf-8")))


def accept_in(conn: sqlite3.Connection, directory: ExpertDirectory, *,
              observatory_key: VerifyKey, now: int) -> DirectoryBody:
    """Verify `directory` and keep it in place of the last one (inside the caller's write
    transaction). Raises `BadSignature`, `NotYetValid`, `Expired` or `RolledBack`, storing
    nothing."""
    row = conn.execute("SELECT sequence FROM expert_directory WHERE id = 1").fetchone()
    body = directory.verify(issuer_key=observatory_key, now=now,
                            previous_sequence=None if row is None else row[0])
    conn.execute(
        "INSERT INTO expert_directory (id, sequence, issued_at, directory) VALUES (1, ?, ?, ?) "
        "ON CONFLICT (id) DO UPDATE SET sequence = excluded.sequence, "
        "issued_at = excluded.issued_at, directory = excluded.directory",
        (body.sequence, body.issued_at,
         canonical_json(directory.to_json_object()).decode("utf-8")))
    return body


def shareable(conn: sqlite3.Connection, expert_key: str, *, observatory_key: VerifyKey,
              now: int) -> DirectoryEntry:
    """The expert's entry if this node may share with them now; `ExpertRefused` otherwise
    (code ``no_directory``, ``directory_stale``, ``not_listed``, ``credential_expired`` or
    ``forged``)."""
    directory = latest(conn)
    if directory is None:
        raise ExpertRefused("no_directory", "this node has no expert directory yet")
    try:  # what was verified when stored is verified again: the row could be changed
        directory.verify(issuer_key=observatory_key, now=directory.body.issued_at,
                         previous_sequence=None)
    except EnvelopeRejected:
        raise ExpertRefused("forged", "the stored directory is not the observatory's"
                            ) from None
    return shareable_entry(directory.body, expert_key, issuer_key=observatory_key, now=now)


def handle_answer(conn: sqlite3.Connection, answer: Message, *, config: FederationConfig,
                  now: int) -> str:
    """What an answer to our `ExpertDirectoryQuery` says, kept in the caller's transaction:
    the outcome for the log line. A directory that does not verify is `Refused` (asked
    again at the next refresh), and the one kept before stays."""
    if isinstance(answer, DeliveryAck):
        if answer.status == "rejected":
            raise Refused(answer.reason or "rejected")
        raise BadAnswer("an acknowledgement is not a directory")
    if not isinstance(answer, ExpertDirectory):
        raise BadAnswer("not an answer to an expert directory query")
    try:
        body = accept_in(conn, answer, now=now,
                         observatory_key=verify_key_from_hex(config.observatory_identity_key))
    except EnvelopeRejected as exc:  # bad signature, stale, rolled back
        raise Refused(exc.reason) from None
    return f"expert directory {body.sequence}"
