"""The serving process: the node's web apps, its federation and its background work, side by
side on one event loop.

`running` is what `backup-node serve` (and `backup-node demo`) run and what the integration
tests start on 127.0.0.1: one context manager, so that the tests exercise the very same
wiring. It starts, in order: the sweep of draft files abandoned at the last stop (before any
upload is accepted), the federation (`node.federation.startup`, when `[federation]` is
configured), the periodic jobs (`node.background`), then the web servers; it stops them in
the reverse order. The web apps (`node.web.app.create_app`) only serve requests: they start
nothing. The context is the caller's, opened before and closed after.

Trust boundaries: each address (`Site`) carries the route sets it is given. `sites` is the
CLI's choice: by default the staff office on its own address (loopback unless configured)
and the reporter's site and the JSON API on the public one; one address for everything only
when asked for (``--staff-on-public``).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import signal
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass

from aiohttp import web

from node.background import run_periodic
from node.context import NodeContext, run_sync
from node.federation.startup import start_federation
from node.federation.status import FederationStatus
from node.web.accesslog import PrivacyAccessLogger, filter_request_bytes
from node.web.app import PARTS, create_app
from node.web.monitoring import RequestCounts

log = logging.getLogger("backup.node")


@dataclass(frozen=True)
class Site:
    """One address the node listens on, and the route sets it carries (`web.app.PARTS`)."""

    parts: frozenset[str]
    host: str = "127.0.0.1"
    port: int = 0  # 0: a free one


def sites(host: str = "127.0.0.1", port: int = 0, staff_host: str = "127.0.0.1",
          staff_port: int = 0, *, staff_on_public: bool = False,
          expert: tuple[str, int] | None = None) -> tuple[Site, ...]:
    """What `backup-node serve` listens on. By default the staff office has its own address
    (loopback unless `staff_host` says otherwise) and the public one carries only the
    reporter's site and the API: a stranger who reaches the public address cannot even
    find the staff sign-in. `staff_on_public` serves everything on (host, port) instead,
    an explicit choice (e.g. behind a proxy that already separates them). `expert`, the
    expert app's (host, port) (`[expert_app]`), serves it apart from both; None: not at all."""
    apps = () if expert is None else (Site(frozenset({"expert"}), *expert),)
    if staff_on_public:
        return (Site(PARTS - {"expert"}, host, port), *apps)
    return (Site(frozenset({"public", "api"}), host, port),
            Site(frozenset({"staff"}), staff_host, staff_port), *apps)


@dataclass(frozen=True)
class Running:
    urls: dict[str, str]  # route set -> the base URL that serves it
    federation: FederationStatus

    @property
    def public_url(self) -> str:
        return self.urls["public"]

    @property
    def staff_url(self) -> str:
        return self.urls["staff"]

    @property
    def expert_url(self) -> str:
        return self.urls["expert"]


def _url(runner: web.AppRunner) -> str:
    host, port = runner.addresses[0][:2]
    return f"http://{_url_host(host)}:{port}"


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


@contextlib.asynccontextmanager
async def running(ctx: NodeContext, listen: Sequence[Site] = (Site(PARTS),)
                  ) -> AsyncIterator[Running]:
    """Serve the node on the addresses in `listen`, each route set on at most one."""
    filter_request_bytes()
    served = [part for site in listen for part in site.parts]
    if len(served) != len(set(served)) or not set(served) <= PARTS:
        raise ValueError(f"each of {sorted(PARTS)} is served on at most one address")
    removed = await run_sync(ctx, ctx.intake.sweep_orphan_files)
    if removed:
        log.info("removed %d unreadable file(s) of drafts abandoned at last stop", removed)
    status = FederationStatus()
    counts = RequestCounts()
    runners: list[web.AppRunner] = []
    jobs: asyncio.Task[None] | None = None
    federation = await start_federation(ctx, status)
    try:
        jobs = asyncio.create_task(run_periodic(ctx, federation))
        urls: dict[str, str] = {}
        for site in listen:
            runner = web.AppRunner(create_app(ctx, site.parts, federation_status=status,
                                              request_counts=counts),
                                   access_log_class=PrivacyAccessLogger,
                                   # bodies arrive uncompressed or are refused
                                   # (`node.web.bodies`); never decompressed by the parser
                                   auto_decompress=False)
            await runner.setup()
            runners.append(runner)
            await web.TCPSite(runner, site.host, site.port).start()
            urls.update(dict.fromkeys(site.parts, _url(runner)))
        yield Running(urls, status)
    finally:
        for runner in reversed(runners):
            await runner.cleanup()
        if jobs is not None:
            jobs.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await jobs
        if federation is not None:
            await federation.stop()


async def serve(ctx: NodeContext, listen: Sequence[Site], banner: str = "") -> None:
    """`running` until SIGINT or SIGTERM, after printing where everything is."""
    async with running(ctx, listen) as served:
        # What exists now (modules, the apps, the node's context) lives as long as the
        # process: out of the cyclic garbage collector's full collections, each of which
        # walked all of it again while a request waited -- the slowest searches
        # (bench_backoffice). Collected once first, so that no garbage is kept for good.
        gc.collect()
        gc.freeze()
        where = []
        if "public" in served.urls:
            where.append(f"Public site:  {served.urls['public']}/")
        if "staff" in served.urls:
            where.append(f"Staff login:  {served.urls['staff']}/staff/login")
        if "api" in served.urls:
            where.append(f"API document: {served.urls['api']}/api/v1/openapi.json")
        if "expert" in served.urls:
            where.append(f"Expert app:   {served.urls['expert']}/expert/login")
        print(banner + "\n".join(where), flush=True)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await stop.wait()
