"""Hypothesis fuzzing of the decoder (issue 5, "Tests that must exist"; h11's fuzz harness).

Random and mutated frames must never verify, and must never raise anything but the protocol's
own `EnvelopeRejected` errors: no KeyError, RecursionError, UnicodeError or pydantic error
escapes to the transport.
"""

from __future__ import annotations

import json
import secrets
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from crypto.keys import SigningKey
from protocol.delivery import DeliveryAck
from protocol.encoding import canonical_json
from protocol.engagements import ExpertNeed
from protocol.envelope import seal, verify_frame
from protocol.errors import EnvelopeRejected, ProtocolError
from protocol.experts import (
    CredentialBody,
    DirectoryBody,
    DirectoryEntry,
    ExpertCredential,
    ExpertDirectory,
    ExpertProfile,
)
from protocol.framing import (
    MAX_FRAME_BYTES,
    FrameDecoder,
    decode_frame,
    encode_frame,
    encode_uvarint,
)
from protocol.membership import MembershipRequest
from protocol.witness import CheckpointPush

NOW = 1_800_000_000
SENDER, RECIPIENT = "a1" * 16, "b2" * 16
SENDER_KEY = SigningKey(bytes(range(32)))
KEYS = {SENDER: SENDER_KEY.verify_key}
ROOT = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
SIG_LINE = "\u2014 a.example " + "A" * 92


def _messages() -> list[Any]:
    return [
        DeliveryAck(envelope_id="cd" * 16, status="rejected", reason="expired", detail="late"),
        MembershipRequest(
            node_id=SENDER,
            organisation_name="Organisation",
            country="IQ",
            contact="a@example.org",
            identity_key=SENDER_KEY.verify_key.raw().hex(),
            box_key="07" * 32,
        ),
        CheckpointPush(
            checkpoint=f"a.example/log\n9\n{ROOT}\n\n{SIG_LINE}\n",
            old_size=4,
            consistency_proof=("ab" * 32, "cd" * 32),
        ),
        *_expert_messages(),
    ]


def _expert_messages() -> list[Any]:
    """The expert network's (issue 16): a need, and the directory, signed twice over."""
    credential = ExpertCredential.issue(CredentialBody(
        serial="c1" * 16, issuer=SENDER, home_node="d4" * 16, expert_key="e5" * 32,
        box_key="f6" * 32, specialties=("forensic_medicine",), vouch_id="a7" * 16,
        not_before=NOW - 60, not_after=NOW + 86400), SENDER_KEY)
    profile = ExpertProfile(specialties=("forensic_medicine",), languages=("fr", "sw"),
                            countries=("CD",), regions=("CD-NK",), modes=("remote",))
    return [
        ExpertNeed(need_id="ab" * 16, specialty="forensic_medicine", languages=("fr",),
                   country="CD", regions=("CD-NK", "CD-SK"), mode="either", urgency="urgent",
                   posted_at=NOW, deadline=NOW + 3600, experts=("e5" * 32,)),
        ExpertDirectory.issue(DirectoryBody(
            issuer=SENDER, sequence=3, issued_at=NOW - 10,
            entries=(DirectoryEntry(credential=credential, profile=profile,
                                    availability="now"),)), SENDER_KEY),
    ]


VALID_FRAMES = [
    seal(m, sender=SENDER, recipient=RECIPIENT, signing_key=SENDER_KEY, now=NOW).to_frame()
    for m in _messages()
]


def verify(frame: bytes, *, self_certified: bool = True) -> None:
    verify_frame(
        frame,
        local_node_id=RECIPIENT,
        now=NOW,
        lookup_key=KEYS.get,
        is_replay=lambda *_: False,
        accept_self_certified=self_certified,
    )


def assert_rejected(frame: bytes) -> None:
    """The one property: rejected with one of our errors, whatever the input."""
    with pytest.raises(EnvelopeRejected):
        verify(frame)


def framed(value: Any) -> bytes:
    """Canonical frame of `value`; values canonical JSON cannot carry are not interesting here."""
    try:
        return encode_frame(canonical_json(value))
    except ProtocolError:
        assume(False)
        raise


def test_the_unmutated_frames_verify() -> None:
    for frame in VALID_FRAMES:
        verify(frame)


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**60), 2**60)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=20,
)


@settings(deadline=None)
@given(st.binary(max_size=2048))
def test_random_bytes_are_rejected(data: bytes) -> None:
    assert_rejected(data)


@settings(deadline=None)
@given(st.binary(max_size=2048))
def test_random_bytes_in_a_valid_frame_are_rejected(data: bytes) -> None:
    assert_rejected(encode_frame(data))


@settings(deadline=None)
@given(json_values)
def test_random_json_is_rejected(value: Any) -> None:
    assert_rejected(framed(value))


@settings(deadline=None)
@given(json_values)
def test_random_json_in_python_json_spelling_is_rejected(value: Any) -> None:
    assert_rejected(encode_frame(json.dumps(value).encode()))


@settings(deadline=None, max_examples=300)
@given(st.sampled_from(VALID_FRAMES), st.data())
def test_flipped_bit_anywhere_is_rejected(frame: bytes, data: st.DataObject) -> None:
    bit = data.draw(st.integers(0, len(frame) * 8 - 1))
    mutated = bytearray(frame)
    mutated[bit // 8] ^= 1 << (bit % 8)
    assert_rejected(bytes(mutated))


@settings(deadline=None)
@given(st.sampled_from(VALID_FRAMES), st.data())
def test_truncated_frame_is_rejected(frame: bytes, data: st.DataObject) -> None:
    cut = data.draw(st.integers(0, len(frame) - 1))
    assert_rejected(frame[:cut])


@settings(deadline=None)
@given(st.sampled_from(VALID_FRAMES), st.binary(min_size=1, max_size=64))
def test_extended_frame_is_rejected(frame: bytes, tail: bytes) -> None:
    assert_rejected(frame + tail)
    # Even with the length prefix fixed up to cover the extra bytes.
    body = decode_frame(frame) + tail
    assert_rejected(encode_frame(body))


@settings(deadline=None)
@given(st.sampled_from(VALID_FRAMES), st.data())
def test_overwritten_bytes_are_rejected(frame: bytes, data: st.DataObject) -> None:
    start = data.draw(st.integers(0, len(frame) - 1))
    patch = data.draw(st.binary(min_size=1, max_size=16))
    mutated = frame[:start] + patch + frame[start + len(patch) :]
    assume(mutated != frame)
    assert_rejected(mutated)


@settings(deadline=None, max_examples=300)
@given(st.sampled_from(VALID_FRAMES), st.data())
def test_any_field_replaced_with_any_json_is_rejected(frame: bytes, data: st.DataObject) -> None:
    obj = json.loads(decode_frame(frame))
    field = data.draw(st.sampled_from(sorted(obj)))
    value = data.draw(json_values)
    assume(value != obj[field])
    obj[field] = value
    assert_rejected(framed(obj))


@settings(deadline=None)
@given(st.sampled_from(VALID_FRAMES), st.data())
def test_payload_field_replaced_dropped_or_added_is_rejected(
    frame: bytes, data: st.DataObject
) -> None:
    obj = json.loads(decode_frame(frame))
    payload = dict(obj["payload"])
    action = data.draw(st.sampled_from(["replace", "drop", "add"]))
    if action == "add":
        payload[data.draw(st.text(max_size=10))] = data.draw(json_values)
    else:
        field = data.draw(st.sampled_from(sorted(payload)))
        if action == "drop":
            del payload[field]
        else:
            payload[field] = data.draw(json_values)
    assume(payload != obj["payload"])
    obj["payload"] = payload
    assert_rejected(framed(obj))


@settings(deadline=None)
@given(st.sampled_from(VALID_FRAMES), st.data())
def test_envelope_field_dropped_or_added_is_rejected(frame: bytes, data: st.DataObject) -> None:
    obj = json.loads(decode_frame(frame))
    if data.draw(st.booleans()):
        del obj[data.draw(st.sampled_from(sorted(obj)))]
    else:
        key = data.draw(st.text(max_size=12).filter(lambda k: k not in obj))
        obj[key] = data.draw(json_values)
    assert_rejected(framed(obj))


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(VALID_FRAMES), st.integers(MAX_FRAME_BYTES + 1, 2**63 - 1))
def test_declared_length_over_the_maximum_is_rejected(frame: bytes, declared: int) -> None:
    assert_rejected(encode_uvarint(declared) + decode_frame(frame))


@settings(deadline=None)
@given(st.sampled_from(VALID_FRAMES), st.integers(1, 6))
def test_a_non_minimal_length_prefix_is_rejected(frame: bytes, padding: int) -> None:
    body = decode_frame(frame)
    prefix = bytearray(encode_uvarint(len(body)))
    prefix[-1] |= 0x80  # the same length, spread over more bytes ending in a zero group
    non_minimal = bytes(prefix) + b"\x80" * (padding - 1) + b"\x00"
    assert_rejected(non_minimal + body)


@settings(deadline=None)
@given(st.lists(st.binary(max_size=64), max_size=20))
def test_frame_decoder_survives_random_chunks(chunks: list[bytes]) -> None:
    decoder = FrameDecoder()
    try:
        for chunk in chunks:
            decoder.feed(chunk)
            while (frame := decoder.next_frame()) is not None:
                assert_rejected(frame)
    except EnvelopeRejected:
        pass


@settings(deadline=None)
@given(st.sampled_from(VALID_FRAMES), st.lists(st.integers(1, 50), min_size=1, max_size=50))
def test_frame_decoder_reassembles_any_chunking(frame: bytes, sizes: list[int]) -> None:
    decoder, position, frames = FrameDecoder(), 0, []
    for size in sizes * (len(frame) // sum(sizes) + 1):
        decoder.feed(frame[position : position + size])
        position += size
        while (complete := decoder.next_frame()) is not None:
            frames.append(complete)
    assert frames == [frame]
    verify(frames[0])


def test_a_fresh_signature_by_an_unknown_key_never_verifies() -> None:
    stranger = SigningKey.generate()
    frame = seal(
        _messages()[0], sender=SENDER, recipient=RECIPIENT, signing_key=stranger, now=NOW
    ).to_frame()
    assert_rejected(frame)
    body = decode_frame(frame)
    assert secrets.compare_digest(frame[: len(frame) - len(body)], encode_uvarint(len(body)))
