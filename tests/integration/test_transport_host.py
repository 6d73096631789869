"""Real libp2p hosts on 127.0.0.1, driven from asyncio through `transport.host`.

Every test starts real hosts (TCP, Noise, yamux) and stops them; counts and times are
bounded. Leaked sockets would fail the suite (`error::ResourceWarning` in pyproject), and
`test_stop_releases_sockets_and_thread` checks for them directly.
"""

from __future__ import annotations

import asyncio
import gc
import os
import threading
import time
import warnings
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import pytest

from crypto.keys import SigningKey
from protocol.framing import MAX_FRAME_BYTES, decode_frame, encode_frame, encode_uvarint
from transport.errors import (
    BadPeerAddress,
    DialFailed,
    FrameRefused,
    HostNotRunning,
    ListenFailed,
    RequestTimeout,
    StreamFailed,
)
from transport.host import HostConfig, Libp2pHost
from transport.identity import peer_id_from_public_key

PROTO = "/backup/test/1"


async def echo_reversed(frame: bytes, remote: str) -> bytes:
    return encode_frame(decode_frame(frame)[::-1])


@asynccontextmanager
async def running(*hosts: Libp2pHost) -> AsyncIterator[None]:
    started: list[Libp2pHost] = []
    try:
        for host in hosts:
            await host.start()
            started.append(host)
        yield
    finally:
        for host in reversed(started):
            await host.stop()


def new_host(key: SigningKey | None = None, **config: float) -> Libp2pHost:
    return Libp2pHost(key or SigningKey.generate(), HostConfig(**config))  # type: ignore[arg-type]


async def test_request_and_response_between_two_hosts() -> None:
    alice, bob = new_host(), new_host()
    seen: list[tuple[bytes, str]] = []

    async def handler(frame: bytes, remote: str) -> bytes:
        seen.append((frame, remote))
        assert threading.current_thread() is threading.main_thread()  # on the caller's loop
        return encode_frame(b"pong:" + decode_frame(frame))

    bob.set_handler(PROTO, handler)
    async with running(alice, bob):
        assert bob.listen_addrs
        assert all(a.startswith("/ip4/127.0.0.1/tcp/") for a in bob.listen_addrs)
        answer = await alice.request(bob.peer_id, bob.listen_addrs, PROTO, encode_frame(b"ping"), 5)
        assert answer == encode_frame(b"pong:ping")
        assert seen == [(encode_frame(b"ping"), alice.peer_id)]
        # A `/p2p/` suffix naming the right peer is accepted too.
        with_id = [f"{a}/p2p/{bob.peer_id}" for a in bob.listen_addrs]
        assert await alice.request(bob.peer_id, with_id, PROTO, encode_frame(b"x"), 5) == (
            encode_frame(b"pong:x")
        )
        # And the other way round, on the connection bob already has.
        alice.set_handler(PROTO, echo_reversed)  # after start
        back = await bob.request(alice.peer_id, alice.listen_addrs, PROTO, encode_frame(b"abc"), 5)
        assert back == encode_frame(b"cba")


async def test_peer_id_is_derived_from_the_node_key_and_stable() -> None:
    key = SigningKey.generate()
    expected = peer_id_from_public_key(key.verify_key.raw())
    first = new_host(key)
    assert first.peer_id == expected
    async with running(first):
        pass
    second = new_host(key)
    async with running(second):
        assert second.peer_id == expected


async def test_frames_over_the_maximum_are_refused_and_the_maximum_passes() -> None:
    alice, bob = new_host(), new_host()
    bob.set_handler(PROTO, echo_reversed)
    async with running(alice, bob):
        biggest = encode_frame(b"m" * MAX_FRAME_BYTES)
        answer = await alice.request(bob.peer_id, bob.listen_addrs, PROTO, biggest, 10)
        assert len(answer) == len(biggest)

        one_over = encode_uvarint(MAX_FRAME_BYTES + 1) + b"m" * (MAX_FRAME_BYTES + 1)
        with pytest.raises(FrameRefused):
            await alice.request(bob.peer_id, bob.listen_addrs, PROTO, one_over, 5)
        # Not one frame: a prefix that never ends, a body longer than declared, a
        # length that is not minimally encoded.
        for bad in (b"\x80", encode_frame(b"ab") + b"c", b"\x82\x00ab"):
            with pytest.raises(FrameRefused):
                await alice.request(bob.peer_id, bob.listen_addrs, PROTO, bad, 5)


async def test_a_handler_answer_over_the_maximum_is_not_sent() -> None:
    alice, bob = new_host(), new_host()

    async def too_big(frame: bytes, remote: str) -> bytes:
        return encode_uvarint(MAX_FRAME_BYTES + 1) + b"m" * (MAX_FRAME_BYTES + 1)

    bob.set_handler(PROTO, too_big)
    async with running(alice, bob):
        with pytest.raises(StreamFailed):
            await alice.request(bob.peer_id, bob.listen_addrs, PROTO, encode_frame(b"x"), 5)


async def test_dialling_a_wrong_peer_id_fails() -> None:
    """Noise authenticates the peer: bob's address with carol's peer id is refused."""
    alice, bob, carol = new_host(), new_host(), new_host()
    bob.set_handler(PROTO, echo_reversed)
    async with running(alice, bob):
        with pytest.raises(DialFailed):
            await alice.request(carol.peer_id, bob.listen_addrs, PROTO, encode_frame(b"x"), 5)
        # The right id still works afterwards (no negative cache left behind).
        assert await alice.request(bob.peer_id, bob.listen_addrs, PROTO, encode_frame(b"ok"), 5)


async def test_bad_addresses_are_refused_before_dialling() -> None:
    alice, bob = new_host(), new_host()
    async with running(alice):
        addr = "/ip4/127.0.0.1/tcp/9"
        for peer_id, addrs in (
            ("abc", [addr]),  # libp2p's own parser would take this
            (bob.peer_id, []),
            (bob.peer_id, ["/dns4/example.org/tcp/4001"]),  # no name lookups
            (bob.peer_id, ["/ip4/127.0.0.1/udp/9"]),
            (bob.peer_id, ["not a multiaddr"]),
            (bob.peer_id, [f"{addr}/p2p/{alice.peer_id}"]),  # names another peer
            (alice.peer_id, alice.listen_addrs),  # ourselves
        ):
            with pytest.raises(BadPeerAddress):
                await alice.request(peer_id, addrs, PROTO, encode_frame(b"x"), 5)
        with pytest.raises(ValueError):
            await alice.request(bob.peer_id, [addr], "no-slash", encode_frame(b"x"), 5)


async def test_a_peer_that_is_down_fails_fast_and_is_reached_once_up() -> None:
    alice = new_host()
    key = SigningKey.generate()
    async with running(alice):
        first = new_host(key)
        first.set_handler(PROTO, echo_reversed)
        async with running(first):
            addrs = first.listen_addrs
            assert await alice.request(first.peer_id, addrs, PROTO, encode_frame(b"1"), 5)
        started = time.perf_counter()
        for _ in range(3):
            with pytest.raises((DialFailed, StreamFailed)):
                await alice.request(first.peer_id, addrs, PROTO, encode_frame(b"2"), 5)
        assert time.perf_counter() - started < 3  # no libp2p retries, no 60 s negative cache
        port = int(addrs[0].rsplit("/", 1)[1])
        again = new_host(key, listen_port=port)
        again.set_handler(PROTO, echo_reversed)
        async with running(again):
            assert await alice.request(again.peer_id, addrs, PROTO, encode_frame(b"3"), 5) == (
                encode_frame(b"3")
            )


async def test_unknown_protocol_failing_handler_and_timeout() -> None:
    alice, bob = new_host(), new_host(handler_timeout=0.5)
    cancelled = asyncio.Event()

    async def fails(frame: bytes, remote: str) -> bytes:
        raise RuntimeError("a bug in the handler")

    async def slow(frame: bytes, remote: str) -> bytes:
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            cancelled.set()
            raise
        return frame

    bob.set_handler("/backup/fails/1", fails)
    bob.set_handler("/backup/slow/1", slow)

    async def ask(protocol: str, timeout: float = 5) -> bytes:
        frame = encode_frame(b"x")
        return await alice.request(bob.peer_id, bob.listen_addrs, protocol, frame, timeout)

    async with running(alice, bob):
        with pytest.raises(StreamFailed):
            await ask("/backup/none/1")
        with pytest.raises(StreamFailed):
            await ask("/backup/fails/1")
        started = time.perf_counter()
        with pytest.raises(RequestTimeout):
            await ask("/backup/slow/1", 0.2)
        assert time.perf_counter() - started < 2
        # bob's own bound (handler_timeout) cancels the handler coroutine on its loop.
        await asyncio.wait_for(cancelled.wait(), 5)
        # The connection is still usable.
        bob.set_handler(PROTO, echo_reversed)
        assert await alice.request(bob.peer_id, bob.listen_addrs, PROTO, encode_frame(b"ok"), 5)


async def test_cancelling_the_caller_cancels_the_request() -> None:
    alice, bob = new_host(), new_host()
    entered = asyncio.Event()

    async def slow(frame: bytes, remote: str) -> bytes:
        entered.set()
        await asyncio.sleep(30)
        return frame

    bob.set_handler(PROTO, slow)
    async with running(alice, bob):
        task = asyncio.create_task(
            alice.request(bob.peer_id, bob.listen_addrs, PROTO, encode_frame(b"x"), 30)
        )
        await asyncio.wait_for(entered.wait(), 5)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task


async def test_requests_before_start_during_and_after_stop() -> None:
    alice, bob = new_host(), new_host()
    entered = asyncio.Event()

    async def slow(frame: bytes, remote: str) -> bytes:
        entered.set()
        await asyncio.sleep(30)
        return frame

    bob.set_handler(PROTO, slow)
    with pytest.raises(HostNotRunning):
        await alice.request(bob.peer_id, ["/ip4/127.0.0.1/tcp/9"], PROTO, encode_frame(b"x"), 5)
    await bob.start()
    await alice.start()
    try:
        pending = asyncio.create_task(
            alice.request(bob.peer_id, bob.listen_addrs, PROTO, encode_frame(b"x"), 30)
        )
        await asyncio.wait_for(entered.wait(), 5)
        await alice.stop()
        with pytest.raises(HostNotRunning):
            await pending
        with pytest.raises(HostNotRunning):
            await alice.request(bob.peer_id, bob.listen_addrs, PROTO, encode_frame(b"x"), 5)
        await alice.stop()  # idempotent
    finally:
        await alice.stop()
        await bob.stop()


def _socket_fds() -> int:
    count = 0
    for fd in os.listdir("/proc/self/fd"):
        try:
            if os.readlink(f"/proc/self/fd/{fd}").startswith("socket:"):
                count += 1
        except OSError:
            continue
    return count


async def test_stop_releases_sockets_and_thread() -> None:
    gc.collect()
    sockets_before = _socket_fds()
    threads_before = threading.active_count()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        alice, bob = new_host(), new_host()
        bob.set_handler(PROTO, echo_reversed)
        async with running(alice, bob):
            for _ in range(5):
                await alice.request(bob.peer_id, bob.listen_addrs, PROTO, encode_frame(b"x"), 5)
            assert _socket_fds() > sockets_before
        del alice, bob
        gc.collect()
    leaks = [w for w in caught if issubclass(w.category, ResourceWarning)]
    assert not leaks, [str(w.message) for w in leaks]
    assert _socket_fds() == sockets_before
    assert threading.active_count() == threads_before


async def test_a_port_in_use_fails_start() -> None:
    first = new_host()
    async with running(first):
        port = int(first.listen_addrs[0].rsplit("/", 1)[1])
        # libp2p itself would bind it a second time (SO_REUSEPORT) and share the traffic.
        second = new_host(listen_port=port)
        with pytest.raises(ListenFailed):
            await second.start()
        assert not second.running
        await second.stop()
        # A bad listen address fails the start too, with the same error.
        third = new_host(listen_host="203.0.113.9")  # TEST-NET-3: not an address of ours
        with pytest.raises(ListenFailed):
            await third.start()


async def test_round_trips_and_connect_time(record_property: Callable[[str, object], None]) -> None:
    """The figures the final report quotes; bounds are loose (a busy CI machine)."""
    alice, bob = new_host(), new_host()
    bob.set_handler(PROTO, echo_reversed)
    async with running(alice, bob):
        started = time.perf_counter()
        await alice.request(bob.peer_id, bob.listen_addrs, PROTO, encode_frame(b"first"), 5)
        first = time.perf_counter() - started
        count = 200
        started = time.perf_counter()
        for _ in range(count):
            await alice.request(bob.peer_id, bob.listen_addrs, PROTO, encode_frame(b"x" * 200), 5)
        per_second = count / (time.perf_counter() - started)
    record_property("first_request_with_connect_s", round(first, 4))
    record_property("sequential_round_trips_per_s", round(per_second))
    assert first < 1.0  # no 250 ms happy-eyeballs delay, no retries
    assert per_second > 20
