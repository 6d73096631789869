"""App factories (STYLE.md, 4): explicit context in, an aiohttp application out."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Iterable
from typing import TYPE_CHECKING

from aiohttp import web

from node.federation.startup import start_federation
from node.federation.status import FederationStatus
from node.web import appkeys
from node.web.api import create_api_app
from node.web.context import NodeContext, run_sync, sweep_orphan_blobs
from node.web.failures import html_errors
from node.web.public import add_routes
from node.web.ratelimit import RateLimiter
from node.web.rendering import Renderer
from node.web.security import (
    content_security_policy,
    headers_middleware,
    same_origin_only,
    strip_identifying_headers,
)
from node.web.sessions import ReporterSession, ReporterSessions, StaffSessions
from node.web.staff import STAFF_PATH, create_staff_app
from node.web.staff import auth as staff_auth
from node.web.staff.federation import FEDERATION_STATUS

if TYPE_CHECKING:  # pragma: no cover - typing only
    from node.federation.service import FederationService

log = logging.getLogger("backup.node")

PARTS = frozenset({"public", "api", "staff"})
MAX_REPORTER_SESSIONS = 5000
REPORTER_IDLE_SECONDS = 60 * 60


def create_app(ctx: NodeContext, parts: Iterable[str] = PARTS, *,
               owns_context: bool = False,
               federation_status: FederationStatus | None = None) -> web.Application:
    """The node's web application: any of the public site, the API and the staff office.

    With `owns_context`, the app closes the context on cleanup, sweeps orphaned blobs at
    start and runs the federation if configured (only the one serving process should do
    that). `federation_status` shares that service's state with a separate staff app.
    """
    parts = frozenset(parts)
    renderer = Renderer(ctx.config, ctx.catalogues)
    csp = content_security_policy(renderer.css_hash)
    # Outermost first: every response gets the headers; every error, even a refused
    # cross-site request, becomes a page in the person's language.
    app = web.Application(middlewares=[headers_middleware(csp), html_errors("public/error.html"),
                                       same_origin_only],
                          client_max_size=2 * 1024 * 1024)
    app[appkeys.CONTEXT] = ctx
    app[appkeys.RENDERER] = renderer
    app[appkeys.LIMITER] = RateLimiter()

    def end_reporter(session: ReporterSession) -> None:
        if session.draft is not None and session.draft.files:
            ctx.intake.discard(session.draft.files)

    reporter_sessions = ReporterSessions(REPORTER_IDLE_SECONDS, MAX_REPORTER_SESSIONS,
                                         end_reporter)
    staff_sessions = StaffSessions(ctx.config.staff_idle_minutes * 60, 500)
    app[appkeys.REPORTER_SESSIONS] = reporter_sessions
    app[appkeys.STAFF_SESSIONS] = staff_sessions
    app[staff_auth.SECOND_FACTOR] = staff_auth.SecondFactorState()
    if federation_status is None:
        federation_status = FederationStatus()
    app[FEDERATION_STATUS] = federation_status
    app.on_response_prepare.append(strip_identifying_headers)

    if "public" in parts:
        add_routes(app)
    if "api" in parts:
        app.add_subapp("/api/v1", create_api_app())
    if "staff" in parts:
        app.add_subapp(STAFF_PATH, create_staff_app())

    async def lifecycle(app: web.Application) -> AsyncIterator[None]:
        sweeper = federation = None
        if owns_context:
            removed = sweep_orphan_blobs(ctx.db, ctx.blobs)
            if removed:
                log.info("removed %d unreadable file(s) of drafts abandoned at last stop",
                         removed)
            federation = await start_federation(ctx, federation_status)
            sweeper = asyncio.create_task(_periodic(ctx, federation))
        yield
        if sweeper is not None:
            sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sweeper
        if federation is not None:
            await federation.stop()
        reporter_sessions.end_all()
        staff_sessions.end_all()
        if owns_context:
            ctx.close()

    app.cleanup_ctx.append(lifecycle)
    return app


RETENTION_SWEEP_SECONDS = 3600
CHECKPOINT_SECONDS = 180  # "a new checkpoint at least every few minutes when the log grew"


async def _periodic(ctx: NodeContext, federation: FederationService | None = None) -> None:
    """Background work of the serving process: sign a checkpoint of the evidence log when
    it grew (every few minutes), have the witnesses cosign it and a timestamping authority
    stamp it (when configured), and delete cases whose retention ended (hourly)."""
    from node.evidence.timestamping import timestamp_pending
    from node.web.staff.evidence import sign_if_grown

    elapsed = RETENTION_SWEEP_SECONDS  # sweep once at start
    while True:
        try:
            signed = await run_sync(ctx, sign_if_grown, ctx)
            if signed is not None and federation is not None:
                federation.checkpoint_signed()
            # RFC 3161 timestamps of new checkpoints, when an authority is configured
            await timestamp_pending(ctx.db, ctx.config.timestamping,
                                    int(ctx.clock().timestamp()))
            if elapsed >= RETENTION_SWEEP_SECONDS:
                elapsed = 0
                deleted = await run_sync(ctx, ctx.retention.sweep)
                if deleted:
                    log.info("retention: %d case(s) deleted", len(deleted))
        except Exception as exc:  # noqa: BLE001 -- keep going; never log case content
            log.error("background task failed: %s", type(exc).__name__)
        await asyncio.sleep(CHECKPOINT_SECONDS)
        elapsed += CHECKPOINT_SECONDS
