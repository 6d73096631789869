"""The serving process: the aiohttp app and the libp2p host, side by side on one event loop.

`running` is what `backup-observatory serve` runs, and what the integration tests start on
127.0.0.1: one context manager, so that the tests exercise the very same wiring. The libp2p
host (`transport.host.Libp2pHost`, Noise only, trio in its own thread) answers
`protocol.versions.FEDERATION_PROTOCOL` (`observatory.federation`); a background task forgets
replay-guard entries that can no longer be replayed and keeps the membership list from
expiring; another folds the matching tokens of recent submissions into the stored ones
(`observatory.matching.fold`). All write through the context's one database writer, in
worker threads.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from functools import partial

from aiohttp import web

from observatory import matching
from observatory.context import ObservatoryContext
from observatory.federation import Federation, StatisticsHook
from observatory.web.accesslog import PrivacyAccessLogger
from observatory.web.app import create_app
from observatory.web.sessions import LoginThrottle
from protocol.versions import FEDERATION_PROTOCOL as PROTOCOL_ID
from transport.host import HostConfig, Libp2pHost
from transport.inbox import ReplayGuard

log = logging.getLogger("backup.observatory")

MAINTENANCE_SECONDS = 3600
FOLD_CHECK_SECONDS = 30


@dataclass(frozen=True)
class Running:
    web_url: str
    p2p: Libp2pHost

    @property
    def multiaddrs(self) -> tuple[str, ...]:
        """Where nodes reach the running host (with the `/p2p/<peer id>` suffix)."""
        return tuple(f"{a}/p2p/{self.p2p.peer_id}" for a in self.p2p.listen_addrs)


def maintain(ctx: ObservatoryContext) -> None:
    """Forget expired replay-guard entries; re-issue the membership list when half-expired."""
    now = ctx.now()
    removed = ReplayGuard(ctx.db).purge(now)
    if removed:
        log.info("replay guard: forgot %d expired entries", removed)
    if ctx.members.with_status("approved", "revoked"):
        ctx.lists.current(now)


async def _every(seconds: float, job: Callable[[], object], what: str) -> None:
    """Run `job` in a worker thread now and every `seconds`, until cancelled."""
    while True:
        try:
            await asyncio.to_thread(job)
        except Exception as exc:  # noqa: BLE001 - keep serving; log the kind only
            log.error("%s failed: %s", what, type(exc).__name__)
        await asyncio.sleep(seconds)


def fold_tokens(ctx: ObservatoryContext, after: int = matching.FOLD_AFTER,
                chunk: int = matching.FOLD_CHUNK) -> int:
    """Fold recent matching tokens into the stored part while more than `after` wait, one
    transaction per `chunk`, so that submissions get the writer between chunks."""
    moved = 0
    while matching.recent_count(ctx.db.read()) > after:
        with ctx.db.write() as conn:
            moved += matching.fold(conn, chunk)
    return moved


@contextlib.asynccontextmanager
async def running(
    ctx: ObservatoryContext,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    p2p_port: int | None = None,
    throttle: LoginThrottle | None = None,
    statistics_release: StatisticsHook | None = None,
) -> AsyncIterator[Running]:
    """Serve the web app on (host, port) and the federation on the configured libp2p
    address (port `p2p_port`, default the config's); port 0 picks a free one."""
    p2p_config = ctx.config.p2p
    p2p = Libp2pHost(ctx.identity.signing_key, HostConfig(
        listen_host=p2p_config.listen_host,
        listen_port=p2p_config.listen_port if p2p_port is None else p2p_port,
    ))
    p2p.set_handler(PROTOCOL_ID, Federation(ctx, statistics_release=statistics_release).handle)
    runner = web.AppRunner(create_app(ctx, throttle=throttle),
                           access_log_class=PrivacyAccessLogger)
    await runner.setup()
    tasks: list[asyncio.Task[None]] = []
    try:
        site = web.TCPSite(runner, host, port)
        await site.start()
        await p2p.start()
        tasks = [asyncio.create_task(_every(MAINTENANCE_SECONDS, partial(maintain, ctx),
                                            "maintenance")),
                 asyncio.create_task(_every(FOLD_CHECK_SECONDS, partial(fold_tokens, ctx),
                                            "folding matching tokens"))]
        bound = runner.addresses[0]
        web_host = f"[{bound[0]}]" if ":" in bound[0] else bound[0]
        yield Running(f"http://{web_host}:{bound[1]}", p2p)
    finally:
        for task in tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await p2p.stop()
        await runner.cleanup()
