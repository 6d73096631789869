"""A malicious or broken peer against a real node's federation endpoint (issue 5: forged
signature, replay, wrong recipient, expired message, forked checkpoint — each rejected with
a signed refusal, nothing stored, the fork alarm raised), over real libp2p hosts on
127.0.0.1.

The hostile peer is driven by hand: it seals its own envelopes (`protocol.envelope.seal`),
tampers with them, and sends the frames with its own `transport.host.Libp2pHost`.
"""

from __future__ import annotations

import secrets
import sqlite3
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from crypto import merkle
from crypto.checkpoint import Checkpoint, NoteSigner, decode_vkey, open_checkpoint, sign_checkpoint
from crypto.keys import SigningKey
from node.federation import store
from node.federation.info import witness_vkey
from node.web.app import create_app
from protocol.delivery import DeliveryAck, FrameRefusal, frame_digest
from protocol.encoding import canonical_json, parse_canonical_json
from protocol.envelope import Envelope, seal, verify_frame
from protocol.framing import decode_frame, encode_frame
from protocol.message import Message
from protocol.versions import FEDERATION_PROTOCOL as PROTOCOL_ID
from protocol.witness import CheckpointPush, CosignatureResponse
from protocol.witnessing import Witnessed, cosigned_note, evidence_origin
from tests.conftest import ADMIN, ADMIN_PASSPHRASE, make_node
from tests.integration.conftest import csrf_of
from tests.integration.test_federation_double import ObservatoryDouble, listen_port
from tests.integration.test_federation_peers import FedNode, eventually, submit
from transport.host import HostConfig, Libp2pHost


@dataclass
class Peer:
    """A member (or not) that talks to the node by hand."""

    key: SigningKey = field(default_factory=SigningKey.generate)
    node_id: str = field(default_factory=lambda: secrets.token_hex(16))
    tree: merkle.MemoryTree = field(default_factory=merkle.MemoryTree)
    host: Libp2pHost | None = None

    @property
    def origin(self) -> str:
        return evidence_origin(self.node_id)

    def note(self, size: int, tree: merkle.MemoryTree | None = None) -> str:
        root = merkle.root_hash(tree or self.tree, size)
        return sign_checkpoint(Checkpoint(self.origin, size, root),
                               NoteSigner(self.origin, self.key)).encode().decode()

    def push(self, size: int, old_size: int | None, tree: merkle.MemoryTree | None = None,
             proof: list[bytes] | None = None) -> CheckpointPush:
        tree = tree or self.tree
        if proof is None and old_size and old_size < size:
            proof = merkle.consistency_proof(tree, old_size, size)
        return CheckpointPush(checkpoint=self.note(size, tree), old_size=old_size,
                              consistency_proof=tuple(h.hex() for h in proof or ()))

    def seal(self, message: Message, to: str, *, now: int | None = None, ttl: int = 600,
             key: SigningKey | None = None) -> Envelope:
        return seal(message, sender=self.node_id, recipient=to, signing_key=key or self.key,
                    now=int(time.time()) if now is None else now, ttl=ttl)

    async def send(self, node: FedNode, frame: bytes) -> bytes:
        assert self.host is not None and node.service is not None
        return await self.host.request(node.service.peer_id, [node.addr], PROTOCOL_ID, frame, 10)

    def read(self, node: FedNode, answer: bytes) -> Message:
        verified = verify_frame(
            answer, local_node_id=self.node_id, now=int(time.time()),
            lookup_key=lambda n: node.ctx.keys.identity_public if n == node.node_id else None,
            is_replay=lambda *_: False, accept_unaddressed=True)
        return verified.message


def _tamper(envelope: Envelope, **changes: Any) -> bytes:
    obj = parse_canonical_json(decode_frame(envelope.to_frame()))
    obj.update(changes)
    return encode_frame(canonical_json(obj))


def _state(conn: sqlite3.Connection) -> tuple[Any, ...]:
    return tuple(conn.execute(f"SELECT * FROM {table} ORDER BY 1").fetchall() for table in
                 ("transport_seen", "federation_witnessed", "federation_alarms"))


@pytest.fixture
async def scene(tmp_path: Path) -> AsyncIterator[tuple[ObservatoryDouble, FedNode, Peer, Peer]]:
    from crypto import passphrase as pw
    from node.context import open_node

    observatory = ObservatoryDouble()
    await observatory.start()
    member, outsider = Peer(), Peer()
    observatory.add_member(member.node_id, member.key)
    ctx = open_node(make_node(tmp_path / "a"), staff_params=pw.INSECURE_FAST_FOR_TESTS,
                    receipt_params=pw.INSECURE_FAST_FOR_TESTS)
    node = FedNode(ctx, listen_port())
    hosts = []
    try:
        await node.start(observatory, [])
        for peer in (member, outsider):
            peer.host = Libp2pHost(peer.key, HostConfig())
            await peer.host.start()
            hosts.append(peer.host)
        await eventually(lambda: _lists(node, member.node_id), "the node knows the member")
        yield observatory, node, member, outsider
    finally:
        for host in hosts:
            await host.stop()
        await node.stop()
        ctx.close()
        await observatory.stop()


def _lists(node: FedNode, node_id: str) -> bool:
    assert node.config is not None
    listed = store.membership_list(node.conn(), node.config.observatory_node_id)
    return listed is not None and listed.signed.body.member(node_id) is not None


def _rejected(message: Message, reason: str) -> None:
    assert isinstance(message, DeliveryAck), message
    assert message.status == "rejected" and message.reason == reason, message


async def test_hostile_frames_are_refused_and_nothing_is_stored(
        scene: tuple[ObservatoryDouble, FedNode, Peer, Peer]) -> None:
    _, node, member, outsider = scene
    conn = node.conn()
    for i in range(4):
        member.tree.append(f"leaf {i}".encode())

    # A valid push from a member is cosigned; the cosignature verifies with the witness key.
    first = member.seal(member.push(2, None), node.node_id)
    answer = member.read(node, await member.send(node, first.to_frame()))
    assert isinstance(answer, CosignatureResponse) and answer.outcome == "cosigned", answer
    verifier = decode_vkey(witness_vkey(node.ctx.keys))
    note = cosigned_note(member.note(2), answer.cosignature or "")
    _, opened = open_checkpoint(note.encode(), NoteSigner(member.origin, member.key).verifier,
                                [verifier])
    assert opened.is_signed_by(verifier)
    before = _state(conn)
    assert len(before[0]) == 2 and len(before[1]) == 1  # one envelope (id, nonce), one log

    # Not a member: refused, whatever it sends.
    push = outsider.push(1, None, merkle.MemoryTree([b"x"]))
    unknown = outsider.read(node, await outsider.send(
        node, outsider.seal(push, node.node_id).to_frame()))
    _rejected(unknown, "not_authenticated")
    # Forged: a member's envelope with its signature changed, or signed by another key. To
    # the peer this looks exactly like an unknown sender: it learns nothing about who is a
    # member.
    valid = member.seal(member.push(3, 2), node.node_id)
    bad_sig = ("00" if valid.signature[:2] != "00" else "11") + valid.signature[2:]
    tampered = member.read(node, await member.send(node, _tamper(valid, signature=bad_sig)))
    _rejected(tampered, "not_authenticated")
    assert tampered.model_copy(update={"envelope_id": "00" * 16}) == unknown.model_copy(
        update={"envelope_id": "00" * 16})
    forged = member.seal(member.push(3, 2), node.node_id, key=outsider.key)
    _rejected(member.read(node, await member.send(node, forged.to_frame())), "not_authenticated")
    # Addressed to another node, expired, or over another peer's connection.
    _rejected(member.read(node, await member.send(
        node, member.seal(member.push(3, 2), secrets.token_hex(16)).to_frame())),
        "wrong_recipient")
    stale = member.seal(member.push(3, 2), node.node_id, now=int(time.time()) - 7200, ttl=3600)
    _rejected(member.read(node, await member.send(node, stale.to_frame())), "expired")
    relayed = member.seal(member.push(3, 2), node.node_id)
    _rejected(member.read(node, await outsider.send(node, relayed.to_frame())), "peer_mismatch")
    # Garbage: a signed refusal that names no recipient, bound to the frame by its digest.
    garbage = encode_frame(b"{not json")
    unreadable = member.read(node, await member.send(node, garbage))
    assert isinstance(unreadable, FrameRefusal) and unreadable.reason == "malformed"
    assert unreadable.frame_sha256 == frame_digest(garbage)
    assert _state(conn) == before

    # A replay of the accepted push: answered from the current state, not acted on again.
    again = member.read(node, await member.send(node, first.to_frame()))
    assert isinstance(again, CosignatureResponse) and again.outcome == "cosigned"
    assert _state(conn) == before

    # Smaller tree: refused, nothing stored.
    small = member.read(node, await member.send(
        node, member.seal(member.push(1, None), node.node_id).to_frame()))
    assert isinstance(small, CosignatureResponse) and small.refusal == "smaller_tree"
    assert small.witnessed_size == 2
    after_small = _state(conn)
    assert after_small[1:] == before[1:]  # only the envelope's replay record was added

    # Fork: the same size with another root (a rewritten history) -> alarm with both notes.
    other = merkle.MemoryTree([b"leaf 0", b"rewritten"])
    fork = member.read(node, await member.send(
        node, member.seal(member.push(2, 2, other), node.node_id).to_frame()))
    assert isinstance(fork, CosignatureResponse) and fork.refusal == "inconsistent"
    alarms = store.alarms(conn)
    assert len(alarms) == 1 and alarms[0].kind == "peer_fork"
    assert alarms[0].first_note == member.note(2) and alarms[0].second_note == member.note(2,
                                                                                          other)
    assert store.witnessed(conn, member.origin).root_hash == merkle.root_hash(member.tree, 2)  # type: ignore[union-attr]

    # A larger tree that extends the rewritten history, not the witnessed one: a fork too.
    other4 = merkle.MemoryTree([b"leaf 0", b"rewritten", b"leaf 2", b"leaf 3"])
    bogus = member.read(node, await member.send(
        node, member.seal(member.push(4, 2, other4), node.node_id).to_frame()))
    assert isinstance(bogus, CosignatureResponse) and bogus.refusal == "inconsistent"
    assert len(store.alarms(conn)) == 2
    # The honest continuation is still cosigned.
    good = member.read(node, await member.send(
        node, member.seal(member.push(4, 2), node.node_id).to_frame()))
    assert isinstance(good, CosignatureResponse) and good.outcome == "cosigned", good
    assert store.witnessed(conn, member.origin).size == 4  # type: ignore[union-attr]


async def test_the_alarm_is_on_the_admin_page(
        scene: tuple[ObservatoryDouble, FedNode, Peer, Peer], aiohttp_client: Any) -> None:
    _, node, member, _ = scene
    for i in range(2):
        member.tree.append(f"leaf {i}".encode())
    await member.send(node, member.seal(member.push(2, None), node.node_id).to_frame())
    other = merkle.MemoryTree([b"leaf 0", b"rewritten"])
    await member.send(node, member.seal(member.push(2, 2, other), node.node_id).to_frame())
    client = await aiohttp_client(create_app(node.ctx, {"staff"}))
    token = csrf_of(await (await client.get("/staff/login")).text())
    r = await client.post("/staff/login", data={"csrf": token, "username": ADMIN,
                                                "passphrase": ADMIN_PASSPHRASE},
                          allow_redirects=False)
    assert r.status == 303
    r = await client.get("/staff/federation")
    html = await r.text()
    assert r.status == 200 and 'id="fork-alarms"' in html
    assert member.origin in html and "A peer&#39;s evidence log forked" in html
    assert member.note(2).splitlines()[2] in html  # the root hash line of both notes
    assert member.note(2, other).splitlines()[2] in html


async def test_a_witness_that_saw_our_log_fork_raises_our_alarm(
        scene: tuple[ObservatoryDouble, FedNode, Peer, Peer]) -> None:
    observatory, node, _, _ = scene
    submit(node.ctx, "one")
    submit(node.ctx, "two")
    origin = evidence_origin(node.node_id)
    # The observatory was shown another checkpoint of our log at the same size (a split view
    # by someone holding our key): our honest push is refused as inconsistent.
    size = 2
    fake = Peer(key=node.ctx.keys.identity, node_id=node.node_id)
    other = merkle.MemoryTree([b"forged", b"history"])
    observatory.witnessed[origin] = Witnessed(size, merkle.root_hash(other), fake.note(2, other))
    assert node.sign() == size
    conn = node.conn()
    alarms = await eventually(lambda: store.alarms(conn), "our own fork alarm")
    assert alarms[0].kind == "own_log_fork" and alarms[0].reported_by == observatory.node_id
    assert "\n2\n" in alarms[0].second_note
    state = store.witness_of_ours(conn, observatory.node_id)
    assert state is not None and state.last_outcome == "inconsistent"
    # Pushes to that witness stop until an admin looks (it would refuse every one).
    submit(node.ctx, "three")
    node.sign()
    assert node.service is not None
    node.service.tick()
    assert not [e for e in node.service.outbox.list_pending() if e.message_type.startswith(
        "checkpoint.push")]
