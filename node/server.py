"""The serving process: the node's web apps, its federation and its background work, side by
side on one event loop.

`running` is what `backup-node serve` (and `backup-node demo`) run and what the integration
tests start on 127.0.0.1: one context manager, so that the tests exercise the very same
wiring. It starts, in order: the sweep of draft files abandoned at the last stop (before any
upload is accepted), the federation (`node.federation.startup`, when `[federation]` is
configured), the periodic jobs (`node.background`), then the web servers; it stops them in
the reverse order. The web apps (`node.web.app.create_app`) only serve requests: they start
nothing. The context is the caller's, opened before and closed after.

Trust boundaries: the public address carries the reporter's site and the JSON API, and the
staff office too unless it is given its own address (`staff_port`), which then listens on
`staff_host` (loopback by default).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import AsyncIterator
from dataclasses import dataclass

from aiohttp import web

from node.background import run_periodic
from node.context import NodeContext, run_sync
from node.federation.startup import start_federation
from node.federation.status import FederationStatus
from node.web.accesslog import PrivacyAccessLogger
from node.web.app import PARTS, create_app

log = logging.getLogger("backup.node")

PUBLIC_PARTS = frozenset({"public", "api"})
STAFF_PARTS = frozenset({"staff"})


@dataclass(frozen=True)
class Running:
    public_url: str
    staff_url: str
    federation: FederationStatus


def _url(runner: web.AppRunner) -> str:
    host, port = runner.addresses[0][:2]
    return f"http://{_url_host(host)}:{port}"


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


@contextlib.asynccontextmanager
async def running(ctx: NodeContext, *, host: str = "127.0.0.1", port: int = 0,
                  staff_host: str | None = None, staff_port: int | None = None
                  ) -> AsyncIterator[Running]:
    """Serve the node on (host, port), with the staff office on (staff_host, staff_port)
    when `staff_port` is given; port 0 picks a free one."""
    removed = await run_sync(ctx, ctx.intake.sweep_orphan_files)
    if removed:
        log.info("removed %d unreadable file(s) of drafts abandoned at last stop", removed)
    status = FederationStatus()
    sites = [(PARTS if staff_port is None else PUBLIC_PARTS, host, port)]
    if staff_port is not None:
        sites.append((STAFF_PARTS, staff_host or "127.0.0.1", staff_port))
    runners: list[web.AppRunner] = []
    jobs: asyncio.Task[None] | None = None
    federation = await start_federation(ctx, status)
    try:
        jobs = asyncio.create_task(run_periodic(ctx, federation))
        for parts, h, p in sites:
            runner = web.AppRunner(create_app(ctx, parts, federation_status=status),
                                   access_log_class=PrivacyAccessLogger)
            await runner.setup()
            runners.append(runner)
            await web.TCPSite(runner, h, p).start()
        public_url = _url(runners[0])
        yield Running(public_url, _url(runners[1]) if len(runners) > 1 else public_url, status)
    finally:
        for runner in reversed(runners):
            await runner.cleanup()
        if jobs is not None:
            jobs.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await jobs
        if federation is not None:
            await federation.stop()


async def serve(ctx: NodeContext, host: str, port: int, staff_host: str | None = None,
                staff_port: int | None = None, banner: str = "") -> None:
    """`running` until SIGINT or SIGTERM, after printing where everything is."""
    async with running(ctx, host=host, port=port, staff_host=staff_host,
                       staff_port=staff_port) as served:
        print(banner + f"Public site:  {served.public_url}/\n"
              f"Staff login:  {served.staff_url}/staff/login\n"
              f"API document: {served.public_url}/api/v1/openapi.json", flush=True)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await stop.wait()
