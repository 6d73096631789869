"""`RawPeer`: a plain py-libp2p host in a trio thread of its own, built as the test says.

It stands for the peers our host must cope with: a careless or hostile one (only
`/plaintext/2.0.0`, only `/secio/1.0.0`, libp2p's default list, raw bytes on our protocol),
or an older BackUp node that speaks only `/backup/federation/1.0.0`. Tests run code in its
trio thread with `RawPeer.call`.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import Any

import multiaddr  # type: ignore[import-untyped]
import trio
from libp2p import new_host
from libp2p.abc import IHost, INetStream
from libp2p.crypto.keys import KeyPair
from libp2p.crypto.x25519 import create_new_key_pair as new_x25519_key_pair
from libp2p.custom_types import TProtocol, TSecurityOptions
from libp2p.network.config import ConnectionConfig
from libp2p.peer.id import ID
from libp2p.security import secio
from libp2p.security.insecure.transport import PLAINTEXT_PROTOCOL_ID, InsecureTransport
from libp2p.security.noise.transport import PROTOCOL_ID as NOISE_PROTOCOL_ID
from libp2p.security.noise.transport import Transport as NoiseTransport
from libp2p.security.secio.transport import Transport as SecioTransport

from crypto.keys import SigningKey
from transport.identity import key_pair_from_signing_key

SecurityFactory = Callable[[KeyPair], TSecurityOptions | None]


def plaintext_only(key_pair: KeyPair) -> TSecurityOptions:
    return {PLAINTEXT_PROTOCOL_ID: InsecureTransport(key_pair)}


def secio_only(key_pair: KeyPair) -> TSecurityOptions:
    return {TProtocol(secio.transport.ID): SecioTransport(key_pair)}


def noise_only(key_pair: KeyPair) -> TSecurityOptions:
    return {
        NOISE_PROTOCOL_ID: NoiseTransport(
            key_pair, noise_privkey=new_x25519_key_pair().private_key
        )
    }


def libp2p_default(key_pair: KeyPair) -> None:
    return None  # new_host() offers noise, TLS, secio and plaintext


StreamHandler = Callable[[INetStream], Awaitable[None]]


class RawPeer:
    """A py-libp2p host as the test configures it, in a trio thread of its own."""

    def __init__(
        self, security: SecurityFactory, handlers: dict[str, StreamHandler] | None = None,
        key: SigningKey | None = None,
    ) -> None:
        self.key = key or SigningKey.generate()
        self.key_pair = key_pair_from_signing_key(self.key)
        self.peer_id = ID.from_pubkey(self.key_pair.public_key)
        self._security = security
        self._handlers = handlers or {}
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self.host: IHost | None = None
        self.addrs: list[str] = []
        self._token: trio.lowlevel.TrioToken | None = None
        self._stop: trio.Event | None = None

    async def _main(self) -> None:
        host = new_host(
            key_pair=self.key_pair,
            sec_opt=self._security(self.key_pair),
            connection_config=ConnectionConfig(max_connections_per_peer=1),
        )
        for protocol, handler in self._handlers.items():
            host.set_stream_handler(TProtocol(protocol), handler)
        async with host.run([multiaddr.Multiaddr("/ip4/127.0.0.1/tcp/0")]):
            self.host = host
            self.addrs = [str(a) for a in host.get_transport_addrs()]
            self._token = trio.lowlevel.current_trio_token()
            self._stop = trio.Event()
            self._ready.set()
            await self._stop.wait()
            await host.close()

    def _run(self) -> None:
        try:
            trio.run(self._main)
        except BaseException as exc:  # noqa: BLE001 - reported by __enter__/__exit__
            self._error = exc
            self._ready.set()

    @contextmanager
    def running(self) -> Iterator[RawPeer]:
        thread = threading.Thread(target=self._run, daemon=True)
        thread.start()
        assert self._ready.wait(10), "raw peer did not start"
        if self._error is not None:
            raise self._error
        try:
            yield self
        finally:
            assert self._token is not None and self._stop is not None
            trio.from_thread.run_sync(self._stop.set, trio_token=self._token)
            thread.join(10)
            assert not thread.is_alive()

    async def call(self, fn: Callable[..., Awaitable[Any]], *args: Any) -> Any:
        """Run `fn(self.host, *args)` in the peer's trio thread; its result or its error."""
        assert self._token is not None
        return await asyncio.to_thread(
            trio.from_thread.run, fn, self.host, *args, trio_token=self._token
        )
