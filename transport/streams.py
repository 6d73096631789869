"""Frames on libp2p streams, and the idle request streams kept for reuse (trio side).

`FramedStream` reads and writes whole frames on one libp2p stream. Whatever the version of
the protocol the stream negotiated, it hands out and takes in `protocol.framing` (varint)
frames: a `/backup/federation/1.0.0` stream, whose frames carry a 4-byte big-endian length,
is re-framed here, at the transport's edge, so that nothing above the host knows that 1.0.0
exists. Sizes are checked on the declared length as soon as the prefix is in, so at most
`READ_AHEAD` bytes of a body are held before an oversized frame is refused.

`StreamPool` keeps the streams of finished requests for the next request to the same peer,
so that most requests skip opening a stream and negotiating its protocol (multistream-select
costs a round trip per stream). Only varint streams are kept: a 1.0.0 peer expects one
request per stream.
"""

from __future__ import annotations

import logging
from collections.abc import Hashable

import trio
from libp2p.abc import INetStream
from libp2p.network.stream.exceptions import StreamEOF
from libp2p.network.stream.net_stream import NetStream

from protocol.errors import EncodingError, FrameTooLarge, MalformedFrame, ProtocolError
from protocol.framing import (
    MAX_FRAME_BYTES,
    VARINT,
    FrameDecoder,
    LengthPrefix,
    decode_frame,
    encode_frame,
)
from protocol.versions import Framing, ProtocolVersion
from transport.errors import FrameRefused, StreamClosed, StreamFailed

log = logging.getLogger(__name__)


class Fixed32Prefix:
    """The 4-byte big-endian length of `/backup/federation/1.0.0` frames (delete with it)."""

    max_bytes = 4

    def encode(self, length: int) -> bytes:
        if not 0 <= length <= MAX_FRAME_BYTES:
            raise EncodingError(f"a frame body is at most {MAX_FRAME_BYTES} bytes")
        return length.to_bytes(4, "big")

    def parse(self, data: bytes | bytearray) -> tuple[int, int] | None:
        if len(data) < 4:
            return None
        declared = int.from_bytes(data[:4], "big")
        if declared > MAX_FRAME_BYTES:
            raise FrameTooLarge(f"frame declares {declared} bytes, over {MAX_FRAME_BYTES}")
        return declared, 4


FIXED32 = Fixed32Prefix()

_PREFIXES: dict[Framing, LengthPrefix] = {Framing.VARINT: VARINT, Framing.FIXED32: FIXED32}

# Each read of a yamux stream usually sends the peer a window update (py-libp2p 0.8), so a small
# frame is read whole, prefix and body together, when the bytes are there. This bounds how
# far a read may run past the current frame (into the next one on a reused stream, kept in
# the decoder); the size check on the declared length still comes first.
READ_AHEAD = 4096


class FramedStream:
    """One libp2p stream of one protocol version, carrying whole frames."""

    __slots__ = ("_decoder", "_prefix", "idle_since", "stream", "version")

    def __init__(self, stream: INetStream, version: ProtocolVersion) -> None:
        self.stream = stream
        self.version = version
        self._prefix = _PREFIXES[version.framing]
        self._decoder = FrameDecoder(self._prefix)
        self.idle_since = 0.0  # trio.current_time() when it was last put back in a pool

    @property
    def reusable(self) -> bool:
        """Whether the stream may carry another request after this one (not 1.0.0)."""
        return self.version.framing is Framing.VARINT

    @property
    def peer_closed(self) -> bool:
        """Whether the peer has closed the stream or its connection (seen without reading).

        Best effort: yamux marks a stream `recv_closed` when the peer's FIN arrives; a FIN
        still on its way is caught by `read_frame` raising `StreamClosed` instead.
        """
        if self._decoder.buffered or getattr(self.stream, "is_closed", False):
            return True
        muxed = getattr(self.stream, "muxed_stream", None)
        return bool(getattr(muxed, "recv_closed", False)) or self.connection_closed

    @property
    def connection_closed(self) -> bool:
        """Whether the connection under the stream is closed (the peer went away)."""
        return bool(getattr(self.stream.muxed_conn, "is_closed", False))

    async def receive_some(self) -> None:
        """Wait for the first bytes of the next frame (the caller bounds how long).

        Raises `StreamClosed` if the peer closes the stream cleanly before sending any.
        """
        if self._decoder.buffered:
            return
        await self._read_into_decoder()

    async def read_frame(self) -> bytes:
        """The next whole frame, as a varint frame whatever the stream's framing.

        `FrameRefused` for a declared length over the maximum or a bad prefix (before any
        body is read), `StreamClosed` if the peer closed cleanly before the frame's first
        byte, `StreamFailed` if it closed inside the frame.
        """
        while True:
            try:
                frame = self._decoder.next_frame()
            except ProtocolError as exc:
                raise FrameRefused(str(exc)) from None
            if frame is not None:
                break
            await self._read_into_decoder()
        if self._prefix is VARINT:
            return frame
        return encode_frame(decode_frame(frame, self._prefix))

    async def _read_into_decoder(self) -> None:
        try:
            wanted = self._decoder.wanted
        except (FrameTooLarge, MalformedFrame) as exc:
            raise FrameRefused(str(exc)) from None
        try:
            chunk = await self.stream.read(max(wanted, READ_AHEAD))
        except StreamEOF:
            chunk = b""
        if not chunk:
            if self._decoder.buffered:
                raise StreamFailed("stream ended inside a frame")
            raise StreamClosed("the peer closed the stream")
        self._decoder.feed(chunk)

    async def write_frame(self, frame: bytes) -> None:
        """Write one varint frame (already checked), re-framed for a 1.0.0 stream."""
        if self._prefix is not VARINT:
            body = decode_frame(frame)
            frame = self._prefix.encode(len(body)) + body
        await self.stream.write(frame)

    async def close_write(self) -> None:
        """Tell the peer that no more requests follow (a yamux half-close)."""
        if isinstance(self.stream, NetStream):
            await self.stream.close_write()

    async def close(self) -> None:
        with trio.CancelScope(shield=True):
            try:
                await self.stream.close()
            except Exception as exc:  # noqa: BLE001 - best effort on a finished stream
                log.debug("stream close failed: %s", type(exc).__name__)

    async def reset(self) -> None:
        with trio.CancelScope(shield=True):
            try:
                await self.stream.reset()
            except Exception as exc:  # noqa: BLE001 - best effort on a broken stream
                log.debug("stream reset failed: %s", type(exc).__name__)


class StreamPool:
    """Idle request streams by (peer, protocol), most recently used first (trio side).

    A stream idle for longer than `max_idle` is closed rather than reused: the peer closes
    streams idle for its own `stream_idle_timeout`, and a request should not race that.
    """

    def __init__(self, *, per_key: int, max_idle: float) -> None:
        self._per_key = per_key
        self._max_idle = max_idle
        self._idle: dict[Hashable, list[FramedStream]] = {}

    def take(self, key: Hashable) -> tuple[FramedStream | None, list[FramedStream]]:
        """An idle stream for `key` (or None), and the stale ones the caller must close."""
        stale: list[FramedStream] = []
        idle = self._idle.get(key)
        now = trio.current_time()
        while idle:
            stream = idle.pop()
            if stream.peer_closed or now - stream.idle_since > self._max_idle:
                stale.append(stream)
                continue
            return stream, stale
        return None, stale

    def give(self, key: Hashable, stream: FramedStream) -> bool:
        """Keep `stream` for a later request; False if the caller must close it instead."""
        if not stream.reusable:
            return False
        idle = self._idle.setdefault(key, [])
        if len(idle) >= self._per_key:
            return False
        stream.idle_since = trio.current_time()
        idle.append(stream)
        return True

    def drop(self, peer: Hashable) -> list[FramedStream]:
        """Forget every stream to `peer` (keys are (peer, protocol)); the caller resets them."""
        dropped: list[FramedStream] = []
        for key in [k for k in self._idle if isinstance(k, tuple) and k[0] == peer]:
            dropped.extend(self._idle.pop(key))
        return dropped

    def drain(self) -> list[FramedStream]:
        dropped = [stream for idle in self._idle.values() for stream in idle]
        self._idle.clear()
        return dropped
