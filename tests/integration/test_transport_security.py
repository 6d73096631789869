"""Deliberately misconfigured libp2p peers against our host (issue 5: "Noise only;
plaintext and secio refused").

`RawPeer` (`tests/integration/rawpeer.py`) is a plain py-libp2p host built the way a careless
or hostile peer would build it: only `/plaintext/2.0.0`, only `/secio/1.0.0`, libp2p's default
list, or speaking raw bytes on our protocol to test the frame limits from the other side.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import multiaddr  # type: ignore[import-untyped]
import pytest
import trio
from libp2p.abc import IHost, INetStream
from libp2p.custom_types import TProtocol
from libp2p.peer.id import ID
from libp2p.peer.peerinfo import PeerInfo
from libp2p.security.secure_session import SecureSession

from crypto.keys import SigningKey
from protocol.framing import MAX_FRAME_BYTES, encode_frame, encode_uvarint
from tests.integration.rawpeer import (
    RawPeer,
    SecurityFactory,
    libp2p_default,
    noise_only,
    plaintext_only,
    secio_only,
)
from transport.errors import DialFailed, FrameRefused, StreamFailed
from transport.host import HostConfig, Libp2pHost

PROTO = "/backup/test/1"

async def try_connect(host: IHost, peer_id: str, addrs: list[str]) -> str:
    """What happened when `host` dialled: "connected:<security session>" or the error."""
    target = ID.from_base58(peer_id)
    try:
        with trio.fail_after(10):
            await host.connect(PeerInfo(target, [multiaddr.Multiaddr(a) for a in addrs]))
    except trio.TooSlowError:
        return "timeout"
    except Exception as exc:  # noqa: BLE001 - which error libp2p raises is not the point
        return f"failed:{type(exc).__name__}"
    conn = host.get_network().get_connections(target)[0]
    secured = getattr(conn.muxed_conn, "secured_conn", None)
    assert isinstance(secured, SecureSession)
    return f"connected:{type(secured.conn).__module__}"


async def open_and_send(host: IHost, peer_id: str, addrs: list[str], data: bytes) -> str:
    """Open a PROTO stream, send raw bytes, report what came back."""
    target = ID.from_base58(peer_id)
    with trio.fail_after(10):
        await host.connect(PeerInfo(target, [multiaddr.Multiaddr(a) for a in addrs]))
        stream = await host.new_stream(target, [TProtocol(PROTO)])
        try:
            await stream.write(data)
            answer = await stream.read(100)
        except Exception as exc:  # noqa: BLE001 - a reset is the expected outcome
            return f"failed:{type(exc).__name__}"
        finally:
            await stream.reset()
    return f"answer:{answer!r}"


@asynccontextmanager
async def our_host(handler_calls: list[bytes], **config: Any) -> AsyncIterator[Libp2pHost]:
    host = Libp2pHost(SigningKey.generate(), HostConfig(**config))

    async def handler(frame: bytes, remote: str) -> bytes:
        handler_calls.append(frame)
        return encode_frame(b"ok")

    host.set_handler(PROTO, handler)
    await host.start()
    try:
        yield host
    finally:
        await host.stop()


@pytest.mark.parametrize("security", [plaintext_only, secio_only], ids=["plaintext", "secio"])
async def test_a_peer_without_noise_cannot_connect_to_us(security: SecurityFactory) -> None:
    calls: list[bytes] = []
    async with our_host(calls) as host:
        with RawPeer(security).running() as peer:
            outcome = await peer.call(try_connect, host.peer_id, list(host.listen_addrs))
            assert outcome.startswith("failed:"), outcome
    assert calls == []


@pytest.mark.parametrize("security", [plaintext_only, secio_only], ids=["plaintext", "secio"])
async def test_we_cannot_be_made_to_speak_without_noise(security: SecurityFactory) -> None:
    calls: list[bytes] = []

    async def serve(stream: INetStream) -> None:
        calls.append(await stream.read(100))
        await stream.write(encode_frame(b"plain"))
        await stream.close()

    async with our_host([]) as host:
        with RawPeer(security, {PROTO: serve}).running() as peer:
            with pytest.raises(DialFailed):
                await host.request(peer.peer_id.to_base58(), peer.addrs, PROTO,
                                   encode_frame(b""), 5)
    assert calls == []


async def test_libp2p_default_peer_connects_with_noise() -> None:
    """The control: a peer offering everything gets Noise, the only thing we speak."""
    async with our_host([]) as host:
        with RawPeer(libp2p_default).running() as peer:
            outcome = await peer.call(try_connect, host.peer_id, list(host.listen_addrs))
    assert outcome.startswith("connected:libp2p.security.noise"), outcome


async def test_a_declared_frame_over_the_maximum_is_refused_before_its_body() -> None:
    calls: list[bytes] = []
    async with our_host(calls) as host:
        with RawPeer(noise_only).running() as peer:
            header_only = encode_uvarint(MAX_FRAME_BYTES + 1)
            outcome = await peer.call(
                open_and_send, host.peer_id, list(host.listen_addrs), header_only
            )
            assert outcome.startswith("failed:"), outcome  # reset without waiting for a body
            fine = await peer.call(
                open_and_send, host.peer_id, list(host.listen_addrs), encode_frame(b"hi")
            )
            assert fine == f"answer:{encode_frame(b'ok')!r}"
    assert calls == [encode_frame(b"hi")]


async def test_a_stalled_request_is_dropped_after_the_handler_timeout() -> None:
    calls: list[bytes] = []
    async with our_host(calls, handler_timeout=0.3) as host:
        with RawPeer(noise_only).running() as peer:
            partial = encode_frame(b"0123456789")[:6]  # prefix and half the body, then nothing
            outcome = await peer.call(
                open_and_send, host.peer_id, list(host.listen_addrs), partial
            )
    assert outcome.startswith("failed:"), outcome
    assert calls == []


@pytest.mark.parametrize(
    ("answer", "error"),
    [
        (encode_uvarint(MAX_FRAME_BYTES + 1), FrameRefused),  # refused before the body
        (encode_frame(b"0123456789")[:6], StreamFailed),  # closed inside the frame
        (b"", StreamFailed),  # closed without answering
    ],
    ids=["oversized", "truncated", "empty"],
)
async def test_a_bad_answer_is_refused(answer: bytes, error: type[Exception]) -> None:
    async def serve(stream: INetStream) -> None:
        await stream.read(100)
        if answer:
            await stream.write(answer)
        await stream.close()

    async with our_host([]) as host:
        with RawPeer(noise_only, {PROTO: serve}).running() as peer:
            with pytest.raises(error):
                await host.request(peer.peer_id.to_base58(), peer.addrs, PROTO,
                                   encode_frame(b""), 5)
