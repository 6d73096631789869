"""A node and the observatory, and two nodes, over an in-memory link: the real client path and
the real responders, with no sockets.

Each node asks the way `node.federation.service` does (a `ClientExchange` seals the request;
`node.federation.answers` believes the answer through an exchange resumed from the request
frame, and stores what it says in the node's database); the observatory answers with
`observatory.federation.Federation` and a node with `node.federation.handler`, both on the
shared `protocol.responder.Responder`. Frames pass as bytes between them, with the peer id
Noise would have authenticated. The same paths over real libp2p hosts are in
test_federation_peers.py, test_federation_network.py and test_observatory_*.py.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from crypto import passphrase as pw
from crypto.keys import SigningKey, VerifyKey
from node.context import NodeContext, open_node
from node.evidence.signing import sign_if_grown
from node.federation import answers, enrollment, members, our_log, store
from node.federation.config import FederationConfig
from node.federation.directory import Directory
from node.federation.handler import FederationHandler
from observatory.context import ObservatoryContext, open_observatory
from observatory.federation import Federation
from protocol.delivery import DeliveryAck, FrameRefusal, frame_digest
from protocol.envelope import Envelope, seal, verify_frame
from protocol.exchanges import ClientExchange, Endpoint
from protocol.framing import encode_frame
from protocol.membership import MembershipListQuery
from protocol.message import Message
from protocol.statements import verify_key_from_hex
from tests.conftest import make_node
from tests.integration.test_federation_peers import submit
from tests.unit.observatory.support import make_observatory
from transport import store as transport_store
from transport.identity import peer_id_from_public_key

Answerer = Callable[[bytes, str], bytes]


def now() -> int:
    return int(time.time())


@dataclass
class Node:
    """A node's federation as the service runs it, minus the host and the outbox."""

    ctx: NodeContext
    config: FederationConfig
    directory: Directory = field(init=False)
    endpoint: Endpoint = field(init=False)
    handler: FederationHandler = field(init=False)

    def __post_init__(self) -> None:
        key = self.ctx.keys
        self.directory = Directory(self.config.observatory_node_id,
                                   verify_key_from_hex(self.config.observatory_identity_key))
        self.endpoint = key.endpoint(lookup_key=lambda n: self.directory.key_of(n, now()),
                                     is_replay=lambda *_: False)
        with self.ctx.db.write() as conn:
            transport_store.ensure_schema(conn)
        self.handler = FederationHandler(self.ctx.db, keys=key, config=self.config,
                                         directory=lambda: self.directory, clock=now)

    @property
    def node_id(self) -> str:
        return self.ctx.keys.node_id

    @property
    def peer_id(self) -> str:
        return peer_id_from_public_key(self.ctx.keys.identity_public.raw())

    def answer(self, frame: bytes, remote_peer: str) -> bytes:
        return self.handler.handle(frame, remote_peer)[0]

    def ask(self, message: Message, to: str, answer_with: Answerer, kind: str
            ) -> answers.Outcome:
        """One request, answered over the link, believed and stored as the service does."""
        client = ClientExchange(self.endpoint, peer_node_id=to)
        request = client.send_request(message, now=now())
        assert client.request is not None
        response = answer_with(request, self.peer_id)
        answer, statement = answers.verify(self.endpoint, request, response, now=now())
        with self.ctx.db.write() as conn:
            return answers.record(conn, kind, client.request.envelope_id, to, answer,
                                  keys=self.ctx.keys, config=self.config,
                                  directory=self.directory, now=now(),
                                  role_statement=statement)

    def reload(self) -> None:
        listed = store.membership_list(self.ctx.db.read(), self.config.observatory_node_id)
        assert listed is not None
        self.directory = self.directory.with_members(listed.signed.body)


@dataclass
class World:
    observatory: ObservatoryContext
    federation: Federation
    a: Node
    b: Node

    def observatory_answer(self, frame: bytes, remote_peer: str) -> bytes:
        return self.federation.answer(frame, remote_peer)


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    observatory = open_observatory(make_observatory(tmp_path / "observatory"))
    nodes = []
    for name in ("a", "b"):
        ctx = open_node(make_node(tmp_path / name), staff_params=pw.INSECURE_FAST_FOR_TESTS,
                        receipt_params=pw.INSECURE_FAST_FOR_TESTS)
        config = FederationConfig(
            observatory_node_id=observatory.identity.node_id,
            observatory_identity_key=observatory.identity.verify_key.raw().hex(),
            observatory_addrs=["/ip4/127.0.0.1/tcp/9"], organisation_name=f"Org {name}",
            country="CD", contact="federation@example.org")
        nodes.append(Node(ctx, config))
    try:
        yield World(observatory, Federation(observatory), nodes[0], nodes[1])
    finally:
        for node in nodes:
            node.ctx.close()
        observatory.close()


def join(world: World, node: Node) -> None:
    obs = world.observatory.identity.node_id
    request = enrollment.request(node.ctx.keys, node.config)
    assert node.ask(request, obs, world.observatory_answer, answers.ENROLL).code == "pending"
    world.observatory.members.approve(node.node_id, now())
    outcome = node.ask(request, obs, world.observatory_answer, answers.ENROLL)
    assert outcome.code == "approved" and outcome.approved
    membership = store.membership(node.ctx.db.read(), obs)
    assert membership is not None and membership.certificate is not None


def test_a_node_joins_gets_the_list_and_is_witnessed_by_the_observatory_and_a_peer(
        world: World) -> None:
    obs = world.observatory.identity.node_id
    a, b = world.a, world.b
    join(world, a)
    join(world, b)
    for node in (a, b):
        query = members.query(node.ctx.db.read(), node.config)
        assert node.ask(query, obs, world.observatory_answer,
                        answers.LIST_QUERY).code.startswith("sequence ")
        node.reload()
    assert a.directory.is_member(b.node_id, now()) and b.directory.is_member(a.node_id, now())

    submit(a.ctx, "witnessed over the link")
    signed = sign_if_grown(a.ctx.db, a.ctx.keys, int(a.ctx.clock().timestamp()))
    assert signed is not None
    for witness, answer_with in ((obs, world.observatory_answer), (b.node_id, b.answer)):
        push = our_log.next_push(a.ctx.db.read(), witness)
        assert push is not None
        assert a.ask(push, witness, answer_with, answers.PUSH).code == "cosigned"
    lines = dict(store.cosignature_lines(a.ctx.db.read(), signed.size))
    assert set(lines) == {obs, b.node_id}
    assert our_log.next_push(a.ctx.db.read(), b.node_id) is None  # nothing left to push


def test_a_refused_request_is_kept_as_refused(world: World) -> None:
    """A node that is not a member asks for the list: refused, and the node says so."""
    obs = world.observatory.identity.node_id
    a = world.a
    request = enrollment.request(a.ctx.keys, a.config)
    a.ask(request, obs, world.observatory_answer, answers.ENROLL)  # pending
    outcome = a.ask(MembershipListQuery(), obs, world.observatory_answer, answers.LIST_QUERY)
    assert outcome.refused is not None and outcome.code == "not_a_member"


def test_node_and_observatory_refuse_alike(world: World) -> None:
    """One responder: an outsider gets the same refusals from a node and from the
    observatory, and cannot tell a known node id from an unknown one."""
    obs = world.observatory.identity.node_id
    for node in (world.a, world.b):
        join(world, node)
    b = world.b
    b.ask(members.query(b.ctx.db.read(), b.config), obs, world.observatory_answer,
          answers.LIST_QUERY)
    b.reload()
    assert b.directory.key_of(world.a.node_id, now()) is not None  # a is known to both
    outsider, outsider_id = SigningKey.generate(), "ab" * 16
    outsider_peer = peer_id_from_public_key(outsider.verify_key.raw())

    def refusal(to: str, answer_with: Answerer, *, sender: str) -> Message:
        frame = seal(MembershipListQuery(), sender=sender, recipient=to, signing_key=outsider,
                     now=now()).to_frame()
        verified = verify_frame(answer_with(frame, outsider_peer), local_node_id=sender,
                                now=now(), lookup_key=lambda n: _key(world, n),
                                is_replay=lambda *_: False)
        assert verified.envelope.in_reply_to == Envelope.from_frame(frame).envelope_id
        return verified.message

    answers_seen = []
    for to, answer_with in ((obs, world.observatory_answer), (world.b.node_id, world.b.answer)):
        for sender in (outsider_id, world.a.node_id):  # unknown, and a member it pretends to be
            answer = refusal(to, answer_with, sender=sender)
            assert isinstance(answer, DeliveryAck)
            answers_seen.append(answer.model_copy(update={"envelope_id": "00" * 16}))
    assert all(seen == DeliveryAck(envelope_id="00" * 16, status="rejected",
                                   reason="not_authenticated") for seen in answers_seen)

    garbage = encode_frame(b"\x00not an envelope")
    for signer, answer_with in ((obs, world.observatory_answer),
                                (world.b.node_id, world.b.answer)):
        verified = verify_frame(answer_with(garbage, outsider_peer), local_node_id=outsider_id,
                                now=now(), lookup_key=lambda n: _key(world, n),
                                is_replay=lambda *_: False, accept_unaddressed=True)
        assert verified.envelope.sender == signer
        assert verified.message == FrameRefusal(frame_sha256=frame_digest(garbage),
                                                reason="malformed")


def _key(world: World, node_id: str) -> VerifyKey | None:
    if node_id == world.observatory.identity.node_id:
        return world.observatory.identity.verify_key
    if node_id == world.b.node_id:
        return world.b.ctx.keys.identity_public
    return None


def test_a_substituted_role_key_is_refused_by_the_observatory_and_a_peer(
        world: World) -> None:
    """Issue 13: a member's role keys are believed only through the role statement its
    identity key (the one in the membership) signed. Someone who substitutes their own
    keys in a's statement -- signing the envelope and the checkpoint with them -- is
    refused by the observatory and by peer b alike, and nothing is witnessed; a's real
    statement does not make another of its role keys a checkpoint key either."""
    from crypto import role_statement
    from crypto.checkpoint import Checkpoint, NoteSigner, SignedNote, sign_checkpoint
    from protocol.witness import CheckpointPush

    obs = world.observatory.identity.node_id
    a, b = world.a, world.b
    join(world, a)
    join(world, b)
    b.ask(members.query(b.ctx.db.read(), b.config), obs, world.observatory_answer,
          answers.LIST_QUERY)
    b.reload()
    submit(a.ctx, "a report")
    signed = sign_if_grown(a.ctx.db, a.ctx.keys, int(a.ctx.clock().timestamp()))
    assert signed is not None
    checkpoint = Checkpoint.parse(SignedNote.parse(signed.note).text)

    mallory = SigningKey.generate()
    roles = {r: mallory.derive(f"backup-role/{r}/1".encode()) for r in role_statement.ROLES}
    forged = role_statement.encode(role_statement.sign(
        a.node_id, {r: k.verify_key for r, k in roles.items()}, 1, mallory))
    origin = checkpoint.origin
    with_mallory_key = sign_checkpoint(checkpoint, NoteSigner(origin, roles["checkpoint"]))
    with_manifest_key = sign_checkpoint(checkpoint,
                                        NoteSigner(origin, a.ctx.keys.manifest_key))
    assert a.ctx.keys.statement is not None
    cases = [  # (envelope key, statement, note, what the witness says)
        (roles["envelope"], forged, with_mallory_key, ("rejected", "not_authenticated")),
        (a.ctx.keys.envelope_key, a.ctx.keys.statement.encode(), with_manifest_key,
         ("refused", "bad_checkpoint_signature")),
    ]
    for to, answer_with in ((obs, world.observatory_answer), (b.node_id, b.answer)):
        for key, statement, note, expected in cases:
            push = CheckpointPush(checkpoint=note.encode().decode())
            frame = seal(push, sender=a.node_id, recipient=to, signing_key=key, now=now(),
                         role_statement=statement).to_frame()
            verified = verify_frame(answer_with(frame, a.peer_id), local_node_id=a.node_id,
                                    now=now(), lookup_key=lambda n: _key(world, n),
                                    is_replay=lambda *_: False)
            answer = verified.message
            if expected[0] == "rejected":
                assert isinstance(answer, DeliveryAck)
                assert (answer.status, answer.reason) == expected
            else:
                assert (answer.outcome, answer.refusal) == expected  # type: ignore[attr-defined]
    assert store.witnessed_logs(b.ctx.db.read()) == []
    assert world.observatory.checkpoints.latest(a.node_id) is None
