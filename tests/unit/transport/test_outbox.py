"""The outbox's bookkeeping on a real SQLite file (written through the one writer,
`runtime.sqlite.Database`), with the clock and the network scripted.

The network side here is a scripted `Requester` (what `Libp2pHost.request` would answer);
tests/integration/test_transport_outbox.py runs the same outbox over real libp2p hosts.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from crypto.keys import SigningKey
from protocol.engagements import ExpertRevocation
from protocol.envelope import Envelope, seal
from protocol.errors import BadSignature
from runtime.sqlite import Database
from transport import store
from transport.errors import BadPeerAddress, DialFailed, StreamFailed, Undeliverable
from transport.identity import peer_id_from_public_key
from transport.outbox import BackoffPolicy, Outbox
from transport.queue import OutboxQueue
from transport.store import OutboxEntry

NOW = 1_800_000_000.0
PROTO = "/backup/federation/1"
CANARY = "CANARYPAYLOAD"
SENDER = secrets.token_hex(16)
RECIPIENT = secrets.token_hex(16)
KEY = SigningKey.generate()
PEER = peer_id_from_public_key(SigningKey.generate().verify_key.raw())
ADDRS = ("/ip4/127.0.0.1/tcp/4001",)


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> float:
        return self.now


class ScriptedPeer:
    """Answers each request with the next scripted outcome (bytes, or an error to raise)."""

    def __init__(self, *outcomes: bytes | Exception) -> None:
        self.outcomes = list(outcomes)
        self.calls: list[tuple[str, tuple[str, ...], str, bytes, float]] = []

    async def request(
        self, peer_id: str, addrs: Sequence[str], protocol_id: str, frame: bytes, timeout: float
    ) -> bytes:
        self.calls.append((peer_id, tuple(addrs), protocol_id, frame, timeout))
        outcome = self.outcomes.pop(0)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome


def envelope(ttl: int = 3600, envelope_id: str | None = None) -> Envelope:
    message = ExpertRevocation(subject="need", subject_id=secrets.token_hex(16),
                               reason="coordinator", revoked_at=0)
    return seal(
        message, sender=SENDER, recipient=RECIPIENT, signing_key=KEY, now=int(NOW), ttl=ttl,
        envelope_id=envelope_id,
    )


def open_db(path: Path) -> Database:
    return Database(path, store.ensure_schema)


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = open_db(tmp_path / "node.db")
    with database.write() as conn:
        store.ensure_schema(conn)  # idempotent
    yield database
    database.close()


def make(db: Database, peer: ScriptedPeer, clock: Clock, **kwargs: object) -> Outbox:
    return Outbox(OutboxQueue(db), peer, clock=clock, rand=lambda: 0.5,  # type: ignore[arg-type]
                  **kwargs)


def enqueue(box: Outbox, env: Envelope) -> bool:
    return box.enqueue(env, peer_id=PEER, addrs=ADDRS, protocol_id=PROTO)


def test_backoff_grows_to_its_cap_with_equal_jitter() -> None:
    policy = BackoffPolicy()
    assert policy.delay(0, 0.0) == 0.0
    assert [policy.delay(n, 0.0) for n in (1, 2, 3, 4)] == [0.5, 1.0, 2.0, 4.0]
    assert [policy.delay(n, 0.999999) for n in (1, 2)] == pytest.approx([1.0, 2.0])
    assert policy.delay(9, 0.0) == 128.0 and policy.delay(10, 0.0) == 150.0  # 256 s, then 300
    assert policy.delay(100_000, 0.999999) == pytest.approx(300.0)  # no overflow, capped
    for bad in ({"initial": 0}, {"initial": 10, "maximum": 5}, {"multiplier": 0.5}):
        with pytest.raises(ValueError):
            BackoffPolicy(**bad)  # type: ignore[arg-type]


async def test_enqueue_is_idempotent_by_envelope_id(db: Database) -> None:
    box = make(db, ScriptedPeer(), Clock())
    env = envelope()
    assert enqueue(box, env)
    assert not enqueue(box, env)
    # A re-sealed copy (same id, new nonce) of a pending item is not queued twice either.
    assert not enqueue(box, envelope(envelope_id=env.envelope_id))
    [entry] = box.list_pending()
    assert entry == OutboxEntry(
        envelope_id=env.envelope_id, recipient_node_id=RECIPIENT,
        message_type="expert.revocation v1", peer_id=PEER, addrs=ADDRS, protocol_id=PROTO,
        status="pending", attempts=0, enqueued_at=NOW, next_attempt_at=NOW,
        last_attempt_at=None, last_error=None, expires_at=env.expires, finished_at=None,
    )


async def test_enqueue_checks_the_address(db: Database) -> None:
    box = make(db, ScriptedPeer(), Clock())
    with pytest.raises(BadPeerAddress):
        box.enqueue(envelope(), peer_id="abc", addrs=ADDRS, protocol_id=PROTO)
    with pytest.raises(BadPeerAddress):
        box.enqueue(envelope(), peer_id=PEER, addrs=["/dns4/x.org/tcp/1"], protocol_id=PROTO)
    with pytest.raises(ValueError):
        box.enqueue(envelope(), peer_id=PEER, addrs=ADDRS, protocol_id="federation")
    assert box.list_pending() == []


async def test_failures_back_off_and_say_why_then_delivery(db: Database) -> None:
    clock = Clock()
    answer = b"\x00\x00\x00\x02ok"
    peer = ScriptedPeer(DialFailed("x"), StreamFailed("y"), answer)
    responses: list[tuple[str, bytes, bytes]] = []

    async def on_response(entry: OutboxEntry, request: bytes, response: bytes) -> None:
        responses.append((entry.envelope_id, request, response))

    box = make(db, peer, clock, on_response=on_response, request_timeout=7)
    env = envelope()
    enqueue(box, env)

    assert await box.deliver_due() == 1
    [entry] = box.list_pending()
    assert (entry.attempts, entry.last_error, entry.last_attempt_at) == (1, "dial_failed", NOW)
    assert entry.next_attempt_at == NOW + 0.75  # 1 s, equal jitter at rand = 0.5
    assert await box.deliver_due() == 0  # not due yet

    clock.now += 0.75
    assert await box.deliver_due() == 1
    [entry] = box.list_pending()
    assert (entry.attempts, entry.last_error) == (2, "stream_failed")
    assert entry.next_attempt_at == clock.now + 1.5

    clock.now += 1.5
    assert await box.deliver_due() == 1
    assert box.list_pending() == []
    done = box.entry(env.envelope_id)
    assert done is not None
    assert (done.status, done.attempts, done.last_error, done.finished_at) == (
        "delivered", 3, None, clock.now
    )
    assert responses == [(env.envelope_id, env.to_frame(), answer)]
    assert [call[:3] for call in peer.calls] == [(PEER, ADDRS, PROTO)] * 3
    assert all(call[3] == env.to_frame() and call[4] == 7 for call in peer.calls)
    assert db.read().execute("SELECT frame FROM transport_outbox").fetchone()[0] is None


async def test_a_rejected_response_is_a_failed_attempt_with_its_reason(
    db: Database,
) -> None:
    clock = Clock()
    verdicts: list[Exception | None] = [BadSignature("forged"), RuntimeError("?"), None]

    async def on_response(entry: OutboxEntry, request: bytes, response: bytes) -> None:
        verdict = verdicts.pop(0)
        if verdict is not None:
            raise verdict

    box = make(db, ScriptedPeer(b"a", b"b", b"c"), clock, on_response=on_response)
    env = envelope()
    enqueue(box, env)
    await box.deliver_due()
    assert box.list_pending()[0].last_error == "bad_signature"  # the protocol's reason code
    clock.now += 10
    await box.deliver_due()
    assert box.list_pending()[0].last_error == "response_rejected"  # never the message text
    clock.now += 10
    await box.deliver_due()
    entry = box.entry(env.envelope_id)
    assert entry is not None and entry.status == "delivered"


async def test_undeliverable_and_expired_items_stop_and_can_be_requeued(
    db: Database,
) -> None:
    clock = Clock()

    async def refuse(entry: OutboxEntry, request: bytes, response: bytes) -> None:
        raise Undeliverable("not_a_member")

    peer = ScriptedPeer(b"ack", DialFailed("x"), b"ack")
    box = make(db, peer, clock, on_response=refuse)
    refused, short = envelope(), envelope(ttl=60)
    enqueue(box, refused)
    await box.deliver_due()
    enqueue(box, short)
    await box.deliver_due()  # dial fails
    clock.now += 61
    await box.deliver_due()  # past its expiry: not sent again
    assert len(peer.calls) == 2
    failed = {e.envelope_id: e for e in box.list_failed()}
    assert failed[refused.envelope_id].last_error == "not_a_member"
    assert failed[short.envelope_id].last_error == "expired"
    assert box.list_pending() == []
    kept = db.read().execute(
        "SELECT count(*) FROM transport_outbox WHERE frame IS NOT NULL").fetchone()
    assert kept[0] == 0

    # The sender re-seals the expired one (same id, new lifetime): queued anew.
    resealed = seal(
        ExpertRevocation(subject="need", subject_id="ab" * 16, reason="coordinator", revoked_at=0),
        sender=SENDER, recipient=RECIPIENT, signing_key=KEY, now=int(clock.now), ttl=3600,
        envelope_id=short.envelope_id,
    )
    assert enqueue(box, resealed)
    [entry] = box.list_pending()
    assert (entry.envelope_id, entry.attempts, entry.last_error) == (short.envelope_id, 0, None)
    assert entry.expires_at == resealed.expires


async def test_the_queue_survives_reopening_the_file(tmp_path: Path) -> None:
    clock = Clock()
    path = tmp_path / "node.db"
    first = open_db(path)
    env = envelope()
    box = make(first, ScriptedPeer(DialFailed("x")), clock)
    enqueue(box, env)
    await box.deliver_due()
    first.close()

    again = open_db(path)
    peer = ScriptedPeer(b"ack")
    box = make(again, peer, clock)
    [entry] = box.list_pending()
    assert (entry.attempts, entry.last_error) == (1, "dial_failed")
    assert box.retry_now() == 1
    await box.deliver_due()
    assert box.list_pending() == [] and peer.calls[0][3] == env.to_frame()
    assert box.purge_finished(before=clock.now + 1) == 1
    assert box.entry(env.envelope_id) is None
    again.close()


async def test_nothing_but_the_frame_holds_the_payload(tmp_path: Path) -> None:
    """The payload lives only in the frame (erased once delivered), never in metadata."""
    clock = Clock()
    conn = open_db(tmp_path / "node.db")

    async def refuse(entry: OutboxEntry, request: bytes, response: bytes) -> None:
        raise ValueError(CANARY)  # even an error text that holds payload is not stored

    box = make(conn, ScriptedPeer(b"x", b"y"), clock, on_response=refuse)
    message = ExpertRevocation(subject="need", subject_id=secrets.token_hex(16),
                               reason="coordinator", revoked_at=0)
    env = seal(message, sender=SENDER, recipient=RECIPIENT, signing_key=KEY, now=int(NOW))
    enqueue(box, env)
    await box.deliver_due()
    for row in conn.read().execute("SELECT * FROM transport_outbox"):
        assert not any(CANARY in str(value) for value in row if not isinstance(value, bytes))
    [entry] = box.list_pending()
    assert entry.last_error == "response_rejected"
    conn.close()


async def test_run_delivers_as_items_become_due_and_stops_on_cancel(
    db: Database,
) -> None:
    delivered = asyncio.Event()

    async def on_response(entry: OutboxEntry, request: bytes, response: bytes) -> None:
        delivered.set()

    peer = ScriptedPeer(b"ok")
    box = Outbox(OutboxQueue(db), peer, on_response=on_response, max_in_flight=2)
    task = asyncio.create_task(box.run())
    await asyncio.sleep(0.05)  # idle: nothing queued, nothing sent
    assert peer.calls == []
    # queued from a worker thread, as the node's periodic work does: it wakes the loop
    await asyncio.to_thread(box.enqueue, envelope(), peer_id=PEER, addrs=ADDRS,
                            protocol_id=PROTO)
    await asyncio.wait_for(delivered.wait(), 5)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert box.list_pending() == []


async def test_in_flight_items_are_not_sent_twice(db: Database) -> None:
    gate = asyncio.Event()
    calls = 0

    class SlowPeer:
        async def request(self, peer_id: str, addrs: Sequence[str], protocol_id: str,
                          frame: bytes, timeout: float) -> bytes:
            nonlocal calls
            calls += 1
            await gate.wait()
            return b"ok"

    box = Outbox(OutboxQueue(db), SlowPeer(), max_in_flight=4)
    for _ in range(6):
        box.enqueue(envelope(), peer_id=PEER, addrs=ADDRS, protocol_id=PROTO)
    task = asyncio.create_task(box.run())
    await asyncio.sleep(0.1)
    assert calls == 4  # bounded by max_in_flight, none twice
    gate.set()
    for _ in range(100):
        if not box.list_pending():
            break
        await asyncio.sleep(0.02)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    assert calls == 6 and box.list_pending() == []


def test_undeliverable_codes_are_checked() -> None:
    assert Undeliverable("not_a_member").code == "not_a_member"
    with pytest.raises(ValueError):
        Undeliverable("Not a member!")
