"""The persisted replay guard, with `protocol.envelope.verify_frame` as its user, written
through the one writer (`runtime.sqlite.Database`)."""

from __future__ import annotations

import secrets
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from crypto.keys import SigningKey
from protocol.engagements import ExpertRevocation
from protocol.envelope import DEFAULT_POLICY, Envelope, seal, verify_frame
from protocol.errors import Replayed
from runtime.sqlite import Database
from transport import inbox
from transport.inbox import ReplayGuard

NOW = 1_800_000_000
ALICE, BOB, CAROL = (secrets.token_hex(16) for _ in range(3))
ALICE_KEY = SigningKey.generate()
CAROL_KEY = SigningKey.generate()
KEYS = {ALICE: ALICE_KEY.verify_key, CAROL: CAROL_KEY.verify_key}


def sealed(
    sender: str = ALICE, key: SigningKey = ALICE_KEY, *, envelope_id: str | None = None,
    ttl: int = 3600, now: int = NOW,
) -> Envelope:
    message = ExpertRevocation(subject="need", subject_id=secrets.token_hex(16),
                               reason="coordinator", revoked_at=0)
    return seal(message, sender=sender, recipient=BOB, signing_key=key, now=now, ttl=ttl,
                envelope_id=envelope_id)


def open_db(path: Path) -> Database:
    def migrate(conn):  # type: ignore[no-untyped-def]
        inbox.ensure_schema(conn)
        conn.execute("CREATE TABLE IF NOT EXISTS received (envelope_id TEXT PRIMARY KEY)")

    return Database(path, migrate)


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = open_db(tmp_path / "bob.db")
    with database.write() as conn:
        inbox.ensure_schema(conn)  # idempotent
    yield database
    database.close()


def record(guard: ReplayGuard, env: Envelope) -> None:
    assert guard.once(env, lambda conn: "acted") == "acted"


def verify(guard: ReplayGuard, env: Envelope, now: int = NOW) -> Envelope:
    return verify_frame(
        env.to_frame(), local_node_id=BOB, now=now, lookup_key=KEYS.get, is_replay=guard
    ).envelope


def test_a_recorded_envelope_is_a_replay_by_id_or_by_nonce(db: Database) -> None:
    guard = ReplayGuard(db)
    first = sealed()
    verify(guard, first)  # not recorded by verification itself
    verify(guard, first)
    record(guard, verify(guard, first))
    with pytest.raises(Replayed):
        verify(guard, first)
    # Re-sealed: same envelope id, new nonce (an outbox resend after expiry).
    with pytest.raises(Replayed):
        verify(guard, sealed(envelope_id=first.envelope_id))
    assert guard(ALICE, "00" * 16, first.nonce)  # same nonce, any id
    # Another sender may use the same ids: what it signs is its own.
    assert not guard(CAROL, first.envelope_id, first.nonce)
    verify(guard, sealed(CAROL, CAROL_KEY, envelope_id=first.envelope_id))


def test_once_acts_and_records_in_one_transaction(db: Database) -> None:
    guard = ReplayGuard(db)
    env = sealed()

    def act(conn):  # type: ignore[no-untyped-def]
        conn.execute("INSERT INTO received VALUES (?)", (env.envelope_id,))
        return "stored"

    def failing(conn):  # type: ignore[no-untyped-def]
        act(conn)
        raise ZeroDivisionError  # the action fails: neither the action nor the record remains

    with pytest.raises(ZeroDivisionError):
        guard.once(env, failing)
    assert not guard(ALICE, env.envelope_id, env.nonce)
    assert db.read().execute("SELECT count(*) FROM received").fetchone()[0] == 0
    assert guard.once(env, act) == "stored"
    assert guard(ALICE, env.envelope_id, env.nonce)
    # A second copy (a resend that passed the check before the first was recorded) is not
    # acted on: `once` checks again inside its transaction.
    assert guard.once(env, act) is None
    assert guard.once(sealed(envelope_id=env.envelope_id), act) is None
    assert db.read().execute("SELECT count(*) FROM received").fetchone()[0] == 1


def test_concurrent_copies_are_acted_on_once(db: Database) -> None:
    guard = ReplayGuard(db)
    env = sealed()
    results: list[object] = []
    start = threading.Barrier(4)

    def deliver() -> None:
        start.wait()
        results.append(guard.once(env, lambda conn: conn.execute(
            "INSERT INTO received VALUES (?)", (env.envelope_id,)) and "stored"))

    threads = [threading.Thread(target=deliver) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results, key=str) == [None, None, None, "stored"]


def test_purge_keeps_ids_longer_than_nonces(db: Database) -> None:
    guard = ReplayGuard(db)
    env = sealed(ttl=600)
    record(guard, env)
    skew, lifetime = DEFAULT_POLICY.max_clock_skew, DEFAULT_POLICY.max_lifetime
    assert guard.purge(env.expires + skew - 1) == 0
    assert guard.purge(env.expires + skew) == 1  # the nonce: the envelope is expired anyway
    assert guard(ALICE, env.envelope_id, "ff" * 16)  # the id is still known
    assert guard.purge(env.expires + skew + lifetime - 1) == 0
    assert guard.purge(env.expires + skew + lifetime) == 1
    assert not guard(ALICE, env.envelope_id, env.nonce)


def test_no_payload_is_stored(tmp_path: Path) -> None:
    path = tmp_path / "bob.db"
    db = open_db(path)
    guard = ReplayGuard(db)
    message = ExpertRevocation(subject="need", subject_id=secrets.token_hex(16),
                               reason="coordinator", revoked_at=0)
    env = seal(message, sender=ALICE, recipient=BOB, signing_key=ALICE_KEY, now=NOW)
    record(guard, env)
    columns = {row[1] for row in db.read().execute("PRAGMA table_info(transport_seen)")}
    assert columns == {"sender", "kind", "value", "keep_until"}
    values = {row[2] for row in db.read().execute("SELECT * FROM transport_seen")}
    assert values == {env.envelope_id, env.nonce}
    files = [f for f in path.parent.iterdir() if f.name.startswith(path.name)]  # db, -wal
    assert env.nonce.encode() in b"".join(f.read_bytes() for f in files)  # the search works
    assert all(message.subject_id.encode() not in f.read_bytes() for f in files)
    db.close()
