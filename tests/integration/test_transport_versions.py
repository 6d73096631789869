"""Protocol versions on the wire: 2.0.0 (varint frames) beside 1.0.0 (4-byte frames), the
refusal of ids we do not serve, identify and ping, and the reuse of request streams.

The 1.0.0 peer is a plain py-libp2p host (`RawPeer`) that does exactly what the 1.0.0 release
did on the wire: one 4-byte big-endian length-prefixed frame in, one out, then close; it
knows nothing of 2.0.0 (multistream-select answers "na" to it).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import multiaddr  # type: ignore[import-untyped]
import pytest
import trio
from libp2p.abc import IHost, INetStream
from libp2p.custom_types import TProtocol
from libp2p.host.exceptions import StreamFailure
from libp2p.host.ping import ID as PING_ID
from libp2p.identity.identify.identify import ID as IDENTIFY_ID
from libp2p.identity.identify.identify import parse_identify_response
from libp2p.network.stream.exceptions import StreamEOF
from libp2p.peer.id import ID
from libp2p.peer.peerinfo import PeerInfo

from protocol.framing import FrameDecoder, decode_frame, encode_frame
from protocol.versions import (
    FEDERATION,
    FEDERATION_PROTOCOL,
    Framing,
    ProtocolFamily,
    ProtocolVersion,
    parse_refusal,
)
from tests.integration.rawpeer import RawPeer, noise_only
from tests.integration.signed_requests import SignedNode, open_answer, responder, sealed_query
from transport.errors import StreamFailed, VersionRefused
from transport.host import HostConfig, Libp2pHost

V1 = "/backup/federation/1.0.0"
V2 = "/backup/federation/2.0.0"


async def read_exactly(stream: INetStream, n: int) -> bytes:
    data = b""
    while len(data) < n:
        data += await stream.read(n - len(data))
    return data


async def at_eof(stream: INetStream) -> bool:
    try:
        return await stream.read(1) == b""
    except StreamEOF:
        return True


async def connect(host: IHost, peer_id: str, addrs: list[str] | tuple[str, ...]) -> ID:
    target = ID.from_base58(peer_id)
    await host.connect(PeerInfo(target, [multiaddr.Multiaddr(a) for a in addrs]))
    return target


@asynccontextmanager
async def our_host(node: SignedNode, known: list[SignedNode], seen: list[tuple[str, str]],
                   **config: Any) -> AsyncIterator[Libp2pHost]:
    host = Libp2pHost(node.key, HostConfig(**config))
    host.set_handler(FEDERATION_PROTOCOL, responder(node, known, seen))
    await host.start()
    try:
        yield host
    finally:
        await host.stop()


def test_the_federation_protocol_is_2_0_0_and_1_0_0_is_still_served() -> None:
    assert FEDERATION_PROTOCOL == V2
    assert FEDERATION.served == (V2, V1)
    assert FEDERATION.version(V1) == ProtocolVersion(V1, Framing.FIXED32)


# -- a peer that speaks only 1.0.0 --------------------------------------------------------


async def test_we_ask_a_1_0_0_only_peer_in_4_byte_frames() -> None:
    """A new node and an old observatory: 2.0.0 is offered first, the old peer says "na",
    1.0.0 is taken; the signed request goes out in a 4-byte frame, the answer comes back to
    the caller as a varint frame."""
    us, old = SignedNode(), SignedNode()
    received: list[tuple[bytes, bool]] = []
    old_handler = responder(old, [us], [])

    async def serve_v1(stream: INetStream) -> None:
        header = await read_exactly(stream, 4)
        body = await read_exactly(stream, int.from_bytes(header, "big"))
        received.append((header + body, await at_eof(stream)))
        answer = decode_frame(await old_handler(encode_frame(body), us.peer_id))
        await stream.write(len(answer).to_bytes(4, "big") + answer)
        await stream.close()

    frame = sealed_query(us, old)
    async with our_host(us, [old], []) as host:
        with RawPeer(noise_only, {V1: serve_v1}, key=old.key).running() as peer:
            for _ in range(3):  # one stream per request, as 1.0.0 expects
                answer = await host.request(peer.peer_id.to_base58(), peer.addrs,
                                            FEDERATION_PROTOCOL, frame, 10)
                ack = open_answer(answer, us, old)
                assert ack.status == "accepted"
    body = decode_frame(frame)
    # What went out: the same envelope, 4-byte length, and a half-close after it.
    assert received == [(len(body).to_bytes(4, "big") + body, True)] * 3


async def test_a_1_0_0_only_peer_asks_us_in_4_byte_frames() -> None:
    """An old node and a new observatory: our handler sees a varint frame, the old peer a
    4-byte one, and the stream ends after one answer."""
    us, old = SignedNode(), SignedNode()
    seen: list[tuple[str, str]] = []
    request = decode_frame(sealed_query(old, us))

    async def ask_v1(host: IHost, peer_id: str, addrs: tuple[str, ...]) -> tuple[bytes, bool]:
        target = await connect(host, peer_id, addrs)
        stream = await host.new_stream(target, [TProtocol(V1)])
        await stream.write(len(request).to_bytes(4, "big") + request)
        await stream.close_write()  # type: ignore[attr-defined]
        header = await read_exactly(stream, 4)
        answer = await read_exactly(stream, int.from_bytes(header, "big"))
        ended = await at_eof(stream)
        await stream.close()
        return answer, ended

    async with our_host(us, [old], seen) as host:
        with RawPeer(noise_only, key=old.key).running() as peer:
            answer, ended = await peer.call(ask_v1, host.peer_id, host.listen_addrs)
    assert ended
    assert open_answer(encode_frame(answer), old, us).status == "accepted"
    assert seen == [(old.node_id, old.peer_id)]


# -- ids we do not serve ------------------------------------------------------------------


@pytest.mark.parametrize("asked", ["/backup/federation/0.9.0", "/backup/federation/3.0.0"])
async def test_an_id_we_do_not_serve_gets_a_refusal_naming_the_ones_we_do(asked: str) -> None:
    us, other = SignedNode(), SignedNode()
    seen: list[tuple[str, str]] = []

    async def ask(host: IHost, peer_id: str, addrs: tuple[str, ...]) -> tuple[str, bytes]:
        target = await connect(host, peer_id, addrs)
        stream = await host.new_stream(target, [TProtocol(asked)])
        await stream.write(b"whatever a 3.0.0 node sends")
        decoder = FrameDecoder()
        while (frame := decoder.next_frame()) is None:
            decoder.feed(await stream.read(decoder.wanted))
        ended = await at_eof(stream)
        await stream.close()
        assert ended
        return str(stream.get_protocol()), frame

    async with our_host(us, [other], seen) as host:
        with RawPeer(noise_only, key=other.key).running() as peer:
            protocol, frame = await peer.call(ask, host.peer_id, host.listen_addrs)
            # An id outside our families still gets multistream-select's plain "na".
            with pytest.raises(StreamFailure):
                await peer.call(ask_unknown, host.peer_id, host.listen_addrs)
    assert protocol == asked
    refusal = parse_refusal(frame)
    assert refusal is not None
    assert refusal.refused == asked and refusal.served == (V2, V1)
    assert seen == []  # nothing reached the handler


async def ask_unknown(host: IHost, peer_id: str, addrs: tuple[str, ...]) -> None:
    target = await connect(host, peer_id, addrs)
    await host.new_stream(target, [TProtocol("/other/1.0.0")])


def family(*versions: tuple[str, Framing]) -> tuple[ProtocolFamily, ...]:
    return (ProtocolFamily("/t/", tuple(ProtocolVersion(i, f) for i, f in versions)),)


async def test_a_refusal_naming_a_version_we_offer_is_followed() -> None:
    """A later release (3.0.0, falling back to 2.0.0) asks a host of this one (2.0.0 and
    1.0.0): the host accepts 3.0.0 only to refuse it, naming 2.0.0, which the newer node
    then takes. A node sharing no version with the host gets `VersionRefused`."""
    this = family(("/t/2.0.0", Framing.VARINT), ("/t/1.0.0", Framing.FIXED32))
    later = family(("/t/3.0.0", Framing.VARINT), ("/t/2.0.0", Framing.VARINT))
    much_later = family(("/t/4.0.0", Framing.VARINT))
    calls: list[bytes] = []

    async def echo(frame: bytes, remote: str) -> bytes:
        calls.append(frame)
        return frame

    server = Libp2pHost(SignedNode().key, HostConfig(), families=this)
    server.set_handler("/t/2.0.0", echo)
    new, newest = (Libp2pHost(SignedNode().key, HostConfig(), families=f)
                   for f in (later, much_later))
    hosts = (server, new, newest)
    for host in hosts:
        await host.start()
    try:
        args = (server.peer_id, server.listen_addrs)
        assert await new.request(*args, "/t/3.0.0", encode_frame(b"hi"), 5) == encode_frame(b"hi")
        with pytest.raises(VersionRefused, match=r"/t/2\.0\.0, /t/1\.0\.0"):
            await newest.request(*args, "/t/4.0.0", encode_frame(b"hi"), 5)
    finally:
        for host in hosts:
            await host.stop()
    assert calls == [encode_frame(b"hi")]


# -- identify and ping --------------------------------------------------------------------


async def test_libp2p_identify_and_ping_are_served() -> None:
    us = SignedNode()

    async def identify_and_ping(host: IHost, peer_id: str, addrs: tuple[str, ...]
                                ) -> tuple[list[str], bytes]:
        target = await connect(host, peer_id, addrs)
        stream = await host.new_stream(target, [IDENTIFY_ID])
        decoder = FrameDecoder()  # identify's message is varint-prefixed too
        while (frame := decoder.next_frame()) is None:
            decoder.feed(await stream.read(decoder.wanted))
        await stream.close()
        identify = parse_identify_response(decode_frame(frame))
        ping = await host.new_stream(target, [PING_ID])
        payload = bytes(range(32))
        await ping.write(payload)
        echoed = await read_exactly(ping, 32)
        await ping.close()
        return list(identify.protocols), echoed

    async with our_host(us, [], []) as host:
        with RawPeer(noise_only).running() as peer:
            protocols, echoed = await peer.call(identify_and_ping, host.peer_id,
                                                host.listen_addrs)
    assert echoed == bytes(range(32))
    assert {V2, V1, str(IDENTIFY_ID), str(PING_ID)} <= set(protocols)
    assert "/backup/federation/3.0.0" not in protocols


# -- reused request streams ---------------------------------------------------------------


class CountingServer:
    """A varint request/response peer that counts the streams it was asked on and can
    close a stream after answering (as a peer letting an idle stream go)."""

    def __init__(self, close_after_answer: bool = False) -> None:
        self.streams = 0
        self.requests = 0
        self.close_after_answer = close_after_answer

    async def serve(self, stream: INetStream) -> None:
        self.streams += 1
        decoder = FrameDecoder()
        try:
            while True:
                while (frame := decoder.next_frame()) is None:
                    decoder.feed(await stream.read(decoder.wanted))
                self.requests += 1
                await stream.write(frame)
                if self.close_after_answer:
                    break
        except StreamEOF:
            pass
        await stream.close()


async def test_requests_reuse_one_stream_unless_asked_not_to() -> None:
    server = CountingServer()
    async with our_host(SignedNode(), [], []) as host:
        with RawPeer(noise_only, {"/t/1": server.serve}).running() as peer:
            args = (peer.peer_id.to_base58(), peer.addrs, "/t/1")
            for i in range(5):
                assert await host.request(*args, encode_frame(b"%d" % i), 5) == (
                    encode_frame(b"%d" % i))
            assert (server.streams, server.requests) == (1, 5)
            for _ in range(3):
                await host.request(*args, encode_frame(b"x"), 5, reuse_stream=False)
            assert (server.streams, server.requests) == (4, 8)
            # Eight at once: eight streams, kept for the next eight.
            await asyncio.gather(*(host.request(*args, encode_frame(b"y"), 5)
                                   for _ in range(8)))
            await asyncio.gather(*(host.request(*args, encode_frame(b"z"), 5)
                                   for _ in range(8)))
            assert server.streams <= 4 + 8 and server.requests == 24


async def test_a_stream_the_peer_let_go_is_not_reused() -> None:
    server = CountingServer(close_after_answer=True)
    async with our_host(SignedNode(), [], []) as host:
        with RawPeer(noise_only, {"/t/1": server.serve}).running() as peer:
            args = (peer.peer_id.to_base58(), peer.addrs, "/t/1")
            for i in range(5):
                assert await host.request(*args, encode_frame(b"%d" % i), 5) == (
                    encode_frame(b"%d" % i))
    assert (server.streams, server.requests) == (5, 5)


async def test_our_responder_closes_idle_streams_and_drops_stalled_ones(
        caplog: pytest.LogCaptureFixture) -> None:
    """After an answer the stream may carry another request; idle for
    `stream_idle_timeout` it is closed; a request stalled half-way is dropped after
    `handler_timeout`. (py-libp2p's reader reports a reset as an end of stream, so the
    responder's log tells the two apart.)"""
    us, other = SignedNode(), SignedNode()
    seen: list[tuple[str, str]] = []
    request = sealed_query(other, us)

    async def conversation(host: IHost, peer_id: str, addrs: tuple[str, ...]) -> list[str]:
        target = await connect(host, peer_id, addrs)
        outcomes = []
        for stall in (False, True):
            stream = await host.new_stream(target, [TProtocol(V2)])
            decoder = FrameDecoder()
            for _ in range(2):
                await stream.write(request)
                while decoder.next_frame() is None:
                    decoder.feed(await stream.read(decoder.wanted))
            if stall:
                await stream.write(request[:10])
            try:
                with trio.fail_after(5):
                    data = await stream.read(1)
                outcomes.append(f"read:{data!r}")
            except Exception as exc:  # noqa: BLE001 - EOF (closed) or reset is the point
                outcomes.append(type(exc).__name__)
            await stream.reset()
        return outcomes

    caplog.set_level(logging.INFO, logger="transport.host")
    async with our_host(us, [other], seen, stream_idle_timeout=0.3,
                        handler_timeout=0.6) as host:
        with RawPeer(noise_only, key=other.key).running() as peer:
            outcomes = await peer.call(conversation, host.peer_id, host.listen_addrs)
    assert len(outcomes) == 2 and all(o in ("StreamEOF", "StreamReset") for o in outcomes)
    assert len(seen) == 4
    dropped = [r.getMessage() for r in caplog.records if r.name == "transport.host"
               and "timed out" in r.getMessage()]
    assert dropped == [f"request on {V2} from {other.peer_id}: timed out"]


async def test_a_failed_or_cancelled_request_does_not_spoil_the_next() -> None:
    entered = asyncio.Event()

    async def handler(frame: bytes, remote: str) -> bytes:
        if decode_frame(frame) == b"slow":
            entered.set()
            await asyncio.sleep(30)
        if decode_frame(frame) == b"fail":
            raise RuntimeError("a bug")
        return frame

    alice, bob = Libp2pHost(SignedNode().key), Libp2pHost(SignedNode().key)
    bob.set_handler("/t/1", handler)
    await bob.start()
    await alice.start()
    try:
        args = (bob.peer_id, bob.listen_addrs, "/t/1")
        assert await alice.request(*args, encode_frame(b"a"), 5) == encode_frame(b"a")
        task = asyncio.create_task(alice.request(*args, encode_frame(b"slow"), 30))
        await asyncio.wait_for(entered.wait(), 5)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        with pytest.raises(StreamFailed):
            await alice.request(*args, encode_frame(b"fail"), 5)
        assert await alice.request(*args, encode_frame(b"b"), 5) == encode_frame(b"b")
    finally:
        await alice.stop()
        await bob.stop()
