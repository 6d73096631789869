"""The persisted replay guard, with `protocol.envelope.verify_frame` as its user."""

from __future__ import annotations

import secrets
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from crypto.keys import SigningKey
from protocol.drafts import ExpertRequest
from protocol.envelope import DEFAULT_POLICY, Envelope, seal, verify_frame
from protocol.errors import Replayed
from transport import inbox
from transport.inbox import ReplayGuard
from transport.transaction import write_transaction

NOW = 1_800_000_000
ALICE, BOB, CAROL = (secrets.token_hex(16) for _ in range(3))
ALICE_KEY = SigningKey.generate()
CAROL_KEY = SigningKey.generate()
KEYS = {ALICE: ALICE_KEY.verify_key, CAROL: CAROL_KEY.verify_key}


def sealed(
    sender: str = ALICE, key: SigningKey = ALICE_KEY, *, envelope_id: str | None = None,
    ttl: int = 3600, now: int = NOW,
) -> Envelope:
    message = ExpertRequest(
        request_id=secrets.token_hex(16), specialty="legal", languages=("fr",), urgency="routine"
    )
    return seal(message, sender=sender, recipient=BOB, signing_key=key, now=now, ttl=ttl,
                envelope_id=envelope_id)


@pytest.fixture
def conn(tmp_path: Path) -> Iterator[sqlite3.Connection]:
    db = sqlite3.connect(tmp_path / "bob.db", isolation_level=None)
    inbox.ensure_schema(db)
    inbox.ensure_schema(db)  # idempotent
    yield db
    db.close()


def verify(guard: ReplayGuard, env: Envelope, now: int = NOW) -> Envelope:
    return verify_frame(
        env.to_frame(), local_node_id=BOB, now=now, lookup_key=KEYS.get, is_replay=guard
    ).envelope


def test_a_recorded_envelope_is_a_replay_by_id_or_by_nonce(conn: sqlite3.Connection) -> None:
    guard = ReplayGuard(conn)
    first = sealed()
    verify(guard, first)  # not recorded by verification itself
    verify(guard, first)
    guard.record(verify(guard, first))
    with pytest.raises(Replayed):
        verify(guard, first)
    # Re-sealed: same envelope id, new nonce (an outbox resend after expiry).
    with pytest.raises(Replayed):
        verify(guard, sealed(envelope_id=first.envelope_id))
    assert guard(ALICE, "00" * 16, first.nonce)  # same nonce, any id
    # Another sender may use the same ids: what it signs is its own.
    assert not guard(CAROL, first.envelope_id, first.nonce)
    verify(guard, sealed(CAROL, CAROL_KEY, envelope_id=first.envelope_id))


def test_record_in_joins_the_callers_transaction(conn: sqlite3.Connection) -> None:
    guard = ReplayGuard(conn)
    env = sealed()
    conn.execute("CREATE TABLE received (envelope_id TEXT PRIMARY KEY)")
    with pytest.raises(RuntimeError):
        guard.record_in(conn, env)  # outside a transaction
    with pytest.raises(ZeroDivisionError), write_transaction(conn) as tx:
        tx.execute("INSERT INTO received VALUES (?)", (env.envelope_id,))
        guard.record_in(tx, env)
        _ = 1 / 0  # the action fails: neither the action nor the record remains
    assert not guard(ALICE, env.envelope_id, env.nonce)
    assert conn.execute("SELECT count(*) FROM received").fetchone()[0] == 0
    with write_transaction(conn) as tx:
        tx.execute("INSERT INTO received VALUES (?)", (env.envelope_id,))
        guard.record_in(tx, env)
    assert guard(ALICE, env.envelope_id, env.nonce)
    guard.record(env)  # recording twice is harmless


def test_purge_keeps_ids_longer_than_nonces(conn: sqlite3.Connection) -> None:
    guard = ReplayGuard(conn)
    env = sealed(ttl=600)
    guard.record(env)
    skew, lifetime = DEFAULT_POLICY.max_clock_skew, DEFAULT_POLICY.max_lifetime
    assert guard.purge(env.expires + skew - 1) == 0
    assert guard.purge(env.expires + skew) == 1  # the nonce: the envelope is expired anyway
    assert guard(ALICE, env.envelope_id, "ff" * 16)  # the id is still known
    assert guard.purge(env.expires + skew + lifetime - 1) == 0
    assert guard.purge(env.expires + skew + lifetime) == 1
    assert not guard(ALICE, env.envelope_id, env.nonce)


def test_no_payload_is_stored(tmp_path: Path) -> None:
    path = tmp_path / "bob.db"
    db = sqlite3.connect(path, isolation_level=None)
    inbox.ensure_schema(db)
    guard = ReplayGuard(db)
    message = ExpertRequest(
        request_id=secrets.token_hex(16), specialty="legal", languages=("fr",), urgency="urgent"
    )
    env = seal(message, sender=ALICE, recipient=BOB, signing_key=ALICE_KEY, now=NOW)
    guard.record(env)
    columns = {row[1] for row in db.execute("PRAGMA table_info(transport_seen)")}
    assert columns == {"sender", "kind", "value", "keep_until"}
    values = {row[2] for row in db.execute("SELECT * FROM transport_seen")}
    assert values == {env.envelope_id, env.nonce}
    assert message.request_id.encode() not in path.read_bytes()
    db.close()
