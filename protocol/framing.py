"""Length-prefixed frames: 4-byte big-endian length, then that many bytes of body.

libp2p streams are byte streams, so messages are framed by us (shared/notes/libp2p.md:
"Frame messages yourself (length prefix, a maximum size)"). The maximum is checked on the
*declared* length, before any body is buffered, so a peer cannot make us hold more than
`MAX_FRAME_BYTES` (plus one header) per stream.

`FrameDecoder` is the sans-IO buffer (python-hyper/h11's `ReceiveBuffer` in spirit): feed it
whatever chunks the transport delivers, pull complete frame bodies out. After a framing
error the stream is out of sync and the decoder refuses further use.
"""

from __future__ import annotations

import struct

from protocol.errors import EncodingError, FrameTooLarge, LocalProtocolError, MalformedFrame

# 1 MiB bounds memory per stream. The largest v1 message is a membership list; at ~400 bytes
# per member this is room for ~2,500 member organisations. A larger federation pages lists.
MAX_FRAME_BYTES = 1 << 20

_HEADER = struct.Struct(">I")
HEADER_BYTES = _HEADER.size


def encode_frame(body: bytes) -> bytes:
    """Prefix `body` with its length. Raises `EncodingError` if it exceeds the maximum."""
    if len(body) > MAX_FRAME_BYTES:
        raise EncodingError(
            f"frame body of {len(body)} bytes exceeds the maximum of {MAX_FRAME_BYTES}"
        )
    return _HEADER.pack(len(body)) + body


def decode_frame(frame: bytes) -> bytes:
    """The body of `frame`, which must hold exactly one complete frame."""
    if len(frame) > MAX_FRAME_BYTES + HEADER_BYTES:
        raise FrameTooLarge(f"frame of {len(frame)} bytes exceeds the maximum")
    if len(frame) < HEADER_BYTES:
        raise MalformedFrame("frame shorter than its length prefix")
    (declared,) = _HEADER.unpack_from(frame)
    if declared > MAX_FRAME_BYTES:
        raise FrameTooLarge(f"frame declares {declared} bytes, over the maximum")
    if len(frame) - HEADER_BYTES != declared:
        raise MalformedFrame(
            f"frame declares {declared} bytes but carries {len(frame) - HEADER_BYTES}"
        )
    return frame[HEADER_BYTES:]


class FrameDecoder:
    """Incremental decoder: `feed()` bytes in, `next_frame()` whole frames out."""

    def __init__(self) -> None:
        self._buffer = bytearray()
        self._broken = False

    def feed(self, data: bytes) -> None:
        if self._broken:
            raise LocalProtocolError("frame decoder used after a framing error")
        self._buffer += data

    def next_frame(self) -> bytes | None:
        """The next complete frame (header included, ready for `verify_frame`), or None."""
        if self._broken:
            raise LocalProtocolError("frame decoder used after a framing error")
        if len(self._buffer) < HEADER_BYTES:
            return None
        (declared,) = _HEADER.unpack_from(self._buffer)
        if declared > MAX_FRAME_BYTES:
            self._broken = True
            self._buffer.clear()
            raise FrameTooLarge(f"frame declares {declared} bytes, over the maximum")
        end = HEADER_BYTES + declared
        if len(self._buffer) < end:
            return None
        frame = bytes(self._buffer[:end])
        del self._buffer[:end]
        return frame

    @property
    def buffered(self) -> int:
        """Bytes received but not yet returned as a frame."""
        return len(self._buffer)
