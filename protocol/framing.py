"""Length-prefixed frames: an unsigned-varint length, then that many bytes of body.

libp2p streams are byte streams, so messages are framed by us. The prefix is the one libp2p
protocols use (identify, kad-dht, js-libp2p's `it-length-prefixed`, go's `msgio/varint`): the
multiformats unsigned varint, seven bits per byte, least significant group first, the high bit
set on every byte but the last. A peer on another libp2p implementation reads and writes our
frames with its stock helpers.

The varint spec (multiformats/unsigned-varint) requires the *minimal* encoding and at most 9
bytes; we refuse anything else, so one length has exactly one encoding on the wire. The
maximum body size is checked on the *declared* length, as soon as the prefix shows it, before
any body is buffered: a peer cannot make us hold more than `MAX_FRAME_BYTES` (plus a prefix)
per stream.

`FrameDecoder` is the sans-IO buffer (python-hyper/h11's `ReceiveBuffer` in spirit): feed it
whatever chunks the transport delivers, pull complete frames out; `wanted` says how much to
read next without reading past the frame being received. After a framing error the stream is
out of sync and the decoder refuses further use. It takes its `LengthPrefix` as a parameter so
that the transport can decode an older framing with the same checks.
"""

from __future__ import annotations

from typing import Protocol

from protocol.errors import EncodingError, FrameTooLarge, LocalProtocolError, MalformedFrame

# 1 MiB bounds memory per stream. The largest message is a membership list; at ~400 bytes per
# member this is room for ~2,500 member organisations. A larger federation pages lists.
MAX_FRAME_BYTES = 1 << 20

# multiformats unsigned-varint: "the maximum number of bytes is 9" (63 bits of value).
MAX_VARINT_BYTES = 9


class LengthPrefix(Protocol):
    """How a frame's body length is written in front of it."""

    @property
    def max_bytes(self) -> int:
        """The longest prefix of a frame of at most `MAX_FRAME_BYTES`."""

    def encode(self, length: int) -> bytes:
        """The prefix for a body of `length` bytes."""

    def parse(self, data: bytes | bytearray) -> tuple[int, int] | None:
        """(declared body length, prefix length) from the start of `data`, or None while the
        prefix is incomplete. Raises `FrameTooLarge` as soon as the declared length is known
        to exceed `MAX_FRAME_BYTES`, `MalformedFrame` for a prefix that is not valid."""


def encode_uvarint(value: int) -> bytes:
    """The minimal unsigned-varint encoding of `value` (0 <= value < 2**63)."""
    if not 0 <= value < 1 << (7 * MAX_VARINT_BYTES):
        raise EncodingError("an unsigned varint holds 0 .. 2**63 - 1")
    out = bytearray()
    while value >= 0x80:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


class UVarintPrefix:
    """The multiformats unsigned-varint length prefix, with the frame size limit applied."""

    max_bytes = len(encode_uvarint(MAX_FRAME_BYTES))  # 3

    def encode(self, length: int) -> bytes:
        return encode_uvarint(length)

    def parse(self, data: bytes | bytearray) -> tuple[int, int] | None:
        value = 0
        for index in range(min(len(data), MAX_VARINT_BYTES)):
            byte = data[index]
            value |= (byte & 0x7F) << (7 * index)
            if value > MAX_FRAME_BYTES:
                # More bytes only add higher bits: the length is over the maximum however
                # the prefix ends, so refuse now, before waiting for the rest of it.
                raise FrameTooLarge(f"frame declares over {MAX_FRAME_BYTES} bytes")
            if byte & 0x80:
                continue
            if byte == 0 and index > 0:
                raise MalformedFrame("length prefix is not the minimal varint encoding")
            return value, index + 1
        if len(data) >= MAX_VARINT_BYTES:
            raise MalformedFrame(f"length prefix is longer than {MAX_VARINT_BYTES} bytes")
        return None


VARINT = UVarintPrefix()


def encode_frame(body: bytes) -> bytes:
    """Prefix `body` with its length. Raises `EncodingError` if it exceeds the maximum."""
    if len(body) > MAX_FRAME_BYTES:
        raise EncodingError(
            f"frame body of {len(body)} bytes exceeds the maximum of {MAX_FRAME_BYTES}"
        )
    return encode_uvarint(len(body)) + body


def decode_frame(frame: bytes, prefix: LengthPrefix = VARINT) -> bytes:
    """The body of `frame`, which must hold exactly one complete frame."""
    if len(frame) > MAX_FRAME_BYTES + prefix.max_bytes:
        raise FrameTooLarge(f"frame of {len(frame)} bytes exceeds the maximum")
    parsed = prefix.parse(frame)
    if parsed is None:
        raise MalformedFrame("frame shorter than its length prefix")
    declared, start = parsed
    if len(frame) - start != declared:
        raise MalformedFrame(f"frame declares {declared} bytes but carries {len(frame) - start}")
    return frame[start:]


class FrameDecoder:
    """Incremental decoder: `feed()` bytes in, `next_frame()` whole frames out."""

    def __init__(self, prefix: LengthPrefix = VARINT) -> None:
        self._prefix = prefix
        self._buffer = bytearray()
        self._broken = False
        self._header: tuple[int, int] | None = None  # the current frame's parsed prefix

    def feed(self, data: bytes) -> None:
        if self._broken:
            raise LocalProtocolError("frame decoder used after a framing error")
        self._buffer += data

    def next_frame(self) -> bytes | None:
        """The next complete frame (prefix included, ready for `verify_frame`), or None."""
        if self._broken:
            raise LocalProtocolError("frame decoder used after a framing error")
        header = self._parse_header()
        if header is None:
            return None
        declared, start = header
        end = start + declared
        if len(self._buffer) < end:
            return None
        frame = bytes(self._buffer[:end])
        del self._buffer[:end]
        self._header = None
        return frame

    def _parse_header(self) -> tuple[int, int] | None:
        if self._header is None and self._buffer:
            try:
                self._header = self._prefix.parse(self._buffer)
            except (FrameTooLarge, MalformedFrame):
                self._break()
                raise
        return self._header

    def _break(self) -> None:
        self._broken = True
        self._buffer.clear()

    @property
    def wanted(self) -> int:
        """How many bytes to read next: the rest of the current frame once its prefix is
        known, else at most the rest of a longest prefix (so a read never takes more than a
        prefix's length past the frame). Raises like `next_frame` on a bad prefix."""
        if self._broken:
            raise LocalProtocolError("frame decoder used after a framing error")
        header = self._parse_header()
        if header is None:
            return max(1, self._prefix.max_bytes - len(self._buffer))
        declared, start = header
        return max(1, start + declared - len(self._buffer))

    @property
    def buffered(self) -> int:
        """Bytes received but not yet returned as a frame."""
        return len(self._buffer)
