"""Signed envelopes: sealing, verification, and one test per rejection reason (issue 5)."""

from __future__ import annotations

import json
import secrets

import pytest

from protocol import errors
from protocol.delivery import DeliveryAck, FrameRefusal
from protocol.encoding import canonical_json
from protocol.envelope import (
    DEFAULT_POLICY,
    Envelope,
    FreshnessPolicy,
    seal,
    verify_frame,
)
from protocol.framing import MAX_FRAME_BYTES, decode_frame, encode_frame, encode_uvarint
from protocol.membership import MembershipRequest
from protocol.message import Message
from protocol.statements import CERTIFICATE_DOMAIN, ENVELOPE_DOMAIN, sign_bytes

NOW = 1_800_000_000  # the fixtures' clock (conftest.NOW)
SKEW = DEFAULT_POLICY.max_clock_skew
LIFETIME = DEFAULT_POLICY.max_lifetime


@pytest.fixture
def verify(bob, keys, replay):
    """verify_frame as bob, at NOW unless told otherwise."""

    def run(frame: bytes, *, now: int = NOW, **kwargs):
        kwargs.setdefault("local_node_id", bob.node_id)
        kwargs.setdefault("lookup_key", keys.get)
        kwargs.setdefault("is_replay", replay)
        return verify_frame(frame, now=now, **kwargs)

    return run


def ack() -> DeliveryAck:
    return DeliveryAck(envelope_id=secrets.token_hex(16), status="accepted")


def test_seal_then_verify_returns_envelope_and_typed_message(alice, bob, verify) -> None:
    message = ack()
    envelope = seal(
        message, sender=alice.node_id, recipient=bob.node_id, signing_key=alice.signing_key, now=NOW
    )
    verified = verify(envelope.to_frame())
    assert verified.envelope == envelope
    assert verified.message == message
    assert isinstance(verified.message, DeliveryAck)


def test_seal_generates_fresh_ids_and_nonces(alice, bob) -> None:
    kwargs = dict(
        sender=alice.node_id, recipient=bob.node_id, signing_key=alice.signing_key, now=NOW
    )
    first, second = seal(ack(), **kwargs), seal(ack(), **kwargs)
    assert first.envelope_id != second.envelope_id
    assert first.nonce != second.nonce
    assert len(bytes.fromhex(first.nonce)) >= 16


def test_outbox_reseal_keeps_envelope_id_with_new_nonce(alice, bob) -> None:
    kwargs = dict(
        sender=alice.node_id, recipient=bob.node_id, signing_key=alice.signing_key, now=NOW
    )
    first = seal(ack(), **kwargs)
    again = seal(ack(), envelope_id=first.envelope_id, **kwargs)
    assert again.envelope_id == first.envelope_id and again.nonce != first.nonce


def test_seal_refuses_unregistered_message_and_bad_ttl(alice, bob) -> None:
    class Stray(Message):
        TYPE = "stray.message"
        VERSION = 1

    kwargs = dict(
        sender=alice.node_id, recipient=bob.node_id, signing_key=alice.signing_key, now=NOW
    )
    with pytest.raises(errors.LocalProtocolError):
        seal(Stray(), **kwargs)
    for ttl in (0, -1, LIFETIME + 1):
        with pytest.raises(errors.LocalProtocolError):
            seal(ack(), ttl=ttl, **kwargs)


def test_seal_refuses_invalid_addresses(alice) -> None:
    with pytest.raises(errors.EncodingError):
        seal(
            ack(),
            sender=alice.node_id,
            recipient="Not-A-Node",
            signing_key=alice.signing_key,
            now=NOW,
        )
    with pytest.raises(errors.EncodingError):
        seal(
            ack(),
            sender=alice.node_id,
            recipient=alice.node_id,
            signing_key=alice.signing_key,
            now=NOW,
        )


def test_envelope_is_frozen(alice, bob) -> None:
    envelope = seal(
        ack(), sender=alice.node_id, recipient=bob.node_id, signing_key=alice.signing_key, now=NOW
    )
    with pytest.raises(ValueError):
        envelope.recipient = alice.node_id  # type: ignore[misc]


# --- one test per rejection reason ------------------------------------------------------


def test_rejects_oversized_frame(verify) -> None:
    with pytest.raises(errors.FrameTooLarge):
        verify(b"\x00" * (MAX_FRAME_BYTES + 5))
    with pytest.raises(errors.FrameTooLarge):
        verify(encode_uvarint(MAX_FRAME_BYTES + 1) + b"{}")


@pytest.mark.parametrize(
    "frame",
    [
        b"",
        b"\x00\x00",
        encode_uvarint(10) + b"{}",
        encode_frame(b"not json"),
        encode_frame(b"[]"),
        encode_frame(b'"a string"'),
        encode_frame(b'{ "format":1}'),
    ],
)
def test_rejects_malformed_frame(verify, frame: bytes) -> None:
    with pytest.raises(errors.MalformedFrame):
        verify(frame)


@pytest.mark.parametrize(
    "change",
    [
        {"drop": ("nonce",)},
        {"drop": ("in_reply_to",)},
        {"extra": "field"},
        {"nonce": "00" * 8},  # nonce shorter than 16 bytes
        {"nonce": "AB" * 16},  # upper-case hex is not the canonical spelling
        {"envelope_id": "xyz"},
        {"sender": "ALICE"},
        {"version": True},
        {"created": "1800000000"},
        {"expires": NOW},  # not after created
        {"type": "Delivery.Ack"},
        {"payload": []},
        {"format": True},
    ],
)
def test_rejects_envelope_that_fails_schema(make_frame, verify, change) -> None:
    with pytest.raises(errors.MalformedFrame):
        verify(make_frame(**change))


def test_rejects_payload_that_fails_its_model(make_frame, verify) -> None:
    with pytest.raises(errors.MalformedFrame, match="payload"):
        verify(make_frame(payload={"envelope_id": "ab" * 16, "status": "maybe"}))


def test_rejects_unknown_envelope_format(make_frame, verify) -> None:
    with pytest.raises(errors.UnknownVersion, match="envelope format"):
        verify(make_frame(format=2))


def test_rejects_unknown_message_version(make_frame, verify) -> None:
    with pytest.raises(errors.UnknownVersion, match=r"delivery\.ack"):
        verify(make_frame(version=2))


def test_rejects_unknown_message_type(make_frame, verify) -> None:
    with pytest.raises(errors.UnknownMessageType):
        verify(make_frame(type="gossip.rumour"))


def test_rejects_unknown_sender(make_frame, verify, new_node) -> None:
    stranger = new_node()
    with pytest.raises(errors.UnknownSender):
        verify(make_frame(sender=stranger.node_id, sign_with=stranger.signing_key))


def test_rejects_wrong_recipient(make_frame, verify, carol) -> None:
    with pytest.raises(errors.WrongRecipient):
        verify(make_frame(recipient=carol.node_id))


def test_rejects_not_yet_valid_beyond_skew(make_frame, verify) -> None:
    created = NOW + SKEW + 1
    with pytest.raises(errors.NotYetValid):
        verify(make_frame(created=created, expires=created + 60))
    # At the edge of the allowance it is accepted.
    verify(make_frame(created=NOW + SKEW, expires=NOW + SKEW + 60))


def test_rejects_expired(make_frame, verify) -> None:
    with pytest.raises(errors.Expired):
        verify(make_frame(created=NOW - 100, expires=NOW))
    verify(make_frame(created=NOW - 100, expires=NOW + 1))


def test_rejects_lifetime_beyond_maximum(make_frame, verify) -> None:
    with pytest.raises(errors.LifetimeTooLong):
        verify(make_frame(created=NOW, expires=NOW + LIFETIME + 1))
    verify(make_frame(created=NOW, expires=NOW + LIFETIME))


def test_policy_is_the_callers(make_frame, verify) -> None:
    strict = FreshnessPolicy(max_clock_skew=0, max_lifetime=60)
    with pytest.raises(errors.NotYetValid):
        verify(make_frame(created=NOW + 1, expires=NOW + 30), policy=strict)
    with pytest.raises(errors.LifetimeTooLong):
        verify(make_frame(created=NOW, expires=NOW + 61), policy=strict)


def test_rejects_replayed_envelope_and_exposes_it_for_a_duplicate_ack(
    make_frame, verify, replay
) -> None:
    frame = make_frame()
    verified = verify(frame)
    env = verified.envelope
    replay.record(env.sender, env.envelope_id, env.nonce)
    with pytest.raises(errors.Replayed) as info:
        verify(frame)
    assert info.value.envelope == env


def test_rejects_reused_nonce_under_new_envelope_id(make_frame, verify, replay) -> None:
    nonce = secrets.token_hex(16)
    env = verify(make_frame(nonce=nonce)).envelope
    replay.record(env.sender, env.envelope_id, env.nonce)
    with pytest.raises(errors.Replayed):
        verify(make_frame(nonce=nonce))


def test_rejects_signature_by_another_key(make_frame, verify, carol) -> None:
    with pytest.raises(errors.BadSignature):
        verify(make_frame(sign_with=carol.signing_key))


def test_rejects_signature_from_another_domain(make_frame, verify, alice) -> None:
    frame = make_frame()
    obj = json.loads(decode_frame(frame))
    unsigned = {k: v for k, v in obj.items() if k != "signature"}
    # Same bytes, signed as if they were a membership certificate.
    wrong_domain = sign_bytes(CERTIFICATE_DOMAIN, canonical_json(unsigned), alice.signing_key)
    with pytest.raises(errors.BadSignature):
        verify(make_frame(signature=wrong_domain, **{k: unsigned[k] for k in unsigned}))
    right = sign_bytes(ENVELOPE_DOMAIN, canonical_json(unsigned), alice.signing_key)
    assert right == obj["signature"]


@pytest.mark.parametrize("bit", [0, 7, 100, 511])
def test_flipped_signature_bit_fails(make_frame, verify, bit: int) -> None:
    obj = json.loads(decode_frame(make_frame()))
    signature = bytearray(bytes.fromhex(obj["signature"]))
    signature[bit // 8] ^= 1 << (bit % 8)
    obj["signature"] = signature.hex()
    with pytest.raises(errors.BadSignature):
        verify(encode_frame(canonical_json(obj)))


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("expires", NOW + 7200),
        ("in_reply_to", "cd" * 16),
        (
            "payload",
            {"envelope_id": "cd" * 16, "status": "duplicate", "reason": None, "detail": None},
        ),
    ],
)
def test_any_signed_field_changed_after_signing_fails(make_frame, verify, field, value) -> None:
    obj = json.loads(decode_frame(make_frame()))
    obj[field] = value
    with pytest.raises(errors.BadSignature):
        verify(encode_frame(canonical_json(obj)))


# --- order and purity -------------------------------------------------------------------


def test_replay_store_is_not_consulted_unless_the_signature_verifies(
    make_frame, verify, replay, carol
) -> None:
    with pytest.raises(errors.BadSignature):
        verify(make_frame(sign_with=carol.signing_key))
    assert replay.queries == 0


def test_key_lookup_happens_after_cheap_checks(make_frame, verify, carol) -> None:
    looked_up: list[str] = []

    def lookup(node_id: str):
        looked_up.append(node_id)
        return None

    for frame in (make_frame(recipient=carol.node_id), make_frame(created=NOW - 99, expires=NOW)):
        with pytest.raises((errors.WrongRecipient, errors.Expired)):
            verify(frame, lookup_key=lookup)
    assert looked_up == []


def test_verify_stores_nothing(make_frame, verify, replay) -> None:
    frame = make_frame()
    first = verify(frame)
    second = verify(frame)  # the caller did not record it, so it is not a replay
    assert first == second
    assert replay.seen == set()


def test_every_rejection_is_a_protocol_error_with_a_reason() -> None:
    reasons = {
        cls.reason
        for cls in vars(errors).values()
        if isinstance(cls, type) and issubclass(cls, errors.EnvelopeRejected)
    }
    assert len(reasons) == 13  # the base plus twelve distinct reasons
    assert issubclass(errors.EnvelopeRejected, errors.ProtocolError)


def test_errors_never_carry_payload_content(make_frame, verify, new_node, alice, bob) -> None:
    canary = "CANARY-SURVIVOR-NAME"
    request = MembershipRequest(
        node_id=alice.node_id,
        organisation_name=canary,
        country="UA",
        contact=canary,
        identity_key=alice.verify_key.raw().hex(),
        box_key="11" * 32,
    )
    payload = request.to_json_object()
    bad_payload = {**payload, "country": canary}
    extra_payload = {**payload, canary: canary}
    stranger = new_node()
    frames = [
        make_frame(type="membership.request", payload=bad_payload),
        make_frame(type="membership.request", payload=extra_payload),
        make_frame(type="membership.request", payload=payload, **{canary: 1}),
        make_frame(type="membership.request", payload=payload, sign_with=stranger.signing_key),
        make_frame(type="membership.request", payload=payload, version=9),
    ]
    for frame in frames:
        with pytest.raises(errors.EnvelopeRejected) as info:
            verify(frame)
        assert canary not in str(info.value)


# --- enrollment: a request that carries its own key ---------------------------------------


def enrollment_frame(node, observatory, *, node_id: str | None = None) -> bytes:
    request = MembershipRequest(
        node_id=node_id or node.node_id,
        organisation_name="Mukwege Partners",
        country="CD",
        contact="intake@example.org",
        identity_key=node.verify_key.raw().hex(),
        box_key="22" * 32,
    )
    return seal(
        request,
        sender=node.node_id,
        recipient=observatory.node_id,
        signing_key=node.signing_key,
        now=NOW,
    ).to_frame()


def test_enrollment_request_verifies_with_its_own_key_only_when_allowed(
    new_node, bob, verify
) -> None:
    newcomer = new_node()
    frame = enrollment_frame(newcomer, bob)
    with pytest.raises(errors.UnknownSender):
        verify(frame)
    verified = verify(frame, accept_self_certified=True)
    assert isinstance(verified.message, MembershipRequest)


def test_enrollment_request_for_another_node_id_is_not_self_certified(
    new_node, bob, verify
) -> None:
    newcomer = new_node()
    frame = enrollment_frame(newcomer, bob, node_id=secrets.token_hex(16))
    with pytest.raises(errors.UnknownSender):
        verify(frame, accept_self_certified=True)


def test_enrollment_request_signed_by_another_key_fails(new_node, bob, make_frame, verify) -> None:
    newcomer, thief = new_node(), new_node()
    request = MembershipRequest(
        node_id=newcomer.node_id,
        organisation_name="Impostor",
        country="CD",
        contact="x@example.org",
        identity_key=newcomer.verify_key.raw().hex(),
        box_key="22" * 32,
    )
    frame = make_frame(
        type="membership.request",
        sender=newcomer.node_id,
        payload=request.to_json_object(),
        sign_with=thief.signing_key,
    )
    with pytest.raises(errors.BadSignature):
        verify(frame, accept_self_certified=True)


def test_only_self_certifying_messages_are_self_certified(make_frame, verify, new_node) -> None:
    stranger = new_node()
    with pytest.raises(errors.UnknownSender):
        verify(
            make_frame(sender=stranger.node_id, sign_with=stranger.signing_key),
            accept_self_certified=True,
        )


def test_envelope_model_round_trips_its_frame(alice, bob) -> None:
    envelope = seal(
        ack(), sender=alice.node_id, recipient=bob.node_id, signing_key=alice.signing_key, now=NOW
    )
    assert Envelope.model_validate(json.loads(decode_frame(envelope.to_frame()))) == envelope


# --- the one unaddressed message: a refusal of a frame whose sender could not be read -------


def refusal() -> FrameRefusal:
    return FrameRefusal(frame_sha256="ab" * 32, reason="malformed")


def test_only_an_unaddressed_type_is_sealed_without_a_recipient(alice, bob) -> None:
    with pytest.raises(errors.LocalProtocolError, match="must not"):
        seal(ack(), sender=alice.node_id, recipient=None, signing_key=alice.signing_key,
             now=NOW)
    with pytest.raises(errors.LocalProtocolError, match="must"):
        seal(refusal(), sender=alice.node_id, recipient=bob.node_id,
             signing_key=alice.signing_key, now=NOW)
    sealed = seal(refusal(), sender=alice.node_id, recipient=None,
                  signing_key=alice.signing_key, now=NOW)
    assert sealed.recipient is None and sealed.in_reply_to is None


def test_an_unaddressed_envelope_is_accepted_only_where_asked_for(alice, verify) -> None:
    frame = seal(refusal(), sender=alice.node_id, recipient=None,
                 signing_key=alice.signing_key, now=NOW).to_frame()
    with pytest.raises(errors.WrongRecipient, match="names no recipient"):
        verify(frame)  # a server never accepts one
    verified = verify(frame, accept_unaddressed=True)  # a client waiting for an answer does
    assert verified.message == refusal() and verified.key == alice.verify_key


def test_unaddressed_rules_hold_in_signed_frames(make_frame, verify) -> None:
    payload = refusal().to_json_object()
    # a refusal type addressed to someone: malformed, not silently accepted
    with pytest.raises(errors.MalformedFrame, match="names no recipient"):
        verify(make_frame(type="delivery.frame_refusal", payload=payload),
               accept_unaddressed=True)
    # any other type without a recipient: refused even where unaddressed refusals are allowed
    with pytest.raises(errors.WrongRecipient):
        verify(make_frame(recipient=None), accept_unaddressed=True)
    # an unaddressed envelope replies to nothing
    with pytest.raises(errors.MalformedFrame):
        verify(make_frame(type="delivery.frame_refusal", payload=payload, recipient=None,
                          in_reply_to="cd" * 16), accept_unaddressed=True)


def test_from_frame_parses_without_verifying(make_frame, alice) -> None:
    forged = make_frame(signature="00" * 64)
    envelope = Envelope.from_frame(forged)  # only to address a refusal: nothing is believed
    assert envelope.sender == alice.node_id
    with pytest.raises(errors.MalformedFrame):
        Envelope.from_frame(encode_frame(b"[1]"))
    with pytest.raises(errors.UnknownVersion):
        Envelope.from_frame(make_frame(format=2))

