"""The shared responder, driven through the client exchange over an in-memory link.

Bob answers with `protocol.responder.Responder` over a real SQLite file (its replay guard,
`transport.inbox`, acting once through the one writer); alice asks with
`protocol.exchanges.ClientExchange`. No sockets: frames go from one to the other as bytes.
"""

from __future__ import annotations

import secrets
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from protocol import errors
from protocol.delivery import DeliveryAck, FrameRefusal, frame_digest
from protocol.encoding import canonical_json, parse_canonical_json
from protocol.engagements import ExpertRevocation
from protocol.envelope import Envelope, seal, verify_frame
from protocol.exchanges import (
    RESPONSE_TTL,
    ClientExchange,
    DuplicateReceived,
    Endpoint,
    RequestReceived,
    ResponseReceived,
)
from protocol.framing import decode_frame, encode_frame
from protocol.matching import MatchNotice
from protocol.membership import MembershipListQuery, MembershipRequest
from protocol.message import Message
from protocol.responder import Refuse, Responder
from runtime.sqlite import Database
from tests.unit.protocol.conftest import NOW, Node
from tests.unit.protocol.link import Link
from transport import store
from transport.identity import peer_id_from_public_key
from transport.inbox import ReplayGuard


def peer_of(node: Node) -> str:
    """The libp2p peer id Noise would authenticate for `node`."""
    return peer_id_from_public_key(node.verify_key.raw())


def a_request() -> ExpertRevocation:
    return ExpertRevocation(subject="need", subject_id=secrets.token_hex(16),
                            reason="coordinator", revoked_at=0)


class Bob:
    """A node-like responder: its database, replay guard and handlers."""

    def __init__(self, me: Node, keys: dict[str, Any], path: Path, **kwargs: Any) -> None:
        def migrate(conn: sqlite3.Connection) -> None:
            store.ensure_schema(conn)
            conn.execute("CREATE TABLE received (envelope_id TEXT PRIMARY KEY)")

        self.me = me
        self.db = Database(path, migrate)
        self.guard = ReplayGuard(self.db)
        self.endpoint = Endpoint(me.node_id, me.signing_key, lookup_key=keys.get,
                                 is_replay=self.guard)
        self.responder: Responder[sqlite3.Connection] = Responder(
            self.endpoint, once=kwargs.pop("once", self.guard.once),
            peer_id_of=lambda key: peer_id_from_public_key(key.raw()), clock=lambda: NOW,
            **kwargs)
        self.refuse_next: Refuse | None = None

    def serve_requests(self, again: Callable[[DuplicateReceived], Message] | None = None
                              ) -> None:
        def act(request: RequestReceived, conn: sqlite3.Connection) -> Message:
            conn.execute("INSERT INTO received VALUES (?)", (request.envelope.envelope_id,))
            if self.refuse_next is not None:
                raise self.refuse_next  # after writing: the write must not remain
            return DeliveryAck.accept(request.envelope.envelope_id)

        self.responder.serve(ExpertRevocation, act, again=again)

    def received(self) -> int:
        return int(self.db.read().execute("SELECT count(*) FROM received").fetchone()[0])

    def recorded(self) -> int:
        return int(self.db.read().execute("SELECT count(*) FROM transport_seen").fetchone()[0])

    def answer(self, frame: bytes, remote: Node) -> bytes:
        return self.responder.answer(frame, peer_of(remote))


@pytest.fixture
def bob_peer(bob: Node, keys: dict[str, Any], tmp_path: Path) -> Iterator[Bob]:
    peer = Bob(bob, keys, tmp_path / "bob.db")
    peer.serve_requests()
    yield peer
    peer.db.close()


def asking(me: Node, to: Node, keys: dict[str, Any]) -> ClientExchange:
    return ClientExchange(Endpoint(me.node_id, me.signing_key, lookup_key=keys.get,
                                   is_replay=lambda *_: False), peer_node_id=to.node_id)


def exchange(alice: Node, bob: Bob, keys: dict[str, Any], message: Message, *,
             over: Node | None = None) -> Message:
    """One request from alice, answered by bob, the answer believed by alice's exchange."""
    client = asking(alice, bob.me, keys)
    frame = client.send_request(message, now=NOW)
    event = Link(7).carry(bob.answer(frame, over or alice), client)
    assert isinstance(event, ResponseReceived)
    return event.message


def refused(message: Message) -> str:
    assert isinstance(message, DeliveryAck) and message.status == "rejected", message
    assert message.reason is not None
    return message.reason


def read_as(node_id: str, frame: bytes, signer: Node) -> tuple[Envelope, Message]:
    """Verify an answer as node `node_id` would (believing `signer`)."""
    verified = verify_frame(frame, local_node_id=node_id, now=NOW,
                            lookup_key={signer.node_id: signer.verify_key}.get,
                            is_replay=lambda *_: False, accept_unaddressed=True)
    return verified.envelope, verified.message


# --- acting once ------------------------------------------------------------------------------


def test_a_request_is_acted_on_once_and_a_resend_is_a_duplicate(alice, bob_peer, keys) -> None:
    client = asking(alice, bob_peer.me, keys)
    frame = client.send_request(a_request(), now=NOW)
    first = Link().carry(bob_peer.answer(frame, alice), client)
    assert first.message.status == "accepted"
    assert (bob_peer.received(), bob_peer.recorded()) == (1, 2)  # the row, the id and nonce
    # The answer was lost; the outbox resends the same frame, then re-seals it (same id).
    again = ClientExchange.resume(client.endpoint, frame)
    assert Link().carry(bob_peer.answer(frame, alice), again).message.status == "duplicate"
    assert client.request is not None
    resealed = asking(alice, bob_peer.me, keys)
    frame = resealed.send_request(a_request(), now=NOW + 5,
                                  envelope_id=client.request.envelope_id)
    assert Link().carry(bob_peer.answer(frame, alice), resealed).message.status == "duplicate"
    assert bob_peer.received() == 1


def test_a_duplicate_is_answered_by_the_handlers_again(alice, bob, keys, tmp_path) -> None:
    peer = Bob(bob, keys, tmp_path / "bob.db")
    seen: list[str] = []

    def again(duplicate: DuplicateReceived) -> Message:
        seen.append(duplicate.envelope.envelope_id)  # e.g. the witness state, answered again
        return DeliveryAck.refuse(duplicate.envelope.envelope_id, "answered_again")

    peer.serve_requests(again=again)
    client = asking(alice, bob, keys)
    frame = client.send_request(a_request(), now=NOW)
    peer.answer(frame, alice)
    assert refused(Link().carry(peer.answer(frame, alice),
                                ClientExchange.resume(client.endpoint, frame)).message
                   ) == "answered_again"
    assert seen == [client.request.envelope_id] and peer.received() == 1  # type: ignore[union-attr]
    peer.db.close()


def test_a_copy_acted_on_meanwhile_is_answered_as_a_duplicate(alice, bob, keys,
                                                              tmp_path) -> None:
    """Two copies pass the replay check at once; the second finds the first recorded inside
    its own transaction (`once` returns None) and is not acted on."""
    holder: dict[str, Bob] = {}

    def racing_once(envelope: Envelope, act: Callable[[sqlite3.Connection], Message]
                    ) -> Message | None:
        guard = holder["peer"].guard
        guard.once(envelope, lambda conn: DeliveryAck.accept(envelope.envelope_id))  # it won
        return guard.once(envelope, act)

    peer = Bob(bob, keys, tmp_path / "bob.db", once=racing_once)
    holder["peer"] = peer
    peer.serve_requests()
    assert exchange(alice, peer, keys, a_request()).status == "duplicate"  # type: ignore[attr-defined]
    assert peer.received() == 0
    peer.db.close()


def test_a_handler_that_refuses_leaves_nothing(alice, bob_peer, keys) -> None:
    bob_peer.refuse_next = Refuse("over_budget", "a short reason, never payload")
    answer = exchange(alice, bob_peer, keys, a_request())
    assert refused(answer) == "over_budget"
    assert isinstance(answer, DeliveryAck) and answer.detail == "a short reason, never payload"
    assert (bob_peer.received(), bob_peer.recorded()) == (0, 0)
    # Not recorded: a resend is refused again, never taken for one already delivered.
    client = asking(alice, bob_peer.me, keys)
    frame = client.send_request(a_request(), now=NOW)
    bob_peer.answer(frame, alice)
    assert refused(Link().carry(bob_peer.answer(frame, alice),
                                ClientExchange.resume(client.endpoint, frame)).message
                   ) == "over_budget"


# --- refusals of authentic requests ------------------------------------------------------------


def test_the_peer_must_be_the_senders_key(alice, carol, bob_peer, keys) -> None:
    client = asking(alice, bob_peer.me, keys)
    frame = client.send_request(a_request(), now=NOW)
    relayed = Link().carry(bob_peer.answer(frame, carol), client)  # over carol's connection
    assert refused(relayed.message) == "peer_mismatch"
    assert (bob_peer.received(), bob_peer.recorded()) == (0, 0)  # not used up by the relay
    own = Link().carry(bob_peer.answer(frame, alice), ClientExchange.resume(client.endpoint,
                                                                             frame))
    assert own.message.status == "accepted"
    # A duplicate is bound to its sender's connection too.
    assert refused(Link().carry(bob_peer.answer(frame, carol),
                                ClientExchange.resume(client.endpoint, frame)).message
                   ) == "peer_mismatch"


def test_requests_nobody_serves_and_non_requests(alice, bob_peer, keys) -> None:
    tokens = MatchNotice(notice_id="ab" * 16, case_ref="cd" * 16, other_organisations=1,
                         epoch=1)
    assert refused(exchange(alice, bob_peer, keys, tokens)) == "not_supported"
    assert bob_peer.recorded() == 0
    # A response sent as a request, and a request that claims to reply: one code for both.
    for message, in_reply_to in ((DeliveryAck(envelope_id="ab" * 16, status="accepted"), None),
                                 (a_request(), "ab" * 16)):
        frame = seal(message, sender=alice.node_id, recipient=bob_peer.me.node_id,
                     signing_key=alice.signing_key, now=NOW, in_reply_to=in_reply_to).to_frame()
        envelope, answer = read_as(alice.node_id, bob_peer.answer(frame, alice), bob_peer.me)
        assert refused(answer) == "not_a_request"
        assert envelope.in_reply_to == Envelope.from_frame(frame).envelope_id
    assert bob_peer.recorded() == 0


def test_self_certified_requests_only_where_enrollment_is_open(new_node, bob, keys,
                                                               tmp_path) -> None:
    newcomer = new_node()
    request = MembershipRequest(node_id=newcomer.node_id, organisation_name="Newcomer",
                                country="SY", contact="x@example.org",
                                identity_key=newcomer.verify_key.raw().hex(), box_key="09" * 32)
    for accept, expected in ((False, "not_authenticated"), (True, "accepted")):
        peer = Bob(bob, keys, tmp_path / f"bob-{accept}.db", accept_self_certified=accept)
        peer.responder.serve(MembershipRequest,
                             lambda req, conn: DeliveryAck.accept(req.envelope.envelope_id))
        answer = exchange(newcomer, peer, {bob.node_id: bob.verify_key}, request)
        assert isinstance(answer, DeliveryAck)
        assert (answer.reason or answer.status) == expected
        peer.db.close()


# --- refusals of what does not verify: nothing about who is known ------------------------------


def test_an_unknown_sender_looks_like_a_bad_signature(alice, new_node, bob_peer, keys) -> None:
    stranger, forger = new_node(), new_node()
    frames = {
        "unknown": asking(stranger, bob_peer.me, keys).send_request(a_request(), now=NOW),
        # alice's node id, signed with another key
        "forged": seal(a_request(), sender=alice.node_id, recipient=bob_peer.me.node_id,
                       signing_key=forger.signing_key, now=NOW).to_frame(),
    }
    tampered = parse_canonical_json(decode_frame(
        asking(alice, bob_peer.me, keys).send_request(a_request(), now=NOW)))
    tampered["signature"] = "00" * 64
    frames["tampered"] = encode_frame(canonical_json(tampered))
    shapes = []
    for name, frame in frames.items():
        claimed = Envelope.from_frame(frame)
        envelope, answer = read_as(claimed.sender, bob_peer.answer(frame, stranger), bob_peer.me)
        assert refused(answer) == "not_authenticated", name
        # addressed to whoever the frame claims sent it, replying to its envelope id
        assert (envelope.recipient, envelope.in_reply_to) == (claimed.sender,
                                                             claimed.envelope_id)
        assert envelope.expires - envelope.created == RESPONSE_TTL
        shape = envelope.model_dump(exclude={"envelope_id", "nonce", "recipient", "in_reply_to",
                                             "signature", "payload"})
        shapes.append((shape, answer.model_copy(update={"envelope_id": "00" * 16})))
    assert shapes[0] == shapes[1] == shapes[2]
    assert (bob_peer.received(), bob_peer.recorded()) == (0, 0)


@pytest.mark.parametrize(("change", "reason"), [
    ({"recipient": "ab" * 16}, "wrong_recipient"),
    ({"created": NOW - 7200, "expires": NOW - 3600}, "expired"),
    ({"created": NOW + 3600, "expires": NOW + 7200}, "not_yet_valid"),
    ({"expires": NOW + 30 * 86400}, "lifetime_too_long"),
    ({"type": "no.such.type"}, "unknown_type"),
    ({"version": 9}, "unknown_version"),
    ({"payload": {"not": "a delivery ack"}}, "malformed"),
])
def test_each_verification_failure_has_its_code(make_frame, alice, bob_peer, change,
                                                reason) -> None:
    frame = make_frame(**change)
    envelope, answer = read_as(alice.node_id, bob_peer.answer(frame, alice), bob_peer.me)
    assert refused(answer) == reason
    assert (envelope.recipient, envelope.in_reply_to) == (alice.node_id,
                                                         Envelope.from_frame(frame).envelope_id)
    assert bob_peer.recorded() == 0


@pytest.mark.parametrize(("frame", "reason"), [
    (b"", "malformed"),
    (encode_frame(b"not json"), "malformed"),
    (encode_frame(b"[1, 2]"), "malformed"),
    (encode_frame(canonical_json({"format": 1})), "malformed"),
    (encode_frame(canonical_json({"format": 2})), "unknown_version"),
])
def test_an_unreadable_frame_gets_a_signed_refusal_naming_its_digest(alice, bob_peer, frame,
                                                                     reason) -> None:
    envelope, answer = read_as(alice.node_id, bob_peer.answer(frame, alice), bob_peer.me)
    assert isinstance(answer, FrameRefusal) and answer.reason == reason
    assert answer.frame_sha256 == frame_digest(frame)
    assert (envelope.sender, envelope.recipient, envelope.in_reply_to) == (
        bob_peer.me.node_id, None, None)
    assert envelope.expires - envelope.created == RESPONSE_TTL


def test_an_envelope_claiming_to_come_from_us_is_refused_unaddressed(alice, bob_peer,
                                                                     keys) -> None:
    frame = seal(MembershipListQuery(), sender=bob_peer.me.node_id, recipient=alice.node_id,
                 signing_key=alice.signing_key, now=NOW).to_frame()
    _, answer = read_as(alice.node_id, bob_peer.answer(frame, alice), bob_peer.me)
    assert isinstance(answer, FrameRefusal) and answer.reason == "wrong_recipient"


def test_the_registry_knows_who_is_served(bob_peer) -> None:
    with pytest.raises(ValueError, match="served twice"):
        bob_peer.serve_requests()
    with pytest.raises(ValueError, match="not the request of any exchange"):
        bob_peer.responder.serve(DeliveryAck, lambda req, conn: req.message)


def test_refuse_is_a_protocol_error() -> None:
    assert isinstance(Refuse("x"), errors.ProtocolError)
