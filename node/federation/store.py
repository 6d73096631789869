"""The node's federation tables (migration 6): what it knows about the federation.

Everything here is public-key material, node ids, tree sizes, signed checkpoint notes (a log
origin, a size and a root hash) and short outcome codes. No report, no leaf, no salt: the
evidence log's content never leaves the node and is never copied here (raw data never leaves
its node; `tests/unit/node/test_federation_store.py` checks it with a canary).

Functions take the caller's connection; writers must hold a write transaction of the node's
one writer (`node.storage.database.Database.write()`, in a worker thread). They read rows by
position, so they work with and without `sqlite3.Row`.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from typing import Literal

from crypto.checkpoint import NoteSignature, SignedNote
from protocol.membership import MembershipCertificate, MembershipList
from protocol.witnessing import Witnessed

MembershipStatus = Literal["pending", "approved", "rejected"]
AlarmKind = Literal["peer_fork", "own_log_fork", "witness_ahead"]


def _need_transaction(conn: sqlite3.Connection) -> None:
    if not conn.in_transaction:
        raise RuntimeError("federation state is written inside a write transaction")


# -- membership --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Membership:
    observatory: str
    status: MembershipStatus
    requested_at: int
    decided_at: int | None
    reason: str | None
    certificate: MembershipCertificate | None


def membership(conn: sqlite3.Connection, observatory: str) -> Membership | None:
    row = conn.execute(
        "SELECT observatory, status, requested_at, decided_at, reason, certificate "
        "FROM federation_membership WHERE observatory = ?", (observatory,)).fetchone()
    if row is None:
        return None
    cert = None if row[5] is None else MembershipCertificate.from_json_object(json.loads(row[5]))
    return Membership(row[0], row[1], row[2], row[3], row[4], cert)


def record_request(conn: sqlite3.Connection, observatory: str, now: int) -> None:
    """Note that this node asked to join (once; a pending request stays pending)."""
    _need_transaction(conn)
    conn.execute(
        "INSERT INTO federation_membership (observatory, status, requested_at) "
        "VALUES (?, 'pending', ?) ON CONFLICT (observatory) DO NOTHING", (observatory, now))


def record_decision(conn: sqlite3.Connection, observatory: str, status: MembershipStatus,
                    now: int, *, reason: str | None = None,
                    certificate: MembershipCertificate | None = None) -> None:
    _need_transaction(conn)
    cert = None if certificate is None else json.dumps(certificate.to_json_object())
    conn.execute(
        "INSERT INTO federation_membership (observatory, status, requested_at, decided_at, "
        "reason, certificate) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (observatory) DO UPDATE "
        "SET status = excluded.status, decided_at = excluded.decided_at, "
        "reason = excluded.reason, certificate = excluded.certificate",
        (observatory, status, now, now, reason, cert))


# -- the membership list -----------------------------------------------------------------------


@dataclass(frozen=True)
class StoredList:
    sequence: int
    fetched_at: int
    signed: MembershipList


def membership_list(conn: sqlite3.Connection, observatory: str) -> StoredList | None:
    """The latest membership list this node verified (its signature was checked then)."""
    row = conn.execute(
        "SELECT sequence, fetched_at, list FROM federation_membership_list "
        "WHERE observatory = ?", (observatory,)).fetchone()
    if row is None:
        return None
    return StoredList(row[0], row[1], MembershipList.from_json_object(json.loads(row[2])))


def store_membership_list(conn: sqlite3.Connection, observatory: str, signed: MembershipList,
                          now: int) -> None:
    """Keep a list *after* `MembershipList.verify` accepted it (signature, expiry, newer)."""
    _need_transaction(conn)
    body = signed.body
    conn.execute(
        "INSERT INTO federation_membership_list (observatory, sequence, issued_at, expires, "
        "list, fetched_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (observatory) DO UPDATE "
        "SET sequence = excluded.sequence, issued_at = excluded.issued_at, "
        "expires = excluded.expires, list = excluded.list, fetched_at = excluded.fetched_at "
        "WHERE excluded.sequence > federation_membership_list.sequence",
        (observatory, body.sequence, body.issued_at, body.expires,
         json.dumps(signed.to_json_object()), now))


def touch_membership_list(conn: sqlite3.Connection, observatory: str, now: int) -> None:
    """The observatory confirmed our list is current."""
    _need_transaction(conn)
    conn.execute("UPDATE federation_membership_list SET fetched_at = ? WHERE observatory = ?",
                 (now, observatory))


# -- witnesses of this node's log --------------------------------------------------------------


@dataclass(frozen=True)
class WitnessOfOurs:
    witness: str
    cosigned_size: int | None
    last_outcome: str | None
    updated_at: int


def witness_of_ours(conn: sqlite3.Connection, witness: str) -> WitnessOfOurs | None:
    row = conn.execute(
        "SELECT witness, cosigned_size, last_outcome, updated_at FROM federation_witnesses "
        "WHERE witness = ?", (witness,)).fetchone()
    return None if row is None else WitnessOfOurs(row[0], row[1], row[2], row[3])


def witnesses_of_ours(conn: sqlite3.Connection) -> list[WitnessOfOurs]:
    rows = conn.execute("SELECT witness, cosigned_size, last_outcome, updated_at "
                        "FROM federation_witnesses ORDER BY witness").fetchall()
    return [WitnessOfOurs(r[0], r[1], r[2], r[3]) for r in rows]


def record_outcome(conn: sqlite3.Connection, witness: str, outcome: str, now: int, *,
                   witnessed_size: int | None = None) -> None:
    """What a witness last answered (`cosigned`, a refusal reason, a transport code). With
    `witnessed_size`, also what it says it last cosigned for us: the next push starts there."""
    _need_transaction(conn)
    conn.execute(
        "INSERT INTO federation_witnesses (witness, cosigned_size, last_outcome, updated_at) "
        "VALUES (?, ?, ?, ?) ON CONFLICT (witness) DO UPDATE SET "
        "last_outcome = excluded.last_outcome, updated_at = excluded.updated_at, "
        "cosigned_size = COALESCE(excluded.cosigned_size, federation_witnesses.cosigned_size)",
        (witness, witnessed_size, outcome, now))


def record_cosignature(conn: sqlite3.Connection, witness: str, size: int, line: str,
                       now: int) -> None:
    """Keep a verified cosignature line of our checkpoint of `size` leaves by `witness`."""
    _need_transaction(conn)
    conn.execute(
        "INSERT INTO federation_cosignatures (size, witness, line, received_at) "
        "VALUES (?, ?, ?, ?) ON CONFLICT (size, witness) DO NOTHING",
        (size, witness, line, now))
    conn.execute(
        "INSERT INTO federation_witnesses (witness, cosigned_size, last_outcome, updated_at) "
        "VALUES (?, ?, 'cosigned', ?) ON CONFLICT (witness) DO UPDATE SET "
        "last_outcome = 'cosigned', updated_at = excluded.updated_at, "
        "cosigned_size = max(COALESCE(federation_witnesses.cosigned_size, 0), "
        "excluded.cosigned_size)",
        (witness, size, now))


def cosignature_lines(conn: sqlite3.Connection, size: int) -> list[tuple[str, str]]:
    """(witness node id, cosignature line) of every witness that cosigned `size`."""
    rows = conn.execute("SELECT witness, line FROM federation_cosignatures WHERE size = ? "
                        "ORDER BY witness", (size,)).fetchall()
    return [(r[0], r[1]) for r in rows]


def cosigned_sizes(conn: sqlite3.Connection, limit: int = 20) -> list[tuple[int, int]]:
    """(size, number of witnesses) of the latest cosigned checkpoints, newest first."""
    rows = conn.execute("SELECT size, count(*) FROM federation_cosignatures GROUP BY size "
                        "ORDER BY size DESC LIMIT ?", (limit,)).fetchall()
    return [(r[0], r[1]) for r in rows]


def with_cosignatures(conn: sqlite3.Connection, note: bytes, size: int) -> bytes:
    """The signed checkpoint `note` of `size` leaves with every stored cosignature line
    appended (C2SP signed-note: one note may carry several signatures). Without the
    federation tables' rows, the note as it was."""
    lines = cosignature_lines(conn, size)
    if not lines:
        return note
    signed = SignedNote.parse(note)
    for _, line in lines:
        signed = signed.with_signature(NoteSignature.parse_line(line))
    return signed.encode()


# -- logs this node witnesses ------------------------------------------------------------------


def witnessed(conn: sqlite3.Connection, origin: str) -> Witnessed | None:
    row = conn.execute("SELECT size, root_hash, note FROM federation_witnessed "
                       "WHERE origin = ?", (origin,)).fetchone()
    return None if row is None else Witnessed(row[0], bytes(row[1]), row[2])


def witnessed_cosignature(conn: sqlite3.Connection, origin: str) -> str | None:
    row = conn.execute("SELECT cosignature FROM federation_witnessed WHERE origin = ?",
                       (origin,)).fetchone()
    return None if row is None else str(row[0])


@dataclass(frozen=True)
class WitnessedLog:
    origin: str
    node_id: str
    size: int
    updated_at: int


def witnessed_logs(conn: sqlite3.Connection) -> list[WitnessedLog]:
    rows = conn.execute("SELECT origin, node_id, size, updated_at FROM federation_witnessed "
                        "ORDER BY origin").fetchall()
    return [WitnessedLog(r[0], r[1], r[2], r[3]) for r in rows]


def store_witnessed(conn: sqlite3.Connection, origin: str, node_id: str, state: Witnessed,
                    cosignature: str, now: int) -> None:
    _need_transaction(conn)
    conn.execute(
        "INSERT INTO federation_witnessed (origin, node_id, size, root_hash, note, cosignature, "
        "updated_at) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (origin) DO UPDATE SET "
        "size = excluded.size, root_hash = excluded.root_hash, note = excluded.note, "
        "cosignature = excluded.cosignature, updated_at = excluded.updated_at",
        (origin, node_id, state.size, state.root_hash, state.note, cosignature, now))


# -- alarms ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Alarm:
    id: int
    kind: AlarmKind
    origin: str
    reported_by: str
    first_note: str | None
    second_note: str
    detail: str | None
    raised_at: int


def raise_alarm(conn: sqlite3.Connection, kind: AlarmKind, origin: str, reported_by: str,
                *, first_note: str | None, second_note: str, detail: str | None,
                now: int) -> bool:
    """Keep a fork alarm with both notes; False if this very alarm was already raised."""
    _need_transaction(conn)
    cursor = conn.execute(
        "INSERT INTO federation_alarms (kind, origin, reported_by, first_note, second_note, "
        "detail, raised_at) VALUES (?, ?, ?, ?, ?, ?, ?) "
        "ON CONFLICT (kind, origin, reported_by, second_note) DO NOTHING",
        (kind, origin, reported_by, first_note, second_note, detail, now))
    return cursor.rowcount == 1


def alarms(conn: sqlite3.Connection) -> list[Alarm]:
    rows = conn.execute(
        "SELECT id, kind, origin, reported_by, first_note, second_note, detail, raised_at "
        "FROM federation_alarms ORDER BY id DESC").fetchall()
    return [Alarm(*tuple(r)) for r in rows]
