"""Exchange state machines: two peers over an in-memory link, and every illegal transition."""

from __future__ import annotations

import base64
import itertools
import secrets

import pytest

from protocol import errors
from protocol.delivery import DeliveryAck, FrameRefusal, frame_digest
from protocol.envelope import seal
from protocol.exchanges import (
    EXCHANGES,
    TRANSITIONS,
    ClientExchange,
    DuplicateReceived,
    Endpoint,
    RequestReceived,
    ResponseReceived,
    Role,
    ServerExchange,
    State,
    Trigger,
)
from protocol.membership import (
    CertificateBody,
    MemberEntry,
    MembershipCertificate,
    MembershipDecision,
    MembershipList,
    MembershipListBody,
    MembershipListQuery,
    MembershipRequest,
)
from protocol.registry import REGISTRY
from protocol.witness import CheckpointPush, CosignatureResponse
from tests.unit.protocol.link import Link

NOW = 1_800_000_000
ROOT = base64.b64encode(bytes(range(32))).decode()
NODE_SIG = "\u2014 node.example " + base64.b64encode(bytes(68)).decode()
COSIG = "\u2014 observatory.example " + base64.b64encode(bytes(76)).decode()


def endpoint(me, keys, replay) -> Endpoint:
    return Endpoint(me.node_id, me.signing_key, lookup_key=keys.get, is_replay=replay)


def client(me, peer, keys, replay) -> ClientExchange:
    return ClientExchange(endpoint(me, keys, replay), peer_node_id=peer.node_id)


def server(me, keys, replay, **kwargs) -> ServerExchange:
    return ServerExchange(endpoint(me, keys, replay), **kwargs)


def record(replay, event) -> None:
    """What the caller does with every event: remember the envelope (protocol/ does not)."""
    env = event.envelope
    replay.record(env.sender, env.envelope_id, env.nonce)


def note(size: int) -> str:
    return f"node.example/evidence\n{size}\n{ROOT}\n\n{NODE_SIG}\n"


# --- whole exchanges over the link ----------------------------------------------------------


@pytest.mark.parametrize("chunk", [1, 7, 1 << 20])
def test_enrollment_decision_and_membership_list(new_node, replay, chunk: int) -> None:
    link = Link(chunk)
    observatory, node = new_node(), new_node()
    # The node knows the observatory's key from its configuration; the observatory knows
    # nobody yet, so its enrollment endpoint accepts self-certified requests.
    node_keys = {observatory.node_id: observatory.verify_key}
    observatory_keys: dict = {}
    node_replay, observatory_replay = replay, type(replay)()

    # 1. The node asks to join; the observatory acknowledges (an admin decides later).
    asking = client(node, observatory, node_keys, node_replay)
    intake = server(observatory, observatory_keys, observatory_replay, accept_self_certified=True)
    request = MembershipRequest(
        node_id=node.node_id,
        organisation_name="Kvinna till Kvinna partner",
        country="BA",
        contact="coordinator@example.org",
        identity_key=node.verify_key.raw().hex(),
        box_key="08" * 32,
    )
    event = link.carry(asking.send_request(request, now=NOW), intake)
    assert isinstance(event, RequestReceived) and event.message == request
    assert event.exchange.name == "enrollment"
    assert (asking.state, intake.state) == (State.SENT_REQUEST, State.GOT_REQUEST)
    record(observatory_replay, event)
    ack = DeliveryAck(envelope_id=event.envelope.envelope_id, status="accepted")
    reply = link.carry(intake.send_response(ack, now=NOW + 1), asking, now=NOW + 1)
    assert isinstance(reply, ResponseReceived) and reply.message == ack
    assert (asking.state, intake.state) == (State.GOT_RESPONSE, State.SENT_RESPONSE)

    # 2. The admin approves: the observatory delivers the decision with a certificate.
    observatory_keys[node.node_id] = node.verify_key
    certificate = MembershipCertificate.issue(
        CertificateBody(
            serial=secrets.token_hex(16),
            issuer=observatory.node_id,
            node_id=node.node_id,
            organisation_name=request.organisation_name,
            country=request.country,
            identity_key=request.identity_key,
            box_key=request.box_key,
            not_before=NOW,
            not_after=NOW + 365 * 86400,
        ),
        observatory.signing_key,
    )
    deliver = client(observatory, node, observatory_keys, observatory_replay)
    inbox = server(node, node_keys, node_replay)
    decision = MembershipDecision(
        node_id=node.node_id, decision="approved", certificate=certificate
    )
    event = link.carry(deliver.send_request(decision, now=NOW + 60), inbox, now=NOW + 60)
    assert isinstance(event, RequestReceived)
    assert isinstance(event.message, MembershipDecision) and event.message.certificate
    body = event.message.certificate.verify(issuer_key=observatory.verify_key, now=NOW + 60)
    assert body.node_id == node.node_id
    record(node_replay, event)
    ack = DeliveryAck(envelope_id=event.envelope.envelope_id, status="accepted")
    reply = link.carry(inbox.send_response(ack, now=NOW + 61), deliver, now=NOW + 61)
    assert isinstance(reply, ResponseReceived)

    # 3. The node fetches the signed membership list and verifies it.
    fetch = client(node, observatory, node_keys, node_replay)
    registry = server(observatory, observatory_keys, observatory_replay)
    event = link.carry(fetch.send_request(MembershipListQuery(), now=NOW + 120), registry)
    assert isinstance(event, RequestReceived)
    listing = MembershipList.issue(
        MembershipListBody(
            issuer=observatory.node_id,
            sequence=1,
            issued_at=NOW + 120,
            expires=NOW + 86400,
            members=(
                MemberEntry(
                    node_id=node.node_id,
                    organisation_name=request.organisation_name,
                    country=request.country,
                    identity_key=request.identity_key,
                    box_key=request.box_key,
                    certificate_serial=certificate.body.serial,
                    joined_at=NOW + 60,
                ),
            ),
        ),
        observatory.signing_key,
    )
    reply = link.carry(registry.send_response(listing, now=NOW + 121), fetch, now=NOW + 121)
    assert isinstance(reply, ResponseReceived) and isinstance(reply.message, MembershipList)
    accepted = reply.message.verify(
        issuer_key=observatory.verify_key, now=NOW + 121, previous_sequence=None
    )
    assert accepted.verify_key_of(node.node_id) == node.verify_key


def test_checkpoint_witnessing_cosigns_then_refuses_a_fork(alice, bob, keys, replay) -> None:
    link = Link(13)
    first = client(alice, bob, keys, replay)
    witness = server(bob, keys, replay)
    event = link.carry(first.send_request(CheckpointPush(checkpoint=note(10)), now=NOW), witness)
    assert isinstance(event, RequestReceived) and isinstance(event.message, CheckpointPush)
    record(replay, event)
    summary = event.message.summary
    cosigned = CosignatureResponse(
        origin=summary.origin, size=summary.size, outcome="cosigned", cosignature=COSIG
    )
    reply = link.carry(witness.send_response(cosigned, now=NOW), first)
    assert isinstance(reply, ResponseReceived) and reply.message == cosigned

    # The same log comes back smaller: the witness refuses, which is the fork alarm.
    second = client(alice, bob, keys, replay)
    witness = server(bob, keys, replay)
    event = link.carry(second.send_request(CheckpointPush(checkpoint=note(8)), now=NOW), witness)
    assert isinstance(event, RequestReceived)
    refusal = CosignatureResponse(
        origin=summary.origin, size=8, outcome="refused", refusal="smaller_tree", witnessed_size=10
    )
    reply = link.carry(witness.send_response(refusal, now=NOW), second)
    assert isinstance(reply, ResponseReceived) and reply.message.refusal == "smaller_tree"


def test_outbox_retry_is_a_duplicate_answered_not_reprocessed(alice, bob, keys, replay) -> None:
    link = Link()
    push = CheckpointPush(checkpoint=note(3))
    sender = client(alice, bob, keys, replay)
    frame = sender.send_request(push, now=NOW)
    envelope_id = sender.request.envelope_id
    receiver = server(bob, keys, replay)
    event = link.carry(frame, receiver)
    record(replay, event)
    # The answer was lost; the outbox re-seals under the same envelope id with a new nonce.
    retry = client(alice, bob, keys, replay)
    again = server(bob, keys, replay)
    event = link.carry(retry.send_request(push, now=NOW + 30, envelope_id=envelope_id), again)
    assert isinstance(event, DuplicateReceived)
    assert event.envelope.envelope_id == envelope_id
    ack = DeliveryAck(envelope_id=envelope_id, status="duplicate")
    reply = link.carry(again.send_response(ack, now=NOW + 30), retry)
    assert isinstance(reply, ResponseReceived) and reply.message.status == "duplicate"
    # A byte-for-byte replay is an authentic duplicate too, and gets the same answer.
    third = server(bob, keys, replay)
    assert isinstance(link.carry(frame, third), DuplicateReceived)


def test_replayed_response_fails_the_client(alice, bob, keys, replay) -> None:
    link = Link()
    asking = client(alice, bob, keys, replay)
    answering = server(bob, keys, replay)
    event = link.carry(asking.send_request(MembershipListQuery(), now=NOW), answering)
    response = answering.send_response(
        DeliveryAck(envelope_id=event.envelope.envelope_id, status="rejected", reason="busy"),
        now=NOW,
    )
    reply = link.carry(response, asking)
    record(replay, reply)
    # The same response injected into a second exchange with the same request id.
    replayed = client(alice, bob, keys, replay)
    replayed.send_request(MembershipListQuery(), now=NOW, envelope_id=event.envelope.envelope_id)
    with pytest.raises(errors.Replayed):
        link.carry(response, replayed)
    assert replayed.state is State.FAILED


# --- a request answered after a restart, and refusals of unreadable frames ---------------------


def test_a_resumed_exchange_checks_the_answer_as_the_one_that_sent(alice, bob, keys,
                                                                  replay) -> None:
    link = Link(5)
    sent = client(alice, bob, keys, replay)
    frame = sent.send_request(CheckpointPush(checkpoint=note(4)), now=NOW)
    event = link.carry(frame, server(bob, keys, replay))
    answer = server(bob, keys, replay)
    link.carry(frame, answer)
    response = answer.send_response(
        DeliveryAck(envelope_id=event.envelope.envelope_id, status="accepted"), now=NOW)
    # The sender stopped; the stored request frame is all that is left of its exchange.
    resumed = ClientExchange.resume(endpoint(alice, keys, replay), frame)
    assert (resumed.state, resumed.peer_node_id) == (State.SENT_REQUEST, bob.node_id)
    assert resumed.request == sent.request
    reply = link.carry(response, resumed)
    assert isinstance(reply, ResponseReceived) and reply.message.status == "accepted"
    # ... and refuses what the original would have refused: an answer to another request.
    other = client(alice, bob, keys, replay).send_request(MembershipListQuery(), now=NOW)
    with pytest.raises(errors.RemoteProtocolError, match="another request"):
        link.carry(response, ClientExchange.resume(endpoint(alice, keys, replay), other))


def test_only_our_own_requests_are_resumed(alice, bob, keys, replay) -> None:
    theirs = client(bob, alice, keys, replay).send_request(MembershipListQuery(), now=NOW)
    with pytest.raises(errors.LocalProtocolError, match="not a request of this node"):
        ClientExchange.resume(endpoint(alice, keys, replay), theirs)
    answer = answer_frame(alice, bob, DeliveryAck(envelope_id="ab" * 16, status="accepted"),
                          in_reply_to="ab" * 16)
    with pytest.raises(errors.LocalProtocolError):  # a response is no request
        ClientExchange.resume(endpoint(bob, keys, replay), answer)


def frame_refusal(by, frame: bytes, reason: str = "unknown_version") -> bytes:
    refusal = FrameRefusal(frame_sha256=frame_digest(frame), reason=reason)
    return seal(refusal, sender=by.node_id, recipient=None, signing_key=by.signing_key,
                now=NOW).to_frame()


def test_a_frame_refusal_answers_the_very_frame_we_sent(alice, bob, carol, keys,
                                                        replay) -> None:
    """A peer that could not read our frame (a newer envelope format, say) says so, signed,
    naming the frame's digest: the only way to bind an answer to a frame without an id."""
    asking = client(alice, bob, keys, replay)
    frame = asking.send_request(MembershipListQuery(), now=NOW)
    reply = Link(3).carry(frame_refusal(bob, frame), asking)
    assert isinstance(reply, ResponseReceived) and isinstance(reply.message, FrameRefusal)
    assert reply.envelope.recipient is None and reply.message.reason == "unknown_version"
    # Not for a frame we did not send, and not from a node we did not ask.
    other = client(alice, bob, keys, replay)
    other.send_request(MembershipListQuery(), now=NOW)
    with pytest.raises(errors.RemoteProtocolError, match="refuses another frame"):
        Link().carry(frame_refusal(bob, frame), other)
    keys = {**keys, carol.node_id: carol.verify_key}
    third = client(alice, bob, keys, replay)
    third_frame = third.send_request(MembershipListQuery(), now=NOW)
    with pytest.raises(errors.RemoteProtocolError, match="another node"):
        Link().carry(frame_refusal(carol, third_frame), third)


def test_a_server_never_takes_an_unaddressed_envelope_as_a_request(alice, bob, keys,
                                                                   replay) -> None:
    frame = frame_refusal(alice, b"whatever")
    with pytest.raises(errors.WrongRecipient):
        Link().carry(frame, server(bob, keys, replay))


# --- the peer breaks the rules: RemoteProtocolError ------------------------------------------


def test_bytes_before_the_request_are_the_peers_fault(alice, bob, keys, replay) -> None:
    asking = client(alice, bob, keys, replay)
    asking.receive_data(b"\x00")
    with pytest.raises(errors.RemoteProtocolError):
        asking.next_event(now=NOW)
    assert asking.state is State.IDLE


def test_second_request_on_the_same_exchange(alice, bob, keys, replay) -> None:
    link = Link()
    asking, answering = client(alice, bob, keys, replay), server(bob, keys, replay)
    frame = asking.send_request(MembershipListQuery(), now=NOW)
    link.carry(frame, answering)
    with pytest.raises(errors.RemoteProtocolError):
        link.carry(frame, answering)


def test_a_non_request_message_as_request(alice, bob, keys, replay) -> None:
    frame = seal(
        DeliveryAck(envelope_id="ab" * 16, status="accepted"),
        sender=alice.node_id,
        recipient=bob.node_id,
        signing_key=alice.signing_key,
        now=NOW,
    ).to_frame()
    answering = server(bob, keys, replay)
    with pytest.raises(errors.RemoteProtocolError, match="not a request"):
        Link().carry(frame, answering)
    assert answering.state is State.FAILED


def test_a_request_claiming_to_reply(alice, bob, keys, replay) -> None:
    frame = seal(
        MembershipListQuery(),
        sender=alice.node_id,
        recipient=bob.node_id,
        signing_key=alice.signing_key,
        now=NOW,
        in_reply_to="ab" * 16,
    ).to_frame()
    with pytest.raises(errors.RemoteProtocolError):
        Link().carry(frame, server(bob, keys, replay))


def answer_frame(sender, recipient, message, *, in_reply_to: str) -> bytes:
    return seal(
        message,
        sender=sender.node_id,
        recipient=recipient.node_id,
        signing_key=sender.signing_key,
        now=NOW,
        in_reply_to=in_reply_to,
    ).to_frame()


def test_response_to_another_request(alice, bob, keys, replay) -> None:
    asking = client(alice, bob, keys, replay)
    asking.send_request(MembershipListQuery(), now=NOW)
    frame = answer_frame(
        bob, alice, DeliveryAck(envelope_id="ab" * 16, status="accepted"), in_reply_to="ab" * 16
    )
    with pytest.raises(errors.RemoteProtocolError, match="another request"):
        Link().carry(frame, asking)
    assert asking.state is State.FAILED


def test_response_from_another_node(alice, bob, carol, keys, replay) -> None:
    keys = {**keys, carol.node_id: carol.verify_key}
    asking = client(alice, bob, keys, replay)
    asking.send_request(MembershipListQuery(), now=NOW)
    ack = DeliveryAck(envelope_id="ab" * 16, status="accepted")
    frame = answer_frame(carol, alice, ack, in_reply_to=asking.request.envelope_id)
    with pytest.raises(errors.RemoteProtocolError, match="another node"):
        Link().carry(frame, asking)


def test_response_of_the_wrong_type(alice, bob, keys, replay) -> None:
    asking = client(alice, bob, keys, replay)
    asking.send_request(CheckpointPush(checkpoint=note(1)), now=NOW)
    frame = answer_frame(bob, alice, MembershipListQuery(), in_reply_to=asking.request.envelope_id)
    with pytest.raises(errors.RemoteProtocolError, match="not a response"):
        Link().carry(frame, asking)
    assert asking.state is State.FAILED


def test_a_rejected_frame_fails_the_exchange_with_its_own_error(alice, bob, keys, replay) -> None:
    asking = client(alice, bob, keys, replay)
    asking.send_request(MembershipListQuery(), now=NOW)
    ack = DeliveryAck(envelope_id="ab" * 16, status="accepted")
    frame = answer_frame(bob, alice, ack, in_reply_to=asking.request.envelope_id)
    with pytest.raises(errors.Expired):
        Link().carry(frame, asking, now=NOW + 10 * 86400)
    assert asking.state is State.FAILED
    with pytest.raises(errors.RemoteProtocolError):  # nothing more is accepted
        Link().carry(frame, asking)


def test_unknown_node_cannot_enroll_where_enrollment_is_closed(new_node, bob, replay) -> None:
    newcomer = new_node()
    request = MembershipRequest(
        node_id=newcomer.node_id,
        organisation_name="Newcomer",
        country="SY",
        contact="x@example.org",
        identity_key=newcomer.verify_key.raw().hex(),
        box_key="09" * 32,
    )
    asking = client(newcomer, bob, {bob.node_id: bob.verify_key}, replay)
    closed = server(bob, {}, replay)  # a node's endpoint, not the observatory's
    with pytest.raises(errors.UnknownSender):
        Link().carry(asking.send_request(request, now=NOW), closed)


# --- we break the rules: LocalProtocolError ---------------------------------------------------


def test_sending_twice(alice, bob, keys, replay) -> None:
    asking = client(alice, bob, keys, replay)
    asking.send_request(MembershipListQuery(), now=NOW)
    with pytest.raises(errors.LocalProtocolError):
        asking.send_request(MembershipListQuery(), now=NOW)


def test_sending_a_non_request_leaves_the_client_idle(alice, bob, keys, replay) -> None:
    asking = client(alice, bob, keys, replay)
    with pytest.raises(errors.LocalProtocolError):
        asking.send_request(DeliveryAck(envelope_id="ab" * 16, status="accepted"), now=NOW)
    assert asking.state is State.IDLE and asking.request is None


def test_responding_before_a_request_or_twice(alice, bob, keys, replay) -> None:
    answering = server(bob, keys, replay)
    ack = DeliveryAck(envelope_id="ab" * 16, status="accepted")
    with pytest.raises(errors.LocalProtocolError):
        answering.send_response(ack, now=NOW)
    asking = client(alice, bob, keys, replay)
    Link().carry(asking.send_request(MembershipListQuery(), now=NOW), answering)
    answering.send_response(ack, now=NOW)
    with pytest.raises(errors.LocalProtocolError):
        answering.send_response(ack, now=NOW)


def test_responding_with_a_type_that_does_not_answer(alice, bob, keys, replay) -> None:
    asking, answering = client(alice, bob, keys, replay), server(bob, keys, replay)
    Link().carry(asking.send_request(CheckpointPush(checkpoint=note(2)), now=NOW), answering)
    with pytest.raises(errors.LocalProtocolError, match="does not answer"):
        answering.send_response(MembershipListQuery(), now=NOW)
    assert answering.state is State.GOT_REQUEST  # still free to answer properly


# --- the tables --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "state", "trigger"), list(itertools.product(Role, State, Trigger))
)
def test_transition_table_is_the_only_source_of_truth(
    role, state, trigger, alice, bob, keys, replay
):
    machine = client(alice, bob, keys, replay) if role is Role.CLIENT else server(bob, keys, replay)
    machine._state = state  # white-box: every (state, trigger) pair, including unreachable ones
    allowed = TRANSITIONS[role].get(state, {}).get(trigger)
    if allowed is not None:
        assert machine._next_state(trigger) is allowed
    else:
        remote = trigger in (Trigger.RECEIVE_REQUEST, Trigger.RECEIVE_RESPONSE)
        error = errors.RemoteProtocolError if remote else errors.LocalProtocolError
        with pytest.raises(error):
            machine._next_state(trigger)


def test_terminal_states_have_no_exits() -> None:
    for role in Role:
        for state in (State.GOT_RESPONSE, State.SENT_RESPONSE, State.FAILED):
            assert not TRANSITIONS[role].get(state)


def test_every_request_and_response_is_registered() -> None:
    for spec in EXCHANGES:
        assert spec.request in REGISTRY
        assert all(response in REGISTRY for response in spec.responses)
    requests = [spec.request for spec in EXCHANGES]
    assert len(requests) == len(set(requests))
