"""One libp2p host per process, driven from asyncio (issue 5, "Transport").

py-libp2p runs on trio only; the node and the observatory are aiohttp (asyncio) processes.
`Libp2pHost` runs trio in a thread of its own:

* asyncio → trio: a request starts a trio task in the host's nursery, which settles an
  asyncio future with the answer;
* trio → asyncio: an incoming request's handler runs as a task on the caller's loop while
  the trio side waits on a `trio.Event`.

Both directions go through `transport.bridge`, which batches the wake-ups of the other thread.
What crosses the thread boundary is bytes, strings and futures, never a libp2p object.

py-libp2p's defaults that are wrong for us are changed here:

* **Noise only.** `new_host()` also offers TLS, `/secio/1.0.0` and `/plaintext/2.0.0`, and a
  peer offering only plaintext got a plaintext connection. `sec_opt` holds Noise alone
  (libp2p noise spec, XX handshake), which also authenticates the peer id we dial.
* **No 250 ms per connect.** `Swarm.dial_peer` waits a fixed happy-eyeballs delay unless
  `max_connections_per_peer=1` lets it stop at the first connection.
* **No libp2p redialling of its own.** The swarm's dial retries (3, with backoff), its
  60 s "negative cache" of failed peers and its auto-connector (which re-dials every known
  peer after any disconnect) are switched off: the outbox owns retrying, with its own
  persisted backoff, and a peer that comes back is reachable at the next attempt.
* **Clean shutdown.** `host.close()` runs inside `host.run()` but outside the cancelled
  nursery, or the outbound socket leaks (ResourceWarning).

libp2p's own identify (``/ipfs/id/1.0.0``, with push) and ping (``/ipfs/ping/1.0.0``) are
served as `new_host()` sets them up, so other implementations can identify and ping us.

**Requests.** A request is one varint frame (`protocol.framing`) answered by one frame on a
stream of its protocol. A stream of the current version carries any number of requests in
turn: the requester keeps it for the next request to the same peer (`transport.streams`),
and the responder answers frame after frame until the requester closes its side or the
stream stays idle for `stream_idle_timeout`. Every request has its own deadline; a request
that fails, times out or is cancelled resets its stream, which is never reused. Sizes are
checked on the declared length before any body is read, so a peer cannot make us buffer
more than `MAX_FRAME_BYTES` per stream. Protocol versions (which ids are served, offered and
refused, and the 1.0.0 re-framing) are in `transport.negotiation` and `protocol.versions`.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import threading
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache, partial
from typing import Any, TypeVar

import multiaddr  # type: ignore[import-untyped]  # ships no type information (0.2.0)
import trio
from libp2p import new_host
from libp2p.abc import IHost, INetStream
from libp2p.crypto.x25519 import create_new_key_pair as new_x25519_key_pair
from libp2p.custom_types import TProtocol
from libp2p.network.config import ConnectionConfig, RetryConfig
from libp2p.network.swarm import Swarm
from libp2p.peer.id import ID
from libp2p.peer.peerinfo import PeerInfo
from libp2p.security.noise.transport import PROTOCOL_ID as NOISE_PROTOCOL_ID
from libp2p.security.noise.transport import Transport as NoiseTransport
from libp2p.stream_muxer.yamux.yamux import PROTOCOL_ID as YAMUX_PROTOCOL_ID
from libp2p.stream_muxer.yamux.yamux import Yamux

from crypto.keys import SigningKey
from protocol.errors import ProtocolError
from protocol.framing import decode_frame
from protocol.versions import (
    FAMILIES,
    ProtocolFamily,
    ProtocolVersion,
    family_of,
    parse_refusal,
)
from transport.bridge import CancelHandle, Crossing, run_on_loop, set_error, set_result
from transport.errors import (
    BadPeerAddress,
    DialFailed,
    FrameRefused,
    HandlerFailed,
    HostNotRunning,
    ListenFailed,
    RequestTimeout,
    StreamClosed,
    StreamFailed,
    TransportError,
    VersionRefused,
)
from transport.identity import key_pair_from_signing_key, parse_addrs, parse_peer_id
from transport.negotiation import FamilyHandlers, offered, refuse_version
from transport.streams import FramedStream, StreamPool

log = logging.getLogger(__name__)

# An incoming request handler: (frame, remote peer id) → response frame. It runs on the
# asyncio loop that called `start()`. Raising resets the stream (the peer sees
# `StreamFailed` and its outbox retries).
Handler = Callable[[bytes, str], Awaitable[bytes]]

_T = TypeVar("_T")

# Protocol ids are ours to choose; keep them short, printable and path-like
# (multistream-select spec: a protocol id is a UTF-8 path, one line).
_MAX_PROTOCOL_ID = 128
# How long the peerstore keeps the addresses a request dialled (seconds). Every request
# passes the addresses again, so this only has to outlive one request.
_ADDR_TTL = 600


@dataclass(frozen=True)
class HostConfig:
    """Where to listen and how long to wait. Times are seconds."""

    listen_host: str = "127.0.0.1"
    listen_port: int = 0  # 0: the OS picks a free port (tests); a node pins one
    dial_timeout: float = 10.0
    # From the opening of a stream, or from the first byte of a later request on it, to its
    # response: a slow peer (or a slowloris) cannot hold a stream, and the handler
    # coroutine, longer than this.
    handler_timeout: float = 30.0
    # How long a responder keeps a stream that carries no request (between two requests);
    # a requester reuses an idle stream for half as long, so it seldom races the close.
    stream_idle_timeout: float = 30.0
    # Keep the streams of finished requests for the next ones (False: one stream per
    # request, closed after it, as 1.0.0 does). At most `max_idle_streams` per peer and
    # protocol are kept: as many as requests to one peer are usually in flight at once.
    reuse_streams: bool = True
    max_idle_streams: int = 32
    # multistream-select negotiation per stream (libp2p's default is 10 s).
    negotiate_timeout: int = 10

    def __post_init__(self) -> None:
        if not 0 <= self.listen_port <= 65535:
            raise ValueError("listen_port is 0..65535")
        timeouts = (self.dial_timeout, self.handler_timeout, self.stream_idle_timeout,
                    self.negotiate_timeout)
        if min(timeouts) <= 0:
            raise ValueError("timeouts must be positive")
        if self.max_idle_streams < 0:
            raise ValueError("max_idle_streams is 0 or more")


def _check_protocol_id(protocol_id: str) -> TProtocol:
    if (
        not protocol_id.startswith("/")
        or len(protocol_id) > _MAX_PROTOCOL_ID
        or not protocol_id.isprintable()
        or " " in protocol_id
    ):
        raise ValueError("a protocol id is a short printable path such as /backup/outbox/1")
    return TProtocol(protocol_id)


def _refuse_port_in_use(host: str, port: int) -> None:
    """`ListenFailed` if something already listens on (host, port).

    libp2p 0.8 listens with SO_REUSEPORT (for TCP hole punching), so a second process of the
    same user can bind the same port and Linux then splits incoming connections between the
    two: a stale node left running would silently take half of its successor's traffic.
    A probe bound *without* SO_REUSEPORT fails if anyone listens there. SO_REUSEADDR lets
    it ignore connections of a previous run still in TIME_WAIT.
    """
    if port == 0:
        return
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise ListenFailed(f"cannot listen on port {port}: {exc.strerror}") from None


@lru_cache(maxsize=1024)
def _parse_peer(peer_id: str, addrs: tuple[str, ...]) -> tuple[ID, tuple[Any, ...]]:
    """The checked peer id and multiaddrs (`transport.identity`), kept for the next request
    to the same peer: parsing them costs more than a round trip's bridging."""
    return parse_peer_id(peer_id), tuple(parse_addrs(peer_id, addrs))


def _check_frame(frame: bytes) -> None:
    """Exactly one well-formed frame of at most `MAX_FRAME_BYTES`, or `FrameRefused`."""
    try:
        decode_frame(frame)
    except ProtocolError as exc:
        raise FrameRefused(str(exc)) from None


def _listen_multiaddr(host: str, port: int) -> Any:
    family = "ip6" if ":" in host else "ip4"
    return multiaddr.Multiaddr(f"/{family}/{host}/tcp/{port}")


class Libp2pHost:
    """A libp2p host (TCP, Noise, yamux) in its own trio thread, used from asyncio.

    Identity is the node's own Ed25519 key: `peer_id` equals
    `transport.identity.peer_id_from_public_key(signing_key.verify_key.raw())`.
    `families` are the versioned protocols (`protocol.versions.FAMILIES`; tests pass others).
    """

    def __init__(self, signing_key: SigningKey, config: HostConfig | None = None,
                 families: tuple[ProtocolFamily, ...] = FAMILIES) -> None:
        self._key_pair = key_pair_from_signing_key(signing_key)
        self._peer_id = ID.from_pubkey(self._key_pair.public_key).to_base58()
        self._config = config or HostConfig()
        self._families = families
        self._handlers: dict[str, Handler] = {}
        # Trio thread only: idle request streams, by (peer ID, protocol id asked for).
        self._pool = StreamPool(per_key=self._config.max_idle_streams,
                                max_idle=self._config.stream_idle_timeout / 2)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._finished: asyncio.Future[None] | None = None
        self._to_loop: Crossing | None = None  # callbacks for the asyncio loop
        # Set in the trio thread while the host runs; read elsewhere only after `started`.
        self._to_trio: Crossing | None = None  # callbacks for the trio thread
        self._nursery: trio.Nursery | None = None
        self._stop_event: trio.Event | None = None
        self._host: IHost | None = None
        self._accepting = False  # trio thread: new requests may start
        self._running = False  # asyncio side: between a successful start() and stop()
        self._listen_addrs: tuple[str, ...] = ()

    # -- asyncio side ------------------------------------------------------------------

    @property
    def peer_id(self) -> str:
        """Our base58 peer id (stable: derived from the node's key)."""
        return self._peer_id

    @property
    def listen_addrs(self) -> tuple[str, ...]:
        """The TCP multiaddrs we listen on, without `/p2p/` (empty until started)."""
        return self._listen_addrs

    @property
    def running(self) -> bool:
        return self._running

    def set_handler(self, protocol_id: str, handler: Handler) -> None:
        """Answer streams of `protocol_id` with `handler` (before or after `start`).

        The handler gets the request frame and the remote peer id, which Noise has
        authenticated; *which* peers may use a protocol is the handler's decision (map the
        peer id to a member node through the membership list before believing anything).
        """
        protocol = _check_protocol_id(protocol_id)
        self._handlers[protocol_id] = handler
        if self._running and self._to_trio is not None:
            try:
                self._to_trio.call(partial(self._register, protocol))
            except trio.RunFinishedError:
                pass

    async def start(self) -> None:
        """Start the trio thread and listen; returns once the host accepts connections."""
        if self._thread is not None:
            raise TransportError("a host starts once; make a new one to restart")
        _refuse_port_in_use(self._config.listen_host, self._config.listen_port)
        loop = asyncio.get_running_loop()
        started: asyncio.Future[None] = loop.create_future()
        self._finished = loop.create_future()
        self._loop = loop
        self._to_loop = Crossing(loop.call_soon_threadsafe)
        self._thread = threading.Thread(
            target=self._thread_main,
            args=(self._to_loop, started, self._finished),
            name=f"libp2p-{self._peer_id[-8:]}",
            daemon=True,
        )
        self._thread.start()
        try:
            await started
        except BaseException:
            await self._join()
            raise
        if self._finished.done():  # started, then crashed at once (logged by the thread)
            raise HostNotRunning("the libp2p host stopped right after starting")
        self._finished.add_done_callback(self._on_thread_end)
        self._running = True
        log.info("libp2p host %s listening on %s", self._peer_id, ", ".join(self._listen_addrs))

    async def stop(self) -> None:
        """Close every connection and the listener, end the trio thread. Idempotent."""
        if self._thread is None:
            return
        self._running = False
        to_trio, stop_event = self._to_trio, self._stop_event
        if to_trio is not None and stop_event is not None:
            try:
                to_trio.call(stop_event.set)
            except trio.RunFinishedError:
                pass
        await self._join()
        log.info("libp2p host %s stopped", self._peer_id)

    def _on_thread_end(self, _: asyncio.Future[None]) -> None:
        self._running = False  # stopped, or crashed (the thread logged why)

    async def _join(self) -> None:
        assert self._finished is not None and self._thread is not None
        try:
            await self._finished
        finally:
            # `finished` is settled as the thread's last act, so this join returns at once
            # (no executor thread for it: a test counting threads would see one left).
            self._thread.join(timeout=5)

    async def request(
        self,
        peer_id: str,
        addrs: Sequence[str],
        protocol_id: str,
        frame: bytes,
        timeout: float,
        *,
        reuse_stream: bool | None = None,
    ) -> bytes:
        """Send one frame to `peer_id` on a `protocol_id` stream; return its answer.

        `frame` and the returned value are whole varint length-prefixed frames. For a
        versioned protocol (`protocol.versions.FAMILIES`) every version we serve is offered,
        newest first. The stream is an idle one kept from an earlier request to the peer, or
        a new one (`reuse_stream`: None follows `HostConfig.reuse_streams`; False takes a
        new stream and closes it after the answer). `timeout` bounds the whole request,
        dial included. Raises a `TransportError`: `DialFailed`, `StreamFailed`,
        `RequestTimeout`, `FrameRefused`, `VersionRefused`, `BadPeerAddress` or
        `HostNotRunning`. Cancelling the caller cancels the request.
        """
        protocol = _check_protocol_id(protocol_id)
        if timeout <= 0:
            raise ValueError("timeout must be positive")
        _check_frame(frame)
        if isinstance(addrs, str):
            raise TypeError("addrs is a sequence of multiaddr strings, not one string")
        target, maddrs = _parse_peer(peer_id, tuple(addrs))
        if target.to_base58() == self._peer_id:
            raise BadPeerAddress("a host does not dial itself")
        loop, to_trio = self._loop, self._to_trio
        if not self._running or loop is None or to_trio is None:
            raise HostNotRunning("the libp2p host is not running")
        reuse = self._config.reuse_streams if reuse_stream is None else reuse_stream
        future: asyncio.Future[bytes] = loop.create_future()
        handle = CancelHandle()
        try:
            to_trio.call(partial(self._spawn, self._request_task,
                                 (target, maddrs, protocol, frame, timeout, reuse), future,
                                 handle))
        except trio.RunFinishedError:
            raise HostNotRunning("the libp2p host is not running") from None
        try:
            return await future
        except asyncio.CancelledError:
            try:
                to_trio.call(handle.cancel)
            except trio.RunFinishedError:
                pass
            raise

    # -- trio side ---------------------------------------------------------------------

    def _thread_main(
        self,
        to_loop: Crossing,
        started: asyncio.Future[None],
        finished: asyncio.Future[None],
    ) -> None:
        error: BaseException | None = None
        try:
            trio.run(self._trio_main, to_loop, started)
        except TransportError as exc:
            error = exc
        except BaseException as exc:  # noqa: BLE001 - handed to the asyncio side below
            error = ListenFailed(f"the libp2p host failed: {type(exc).__name__}")
            error.__cause__ = exc
        set_error(to_loop, started, error or HostNotRunning("the host stopped while starting"))
        if error is not None:
            log.error("libp2p host %s failed: %s", self._peer_id, type(error).__name__)
        # `finished` reports success: a failed start is already reported through `started`.
        set_result(to_loop, finished, None)

    def _new_host(self) -> IHost:
        noise = NoiseTransport(self._key_pair, noise_privkey=new_x25519_key_pair().private_key)
        host = new_host(
            key_pair=self._key_pair,
            sec_opt={NOISE_PROTOCOL_ID: noise},
            muxer_opt={TProtocol(YAMUX_PROTOCOL_ID): Yamux},
            connection_config=ConnectionConfig(
                max_connections_per_peer=1, dial_timeout=self._config.dial_timeout
            ),
            negotiate_timeout=self._config.negotiate_timeout,
        )
        network = host.get_network()
        if isinstance(network, Swarm):
            network.retry_config = RetryConfig(max_retries=0)
        # Accept the unserved ids of our families, to refuse them (`transport.negotiation`).
        mux = host.get_mux()
        mux.handlers = FamilyHandlers(mux.handlers, self._refusal_for)
        return host

    async def _trio_main(self, to_loop: Crossing, started: asyncio.Future[None]) -> None:
        host = self._new_host()
        self._host = host
        for protocol_id in list(self._handlers):
            self._register(TProtocol(protocol_id))
        listen = _listen_multiaddr(self._config.listen_host, self._config.listen_port)
        async with host.run([listen]):
            network = host.get_network()
            if isinstance(network, Swarm):
                await network.auto_connector.stop()
            if not host.get_transport_addrs():
                # `host.run()` logs a failed listen and carries on without a listener.
                await host.close()
                raise ListenFailed(f"cannot listen on {self._config.listen_host}")
            async with trio.open_nursery() as nursery:
                self._nursery = nursery
                self._stop_event = trio.Event()
                self._to_trio = Crossing(trio.lowlevel.current_trio_token().run_sync_soon)
                self._listen_addrs = tuple(
                    str(addr) for addr in host.get_transport_addrs()
                )
                self._accepting = True
                set_result(to_loop, started, None)
                await self._stop_event.wait()
                self._accepting = False
                nursery.cancel_scope.cancel()
            for stream in self._pool.drain():
                await stream.reset()
            # Inside run(), outside the cancelled nursery, or the outbound socket leaks.
            await host.close()
        self._host = None

    def _spawn(
        self,
        task: Callable[..., Awaitable[_T]],
        args: tuple[Any, ...],
        future: asyncio.Future[_T],
        handle: CancelHandle,
    ) -> None:
        """Start `task(*args)` in the host's nursery; runs in the trio thread."""
        to_loop = self._to_loop
        assert to_loop is not None
        if not self._accepting or self._nursery is None:
            set_error(to_loop, future, HostNotRunning("the libp2p host is stopping"))
            return
        self._nursery.start_soon(self._settle, task, args, future, handle)

    async def _settle(
        self,
        task: Callable[..., Awaitable[_T]],
        args: tuple[Any, ...],
        future: asyncio.Future[_T],
        handle: CancelHandle,
    ) -> None:
        """Run `task` and settle `future` with its outcome, whatever happens (trio side)."""
        to_loop = self._to_loop
        assert to_loop is not None
        settled = False
        try:
            with trio.CancelScope() as scope:
                handle.scope = scope
                if handle.cancelled:
                    scope.cancel()
                try:
                    result = await task(*args)
                    settled = True
                    set_result(to_loop, future, result)
                except TransportError as exc:
                    settled = True
                    set_error(to_loop, future, exc)
                except Exception as exc:  # noqa: BLE001 - libp2p raises many types; one code out
                    log.debug("request failed: %s", type(exc).__name__)
                    settled = True
                    set_error(to_loop, future, StreamFailed(type(exc).__name__))
        finally:
            if not settled:  # cancelled by the caller (its future is cancelled) or by stop()
                set_error(to_loop, future, HostNotRunning("the libp2p host stopped"))

    async def _request_task(
        self,
        target: ID,
        addrs: list[Any],
        protocol: TProtocol,
        frame: bytes,
        timeout: float,
        reuse: bool,
    ) -> bytes:
        host = self._host
        assert host is not None
        try:
            with trio.fail_after(timeout):
                return await self._exchange(host, target, addrs, protocol, frame, reuse)
        except trio.TooSlowError:
            raise RequestTimeout(f"no answer within {timeout:g}s") from None

    async def _exchange(self, host: IHost, target: ID, addrs: list[Any], protocol: TProtocol,
                        frame: bytes, reuse: bool) -> bytes:
        key = (target, str(protocol))
        if reuse:
            stream, stale = self._pool.take(key)
            for old in stale:
                await old.close()
            if stream is not None:
                try:
                    return await self._round_trip(stream, frame, key, reuse)
                except StreamClosed:
                    pass  # the peer let the idle stream go before reading our request
                except StreamFailed:
                    if stream.connection_closed:  # the others on it are dead too
                        await self._drop(host, target)
                    raise
        versions = offered(str(protocol), self._families)
        versioned = family_of(str(protocol), self._families) is not None
        await self._connect(host, target, addrs)
        stream = await self._open(host, target, versions)
        response = await self._round_trip(stream, frame, key, reuse, versioned)
        if not versioned or (refusal := parse_refusal(response)) is None:
            return response
        # The peer serves another version of the family than the one it accepted: try the
        # ones it names that we offer too, in our order (this is multistream-select's
        # fallback, across a peer that refuses rather than says "na").
        retry = [v for v in versions
                 if v.protocol_id in refusal.served and v.protocol_id != refusal.refused]
        if retry:
            stream = await self._open(host, target, retry)
            response = await self._round_trip(stream, frame, key, reuse, versioned)
            refusal = parse_refusal(response)
        if refusal is not None:
            raise VersionRefused(f"the peer serves {', '.join(refusal.served)}")
        return response

    async def _connect(self, host: IHost, target: ID, addrs: list[Any]) -> None:
        network = host.get_network()
        if isinstance(network, Swarm):
            # Our caller (the outbox) decides when to try again, not libp2p's 60 s cache.
            network.unblock_peer(target)
        try:
            await host.connect(PeerInfo(target, list(addrs)))
        except trio.Cancelled:
            raise
        except Exception as exc:  # noqa: BLE001 - SwarmException, noise and OS errors alike
            log.debug("dial to %s failed: %s", target, type(exc).__name__)
            raise DialFailed(type(exc).__name__) from None

    async def _open(self, host: IHost, target: ID, versions: list[ProtocolVersion]
                    ) -> FramedStream:
        """A new stream to `target`, negotiated to the first of `versions` it serves."""
        ids = [TProtocol(v.protocol_id) for v in versions]
        try:
            stream = await host.new_stream(target, ids)
        except trio.Cancelled:
            raise
        except Exception as exc:  # noqa: BLE001 - StreamFailure, SwarmException, resets
            # A dead peer can still look connected: drop the connection so that the next
            # attempt dials afresh.
            await self._drop(host, target)
            raise StreamFailed(type(exc).__name__) from None
        chosen = str(stream.get_protocol())
        version = next((v for v in versions if v.protocol_id == chosen), versions[0])
        return FramedStream(stream, version)

    async def _round_trip(self, stream: FramedStream, frame: bytes, key: tuple[ID, str],
                          reuse: bool, versioned: bool = False) -> bytes:
        """Write `frame`, read the answer; keep the stream for later if `reuse`, else close.
        Any failure resets the stream, and a version refusal closes it: neither is reused."""
        keep = reuse and stream.reusable
        try:
            await stream.write_frame(frame)
            if not keep:
                await stream.close_write()  # one request on this stream: tell the peer so
            response = await stream.read_frame()
        except (TransportError, trio.Cancelled):
            await stream.reset()
            raise
        except Exception as exc:  # noqa: BLE001 - StreamReset, StreamClosed, ...
            await stream.reset()
            raise StreamFailed(type(exc).__name__) from None
        if versioned and parse_refusal(response) is not None:
            keep = False
        if not (keep and self._accepting and self._pool.give(key, stream)):
            await stream.close()
        return response

    async def _drop(self, host: IHost, target: ID) -> None:
        with trio.CancelScope(shield=True):
            for stream in self._pool.drop(target):
                await stream.reset()
            try:
                await host.disconnect(target)
            except Exception as exc:  # noqa: BLE001 - best effort
                log.debug("disconnect from %s failed: %s", target, type(exc).__name__)

    # -- serving -------------------------------------------------------------------------

    def _register(self, protocol: TProtocol) -> None:
        """Route the streams of `protocol` (every served version, for a family) to
        `_serve` (trio thread)."""
        host = self._host
        if host is None:
            return
        for version in offered(str(protocol), self._families):
            host.set_stream_handler(TProtocol(version.protocol_id),
                                    self._stream_handler(str(protocol), version))

    def _stream_handler(self, protocol: str, version: ProtocolVersion
                        ) -> Callable[[INetStream], Awaitable[None]]:
        async def on_stream(stream: INetStream) -> None:
            await self._serve(protocol, FramedStream(stream, version))

        return on_stream

    def _refusal_for(self, protocol_id: str) -> Callable[[INetStream], Awaitable[None]] | None:
        """The refusal handler for an unserved id of a family we serve, else None."""
        for family in self._families:
            if family.current in self._handlers and family.includes(protocol_id):
                if family.version(protocol_id) is not None:
                    return None  # served (its handler is being registered)

                async def refuse(stream: INetStream, family: ProtocolFamily = family) -> None:
                    await refuse_version(family, stream)

                return refuse
        return None

    async def _serve(self, protocol: str, stream: FramedStream) -> None:
        """Answer the requests of one stream in turn, until the peer closes its side, the
        stream idles for `stream_idle_timeout`, or anything goes wrong (then reset)."""
        remote = stream.stream.muxed_conn.peer_id.to_base58()
        config = self._config
        first = True
        while True:
            try:
                if first:
                    # The first request is bounded from the stream's opening, as a whole.
                    with trio.fail_after(config.handler_timeout):
                        await stream.receive_some()
                        await self._answer(protocol, stream, remote)
                else:
                    with trio.move_on_after(config.stream_idle_timeout) as idle:
                        await stream.receive_some()
                    if idle.cancelled_caught or not self._accepting:
                        await stream.close()
                        return
                    with trio.fail_after(config.handler_timeout):
                        await self._answer(protocol, stream, remote)
            except StreamClosed:
                await stream.close()  # the peer is done with the stream
                return
            except trio.Cancelled:
                await stream.reset()
                raise
            except trio.TooSlowError:
                log.info("request on %s from %s: timed out", stream.version.protocol_id, remote)
                await stream.reset()
                return
            except TransportError as exc:
                log.info("request on %s from %s refused: %s", stream.version.protocol_id,
                         remote, exc.code)
                await stream.reset()
                return
            except Exception as exc:  # noqa: BLE001 - the peer's stream failed; nothing to keep
                log.info("request on %s from %s failed: %s", stream.version.protocol_id,
                         remote, type(exc).__name__)
                await stream.reset()
                return
            if not stream.reusable:
                await stream.close()  # 1.0.0: one request per stream
                return
            first = False

    async def _answer(self, protocol: str, stream: FramedStream, remote: str) -> None:
        handler = self._handlers.get(protocol)
        if handler is None:
            raise HandlerFailed("no handler")
        request = await stream.read_frame()
        loop, to_loop, to_trio = self._loop, self._to_loop, self._to_trio
        assert loop is not None and to_loop is not None and to_trio is not None
        response = await run_on_loop(loop, to_loop, to_trio, handler, request, remote)
        try:
            _check_frame(response)
        except FrameRefused:
            raise HandlerFailed("handler returned no valid frame") from None
        await stream.write_frame(response)
