"""The outbox over real libp2p hosts and real SQLite files: a peer that is down, comes up,
and a sender that restarts mid-exchange; every message acted on exactly once.

Both ends use the one path node and observatory use: the sender seals with
`protocol.exchanges.ClientExchange` and checks each answer with an exchange resumed from the
stored request; the receiver is a `protocol.responder.Responder` whose replay guard
(`transport.inbox`) recognises a resend, and which writes the message and its replay record
in one transaction, through the receiver's one writer.
"""

from __future__ import annotations

import asyncio
import secrets
import socket
import sqlite3
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

from crypto.keys import SigningKey, VerifyKey
from protocol.delivery import DeliveryAck
from protocol.engagements import ExpertRevocation
from protocol.envelope import Envelope
from protocol.exchanges import (
    ClientExchange,
    DuplicateReceived,
    Endpoint,
    RequestReceived,
    ResponseReceived,
)
from protocol.message import Message
from protocol.responder import Refuse, Responder
from runtime.sqlite import Database
from transport import store
from transport.errors import Undeliverable
from transport.host import HostConfig, Libp2pHost
from transport.identity import peer_id_from_public_key
from transport.inbox import ReplayGuard
from transport.outbox import BackoffPolicy, Outbox
from transport.queue import OutboxQueue
from transport.store import OutboxEntry

PROTO = "/backup/federation/1"
FAST = BackoffPolicy(initial=0.2, maximum=0.8)


def open_db(path: Path) -> Database:
    def migrate(conn: sqlite3.Connection) -> None:
        store.ensure_schema(conn)
        conn.execute("CREATE TABLE IF NOT EXISTS received (envelope_id TEXT PRIMARY KEY)")

    return Database(path, migrate)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def eventually(check: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "condition not reached in time"
        await asyncio.sleep(0.02)


@dataclass
class Node:
    name: str
    node_id: str = field(default_factory=lambda: secrets.token_hex(16))
    key: SigningKey = field(default_factory=SigningKey.generate)

    @property
    def peer_id(self) -> str:
        return peer_id_from_public_key(self.key.verify_key.raw())


class Receiver:
    """Bob's federation endpoint: the shared responder, acting once (storing the envelope id)."""

    def __init__(self, me: Node, keys: dict[str, VerifyKey], db: Path) -> None:
        self.db = open_db(db)
        guard = ReplayGuard(self.db)
        self.responder: Responder[sqlite3.Connection] = Responder(
            Endpoint(me.node_id, me.key, lookup_key=keys.get, is_replay=guard),
            once=guard.once, peer_id_of=lambda key: peer_id_from_public_key(key.raw()),
            clock=lambda: int(time.time()))
        self.responder.serve(ExpertRevocation, self._act, again=self._again)
        self.answers: list[str] = []
        self.remotes: list[str] = []
        self.hold_first_answer: asyncio.Event | None = None
        self.stored = asyncio.Event()
        self.refuse_with: str | None = None

    def received(self) -> int:
        return int(self.db.read().execute("SELECT count(*) FROM received").fetchone()[0])

    def _act(self, request: RequestReceived, conn: sqlite3.Connection) -> Message:
        if self.refuse_with is not None:
            self.answers.append("rejected")
            raise Refuse(self.refuse_with)
        conn.execute("INSERT INTO received VALUES (?)", (request.envelope.envelope_id,))
        self.answers.append("accepted")
        return DeliveryAck.accept(request.envelope.envelope_id)

    def _again(self, duplicate: DuplicateReceived) -> Message:
        self.answers.append("duplicate")
        return DeliveryAck.duplicate(duplicate.envelope.envelope_id)

    async def handle(self, frame: bytes, remote: str) -> bytes:
        self.remotes.append(remote)
        answer = await asyncio.to_thread(self.responder.answer, frame, remote)
        if self.received():
            self.stored.set()
            if self.hold_first_answer is not None:
                hold, self.hold_first_answer = self.hold_first_answer, None
                await hold.wait()  # the answer is held until the sender has gone
        return answer


class Sender:
    """Alice's side: outbox on her SQLite file, acks believed through the client exchange
    resumed from the stored request before "delivered"."""

    def __init__(self, me: Node, keys: dict[str, VerifyKey], db: Path) -> None:
        self.me = me
        self.db = open_db(db)
        self.endpoint = Endpoint(me.node_id, me.key, lookup_key=keys.get,
                                 is_replay=lambda *_: False)
        self.host = Libp2pHost(me.key)
        self.acks: list[str] = []
        self.outbox = Outbox(
            OutboxQueue(self.db), self.host, on_response=self.on_response, backoff=FAST,
            request_timeout=5,
        )
        self._task: asyncio.Task[None] | None = None

    def request(self, message: Message, to: Node) -> Envelope:
        exchange = ClientExchange(self.endpoint, peer_node_id=to.node_id)
        exchange.send_request(message, now=int(time.time()))
        assert exchange.request is not None
        return exchange.request

    async def on_response(self, entry: OutboxEntry, request: bytes, response: bytes) -> None:
        exchange = ClientExchange.resume(self.endpoint, request)
        exchange.receive_data(response)
        event = exchange.next_event(now=int(time.time()))
        assert isinstance(event, ResponseReceived)
        ack = event.message
        assert isinstance(ack, DeliveryAck) and ack.envelope_id == entry.envelope_id
        self.acks.append(ack.status)
        if ack.status == "rejected":
            assert ack.reason is not None
            raise Undeliverable(ack.reason)

    async def start(self) -> None:
        await self.host.start()
        self._task = asyncio.create_task(self.outbox.run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        await self.host.stop()
        self.db.close()


@asynccontextmanager
async def bob_online(bob: Node, receiver: Receiver, port: int) -> AsyncIterator[Libp2pHost]:
    host = Libp2pHost(bob.key, HostConfig(listen_port=port))
    host.set_handler(PROTO, receiver.handle)
    await host.start()
    try:
        yield host
    finally:
        await host.stop()


def a_request(sender: Sender, bob: Node) -> Envelope:
    message = ExpertRevocation(subject="need", subject_id=secrets.token_hex(16),
                               reason="coordinator", revoked_at=0)
    return sender.request(message, bob)


def stored_frames(db: Path) -> list[bytes | None]:
    with sqlite3.connect(db) as conn:
        return [row[0] for row in conn.execute("SELECT frame FROM transport_outbox")]


async def test_a_message_to_a_peer_that_is_down_is_delivered_once_it_is_up(
    tmp_path: Path,
) -> None:
    alice, bob = Node("alice"), Node("bob")
    keys = {alice.node_id: alice.key.verify_key, bob.node_id: bob.key.verify_key}
    port = free_port()
    bob_addrs = [f"/ip4/127.0.0.1/tcp/{port}"]
    receiver = Receiver(bob, keys, tmp_path / "bob.db")
    sender = Sender(alice, keys, tmp_path / "alice.db")
    await sender.start()
    try:
        envelope = a_request(sender, bob)
        to_bob = {"peer_id": bob.peer_id, "addrs": bob_addrs, "protocol_id": PROTO}
        assert sender.outbox.enqueue(envelope, **to_bob)
        assert not sender.outbox.enqueue(envelope, **to_bob)

        # Bob is down: the item stays queued, says why, and backs off.
        def attempts() -> int:
            entry = sender.outbox.entry(envelope.envelope_id)
            assert entry is not None
            return entry.attempts

        await eventually(lambda: attempts() >= 3)
        [pending] = sender.outbox.list_pending()
        assert pending.envelope_id == envelope.envelope_id
        assert pending.recipient_node_id == bob.node_id
        assert pending.message_type == "expert.revocation v1"
        assert pending.last_error == "dial_failed"
        assert pending.last_attempt_at is not None
        assert pending.next_attempt_at > pending.last_attempt_at
        assert receiver.received() == 0

        # Bob comes up with the same key on the same port: delivered, once.
        async with bob_online(bob, receiver, port):
            await eventually(lambda: not sender.outbox.list_pending())
            entry = sender.outbox.entry(envelope.envelope_id)
            assert entry is not None and entry.status == "delivered" and entry.last_error is None
            assert receiver.received() == 1
            assert receiver.answers == ["accepted"] and sender.acks == ["accepted"]
            assert receiver.remotes == [alice.peer_id]  # Noise told bob who is speaking
            # Queueing it again is a no-op: nothing is sent twice.
            assert not sender.outbox.enqueue(
                envelope, peer_id=bob.peer_id, addrs=bob_addrs, protocol_id=PROTO
            )
            await asyncio.sleep(0.3)
            assert receiver.answers == ["accepted"]
        assert stored_frames(tmp_path / "alice.db") == [None]  # the frame is erased
    finally:
        await sender.stop()
        receiver.db.close()


async def test_a_sender_restarting_mid_exchange_still_delivers_exactly_once(
    tmp_path: Path,
) -> None:
    alice, bob = Node("alice"), Node("bob")
    keys = {alice.node_id: alice.key.verify_key, bob.node_id: bob.key.verify_key}
    port = free_port()
    bob_addrs = [f"/ip4/127.0.0.1/tcp/{port}"]
    receiver = Receiver(bob, keys, tmp_path / "bob.db")
    release = asyncio.Event()
    receiver.hold_first_answer = release
    async with bob_online(bob, receiver, port):
        sender = Sender(alice, keys, tmp_path / "alice.db")
        await sender.start()
        envelope = a_request(sender, bob)
        try:
            sender.outbox.enqueue(envelope, peer_id=bob.peer_id, addrs=bob_addrs, protocol_id=PROTO)
            # Bob has acted on it, but alice goes down before his answer reaches her.
            await asyncio.wait_for(receiver.stored.wait(), 10)
        finally:
            await sender.stop()
        release.set()
        assert receiver.received() == 1

        # Alice comes back: same key, same database file, reopened.
        sender = Sender(alice, keys, tmp_path / "alice.db")
        [pending] = sender.outbox.list_pending()
        assert pending.envelope_id == envelope.envelope_id
        await sender.start()
        try:
            sender.outbox.retry_now()
            await eventually(lambda: not sender.outbox.list_pending())
            entry = sender.outbox.entry(envelope.envelope_id)
            assert entry is not None and entry.status == "delivered"
        finally:
            await sender.stop()
    assert receiver.received() == 1  # acted on once
    assert receiver.answers == ["accepted", "duplicate"]  # the resend was recognised
    assert sender.acks == ["duplicate"]  # and counted as delivered
    receiver.db.close()


async def test_a_message_refused_for_good_stops_being_retried(tmp_path: Path) -> None:
    alice, bob = Node("alice"), Node("bob")
    keys = {alice.node_id: alice.key.verify_key, bob.node_id: bob.key.verify_key}
    port = free_port()
    receiver = Receiver(bob, keys, tmp_path / "bob.db")
    receiver.refuse_with = "not_a_member"
    async with bob_online(bob, receiver, port):
        sender = Sender(alice, keys, tmp_path / "alice.db")
        await sender.start()
        try:
            envelope = a_request(sender, bob)
            sender.outbox.enqueue(
                envelope, peer_id=bob.peer_id, addrs=[f"/ip4/127.0.0.1/tcp/{port}"],
                protocol_id=PROTO,
            )
            await eventually(lambda: bool(sender.outbox.list_failed()))
            [failed] = sender.outbox.list_failed()
            assert failed.last_error == "not_a_member" and failed.attempts == 1
            assert not sender.outbox.list_pending()
            await asyncio.sleep(0.3)
            assert receiver.answers == ["rejected"]
        finally:
            await sender.stop()
    receiver.db.close()


async def test_a_wrong_peer_id_in_the_outbox_is_never_delivered(tmp_path: Path) -> None:
    """Noise authenticates the receiver: bob's address under carol's peer id fails."""
    alice, bob, carol = Node("alice"), Node("bob"), Node("carol")
    keys = {alice.node_id: alice.key.verify_key, bob.node_id: bob.key.verify_key}
    port = free_port()
    receiver = Receiver(bob, keys, tmp_path / "bob.db")
    async with bob_online(bob, receiver, port):
        sender = Sender(alice, keys, tmp_path / "alice.db")
        await sender.start()
        try:
            envelope = a_request(sender, bob)
            sender.outbox.enqueue(
                envelope, peer_id=carol.peer_id, addrs=[f"/ip4/127.0.0.1/tcp/{port}"],
                protocol_id=PROTO,
            )
            await eventually(lambda: (sender.outbox.list_pending() or [None])[0] is not None
                             and sender.outbox.list_pending()[0].attempts >= 2)
            assert sender.outbox.list_pending()[0].last_error == "dial_failed"
            assert receiver.received() == 0
        finally:
            await sender.stop()
    receiver.db.close()

