"""Canonical JSON (RFC 8785) and unsigned-varint length-prefixed framing."""

from __future__ import annotations

from typing import Any

import pytest
import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

from protocol.encoding import MAX_NESTING_DEPTH, MAX_SAFE_INT, canonical_json, parse_canonical_json
from protocol.errors import (
    EncodingError,
    FrameTooLarge,
    LocalProtocolError,
    MalformedFrame,
)
from protocol.framing import (
    MAX_FRAME_BYTES,
    VARINT,
    FrameDecoder,
    decode_frame,
    encode_frame,
    encode_uvarint,
)


def test_canonical_json_sorts_keys_and_drops_whitespace() -> None:
    assert canonical_json({"b": [1, 2.5, None], "a": "é"}) == '{"a":"é","b":[1,2.5,null]}'.encode()


def test_canonical_json_rfc8785_number_examples() -> None:
    # RFC 8785 §3.2.2.3 / Appendix B: ECMAScript number serialisation.
    assert (
        canonical_json([1e21, 1e-7, 333333333.3333333, -0.0]) == b"[1e+21,1e-7,333333333.3333333,0]"
    )


@pytest.mark.parametrize("value", [float("nan"), float("inf"), 2**53, {1: "x"}, "\ud800", object()])
def test_canonical_json_refuses_values_json_cannot_carry(value: object) -> None:
    with pytest.raises(EncodingError):
        canonical_json(value)


def test_parse_accepts_exactly_the_canonical_form() -> None:
    assert parse_canonical_json(b'{"a":[1,"x",true,null],"b":{}}') == {
        "a": [1, "x", True, None],
        "b": {},
    }


@pytest.mark.parametrize(
    ("body", "why"),
    [
        (b'{"b":1,"a":2}', "canonical"),  # unsorted keys
        (b'{"a": 1}', "canonical"),  # whitespace
        (b'{"a":1.0}', "canonical"),  # 1.0 is spelt 1
        (b'{"a":"\\u0041"}', "canonical"),  # needless escape
        (b'{"a":1,"a":2}', "duplicate"),
        (b'{"a":NaN}', "JSON"),
        (b'{"a":Infinity}', "JSON"),
        (b"{", "JSON"),
        (b"", "JSON"),
        (b'{"a":9007199254740993}', "canonical"),  # not a double: reads as 2**53
        (b'{"a":' + b"9" * 400 + b"}", "exactly"),  # beyond the largest double
        (b'{"a":"\\ud800"}', "exactly"),  # lone surrogate
        (b"\xff\xfe{\x00}\x00", "UTF-8"),
        ('{"a":1}'.encode("utf-16"), "UTF-8"),
        (b'{"a":' + b"1" * 5000 + b"}", "JSON"),  # over Python's int digit limit
    ],
)
def test_parse_rejects_non_canonical_or_invalid(body: bytes, why: str) -> None:
    with pytest.raises(MalformedFrame, match=why):
        parse_canonical_json(body)


def test_large_integral_doubles_round_trip() -> None:
    # RFC 8785 writes the double 2**53 as "9007199254740992"; it must parse back as that double.
    body = canonical_json({"variance": float(2**53), "big": 1e300})
    assert parse_canonical_json(body) == {"variance": float(2**53), "big": 1e300}


def test_parse_bounds_nesting_without_recursing() -> None:
    too_deep = b"[" * (MAX_NESTING_DEPTH + 1) + b"]" * (MAX_NESTING_DEPTH + 1)
    with pytest.raises(MalformedFrame, match="deep"):
        parse_canonical_json(too_deep)
    hostile = b"[" * 200_000 + b"]" * 200_000
    with pytest.raises(MalformedFrame):
        parse_canonical_json(hostile)
    ok = b"[" * MAX_NESTING_DEPTH + b"]" * MAX_NESTING_DEPTH
    assert parse_canonical_json(ok) is not None


def test_parse_error_never_quotes_the_input() -> None:
    with pytest.raises(MalformedFrame) as info:
        parse_canonical_json(b'{"name":"SECRET-CANARY" ')
    assert "CANARY" not in str(info.value)


# Known answers from the multiformats unsigned-varint spec's examples.
UVARINT_VECTORS = [
    (0, "00"), (1, "01"), (127, "7f"), (128, "8001"), (255, "ff01"), (300, "ac02"),
    (16384, "808001"), (MAX_FRAME_BYTES, "808040"), (2**63 - 1, "ffffffffffffffff7f"),
]


@pytest.mark.parametrize(("value", "encoded"), UVARINT_VECTORS)
def test_uvarint_known_answers(value: int, encoded: str) -> None:
    assert encode_uvarint(value) == bytes.fromhex(encoded)


def test_uvarint_range() -> None:
    with pytest.raises(EncodingError):
        encode_uvarint(-1)
    with pytest.raises(EncodingError):
        encode_uvarint(2**63)  # would need a tenth byte


def test_frame_round_trip() -> None:
    assert decode_frame(encode_frame(b"hello")) == b"hello"
    assert encode_frame(b"hi") == b"\x02hi"
    assert encode_frame(b"x" * 300)[:2] == bytes.fromhex("ac02")
    assert decode_frame(encode_frame(b"")) == b""


def test_encode_frame_refuses_oversized_body() -> None:
    with pytest.raises(EncodingError):
        encode_frame(b"x" * (MAX_FRAME_BYTES + 1))
    assert len(encode_frame(b"x" * MAX_FRAME_BYTES)) == MAX_FRAME_BYTES + VARINT.max_bytes


@pytest.mark.parametrize(
    "frame",
    [
        b"",
        b"\x80",  # a prefix that never ends
        b"\x05abcd",  # declares more than it carries
        b"\x03abcd",  # carries more than it declares
        b"\x81\x00" + b"a",  # 1, not minimally encoded
        b"\x80\x00",  # 0, not minimally encoded
        b"\x80\x80\x80\x00",  # 0 in four bytes
        b"\x80" * 9 + b"\x00",  # longer than the spec's 9 bytes
    ],
)
def test_decode_frame_rejects_bad_length(frame: bytes) -> None:
    with pytest.raises(MalformedFrame):
        decode_frame(frame)


def test_decode_frame_rejects_oversized_before_reading() -> None:
    with pytest.raises(FrameTooLarge):
        decode_frame(encode_uvarint(MAX_FRAME_BYTES + 1) + b"{}")
    with pytest.raises(FrameTooLarge):
        decode_frame(b"\x00" * (MAX_FRAME_BYTES + VARINT.max_bytes + 1))
    # Known from the first bytes of the prefix: the rest of it is not needed.
    with pytest.raises(FrameTooLarge):
        VARINT.parse(b"\xff\xff\xff")
    assert VARINT.parse(b"\xff\xff") is None  # 2**14 - 1 and more to come: not known yet


def test_frame_decoder_reassembles_frames_fed_byte_by_byte() -> None:
    stream = encode_frame(b"one") + encode_frame(b"") + encode_frame(b"three")
    decoder = FrameDecoder()
    frames = []
    for i in range(len(stream)):
        decoder.feed(stream[i : i + 1])
        while (frame := decoder.next_frame()) is not None:
            frames.append(decode_frame(frame))
    assert frames == [b"one", b"", b"three"]
    assert decoder.buffered == 0


def test_frame_decoder_refuses_oversized_declaration_and_then_everything() -> None:
    decoder = FrameDecoder()
    decoder.feed(encode_uvarint(MAX_FRAME_BYTES + 1))
    with pytest.raises(FrameTooLarge):
        decoder.next_frame()
    assert decoder.buffered == 0  # nothing of the hostile stream is kept
    with pytest.raises(LocalProtocolError):
        decoder.feed(b"more")
    with pytest.raises(LocalProtocolError):
        decoder.next_frame()


def test_frame_decoder_refuses_a_non_minimal_prefix_and_then_everything() -> None:
    decoder = FrameDecoder()
    decoder.feed(b"\x85\x00hello")
    with pytest.raises(MalformedFrame):
        decoder.next_frame()
    assert decoder.buffered == 0
    with pytest.raises(LocalProtocolError):
        decoder.feed(b"more")


def test_frame_decoder_wanted_never_reads_past_the_frame_by_more_than_a_prefix() -> None:
    frame = encode_frame(b"x" * 1000)  # two-byte prefix
    decoder = FrameDecoder()
    assert decoder.wanted == VARINT.max_bytes  # nothing known yet: at most a prefix
    decoder.feed(frame[:1])
    assert decoder.wanted == VARINT.max_bytes - 1
    decoder.feed(frame[1:3])
    assert decoder.wanted == len(frame) - 3  # the prefix is known: exactly the rest
    decoder.feed(frame[3:])
    assert decoder.next_frame() == frame
    assert decoder.wanted == VARINT.max_bytes
    decoder.feed(encode_uvarint(MAX_FRAME_BYTES + 1))
    with pytest.raises(FrameTooLarge):
        _ = decoder.wanted


# -- the standard library's fast path writes RFC 8785's bytes, or is not taken -------------

_json_values = st.recursive(
    st.none() | st.booleans() | st.text() | st.floats(allow_nan=False, allow_infinity=False)
    | st.integers(min_value=-(2**60), max_value=2**60)
    | st.sampled_from([MAX_SAFE_INT, -MAX_SAFE_INT, MAX_SAFE_INT + 1, 0, -1]),
    lambda children: st.lists(children, max_size=5)
    | st.dictionaries(st.text(max_size=6), children, max_size=5),
    max_leaves=30,
)


def _ours_and_rfc8785(value: Any) -> tuple[bytes | None, bytes | None]:
    """`canonical_json(value)` and `rfc8785.dumps(value)`, None where either refuses."""
    try:
        ours: bytes | None = canonical_json(value)
    except EncodingError:
        ours = None
    try:
        theirs: bytes | None = rfc8785.dumps(value)
    except (rfc8785.CanonicalizationError, TypeError, ValueError, RecursionError):
        theirs = None
    return ours, theirs


@settings(max_examples=600, deadline=None)
@given(_json_values)
def test_canonical_json_is_byte_for_byte_rfc8785(value: Any) -> None:
    ours, theirs = _ours_and_rfc8785(value)
    assert ours == theirs


@pytest.mark.parametrize("value", [
    {"\U0001f600": 1, "\ufb01": 2},  # key order differs between code points and UTF-16
    {"a": "\ud800"},  # a lone surrogate
    {"k": "\x00\x1f\x7f\u2028\"\\\b\f\n\r\t"},  # every escape RFC 8785 names, and two it does not
    [1.0, 0.5, -0.0, 1e21, 2**53],
    {"e": "é", "z": [True, False, None]},
])
def test_canonical_json_matches_rfc8785_on_edge_cases(value: Any) -> None:
    ours, theirs = _ours_and_rfc8785(value)
    assert ours == theirs
