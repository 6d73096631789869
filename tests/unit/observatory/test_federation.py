"""The federation endpoint's decisions without the network: frames in, frames out, with a
real database. (The same paths over real libp2p hosts are in
tests/integration/test_observatory_*.py.)"""

from __future__ import annotations

import time

import pytest

from observatory.context import ObservatoryContext
from observatory.federation import Federation
from protocol.delivery import DeliveryAck, FrameRefusal, frame_digest
from protocol.encoding import canonical_json, parse_canonical_json
from protocol.engagements import ExpertRevocation
from protocol.envelope import seal
from protocol.framing import MAX_FRAME_BYTES, decode_frame, encode_frame, encode_uvarint
from protocol.membership import MembershipDecision, MembershipList, MembershipListQuery
from protocol.message import Message
from protocol.witness import CosignatureResponse
from tests.unit.observatory.fakenode import FakeNode, ObservatoryAddress
from tests.unit.observatory.support import count_rows
from transport.identity import peer_id_from_public_key


@pytest.fixture
def obs(ctx: ObservatoryContext) -> ObservatoryAddress:
    return ObservatoryAddress(ctx.identity.node_id, ctx.identity.verify_key, ())


def peer(node: FakeNode) -> str:
    return peer_id_from_public_key(node.key.verify_key.raw())


def ask(ctx: ObservatoryContext, obs: ObservatoryAddress, node: FakeNode, message: Message,
        **seal_args: object) -> Message:
    frame = node.seal(message, obs, **seal_args).to_frame()  # type: ignore[arg-type]
    return node.open_response(Federation(ctx).answer(frame, peer(node)), obs)


def member(ctx: ObservatoryContext, obs: ObservatoryAddress) -> FakeNode:
    node = FakeNode()
    ask(ctx, obs, node, node.membership_request())
    ctx.members.approve(node.node_id, int(time.time()))
    return node


def test_enrollment_answers_follow_the_members_status(ctx: ObservatoryContext,
                                                      obs: ObservatoryAddress) -> None:
    node = FakeNode()
    first = ask(ctx, obs, node, node.membership_request())
    assert isinstance(first, DeliveryAck) and first.status == "accepted"
    ctx.members.approve(node.node_id, int(time.time()))
    approved = ask(ctx, obs, node, node.membership_request())
    assert isinstance(approved, MembershipDecision) and approved.certificate is not None
    listed = ask(ctx, obs, node, MembershipListQuery(known_sequence=None))
    assert isinstance(listed, MembershipList) and listed.body.member(node.node_id)


def test_a_request_for_another_node_id_is_not_self_certified(
        ctx: ObservatoryContext, obs: ObservatoryAddress) -> None:
    node, other = FakeNode(), FakeNode()
    answer = ask(ctx, obs, node, other.membership_request(identity_key=node.key.verify_key
                                                           .raw().hex()))
    # to the sender, as if its signature did not verify: nothing about who is known
    assert isinstance(answer, DeliveryAck) and answer.reason == "not_authenticated"
    assert count_rows(ctx, "members") == {"members": 0}


def test_a_response_sent_as_a_request_and_messages_we_do_not_serve(
        ctx: ObservatoryContext, obs: ObservatoryAddress) -> None:
    node = member(ctx, obs)
    before = count_rows(ctx)
    ack = DeliveryAck(envelope_id="ab" * 16, status="accepted")
    answer = ask(ctx, obs, node, ack)
    assert isinstance(answer, DeliveryAck) and answer.reason == "not_a_request"
    assert count_rows(ctx) == before
    expert = ExpertRevocation(subject="need", subject_id="cd" * 16,
                              reason="coordinator", revoked_at=0)
    answer = ask(ctx, obs, node, expert)
    assert isinstance(answer, DeliveryAck) and answer.reason == "not_supported"
    assert count_rows(ctx) == before  # a refusal is not recorded: a resend is refused again


def frame_refusal(ctx: ObservatoryContext, obs: ObservatoryAddress, frame: bytes) -> str:
    """The observatory's signed, unaddressed refusal of `frame`: its reason."""
    answer = FakeNode().open_response(Federation(ctx).answer(frame, "12D3KooWany"), obs,
                                      unaddressed=True)
    assert isinstance(answer, FrameRefusal)
    assert answer.frame_sha256 == frame_digest(frame)  # what the sender matches it by
    return answer.reason


def test_frames_that_are_not_envelopes_get_a_signed_refusal(
        ctx: ObservatoryContext, obs: ObservatoryAddress) -> None:
    node = FakeNode()
    newer = parse_canonical_json(decode_frame(node.seal(MembershipListQuery(), obs).to_frame()))
    newer["format"] = 2  # a future envelope format
    before = count_rows(ctx)
    for frame, reason in ((b"", "malformed"), (encode_frame(b"not json"), "malformed"),
                          (encode_frame(b"{}"), "malformed"), (encode_frame(b"[1,2]"), "malformed"),
                          (encode_frame(canonical_json(newer)), "unknown_version"),
                          (b"\x00\x00", "malformed"),
                          (encode_uvarint(MAX_FRAME_BYTES + 1), "frame_too_large")):
        assert frame_refusal(ctx, obs, frame) == reason
    assert count_rows(ctx) == before


def test_an_envelope_claiming_to_come_from_the_observatory_is_refused_unaddressed(
        ctx: ObservatoryContext, obs: ObservatoryAddress) -> None:
    node = FakeNode()
    envelope = seal(node.membership_request(), sender=obs.node_id, recipient=node.node_id,
                    signing_key=node.key, now=int(time.time()))
    # addressed elsewhere, and claiming our own id: no sender to address the refusal to
    assert frame_refusal(ctx, obs, envelope.to_frame()) == "wrong_recipient"


def test_a_duplicate_is_answered_without_acting_again(ctx: ObservatoryContext,
                                                      obs: ObservatoryAddress) -> None:
    node = member(ctx, obs)
    node.grow(3)
    frame = node.seal(node.push(), obs).to_frame()
    federation = Federation(ctx)
    first = node.open_response(federation.answer(frame, peer(node)), obs)
    assert isinstance(first, CosignatureResponse) and first.outcome == "cosigned"
    before = count_rows(ctx)
    again = node.open_response(federation.answer(frame, peer(node)), obs)
    assert isinstance(again, DeliveryAck) and again.status == "duplicate"
    assert count_rows(ctx) == before


def test_a_push_for_another_members_log_is_an_unknown_log(ctx: ObservatoryContext,
                                                          obs: ObservatoryAddress) -> None:
    alice, bob = member(ctx, obs), member(ctx, obs)
    bob.grow(2)
    impersonation = FakeNode(node_id=bob.node_id, key=alice.key, log=bob.log).push()
    answer = ask(ctx, obs, alice, impersonation)
    assert isinstance(answer, CosignatureResponse) and answer.refusal == "unknown_log"
    assert ctx.checkpoints.latest(bob.node_id) is None

