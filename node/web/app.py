"""The app factory: an opened `NodeContext` in, an aiohttp application out.

An app serves any of four route sets, each in its own package and trust zone:
``public`` (the reporter's site, `node.web.reporter`), ``api`` (the JSON API at
``/api/v1``, `node.web.api`), ``staff`` (the staff office at ``/staff``,
`node.web.staff`) and ``expert`` (the expert app at ``/expert``,
`node.web.expert`). It holds the state of the sets it serves and nothing else: a public app
holds no staff sessions. It starts nothing: the serving process (`node.server`) runs the
federation and the background jobs around it.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Iterable

from aiohttp import web

from node.context import NodeContext
from node.federation.status import FederationStatus
from node.web import appkeys
from node.web.api.handlers import create_api_app
from node.web.bodies import readable_bodies
from node.web.expert import EXPERT_PATH, create_expert_app
from node.web.expert import common as expert_app
from node.web.failures import html_errors
from node.web.monitoring import RequestCounts, counting
from node.web.monitoring import add_routes as add_monitoring_routes
from node.web.ratelimit import RateLimiter
from node.web.rendering import Renderer
from node.web.reporter.sessions import ReporterSession, ReporterSessions
from node.web.reporter.site import add_routes as add_reporter_routes
from node.web.security import (
    content_security_policy,
    headers_middleware,
    same_origin_only,
    strip_identifying_headers,
)
from node.web.sms import add_notices as add_sms_notices
from node.web.sms import add_routes as add_sms_routes
from node.web.staff import STAFF_PATH, create_staff_app
from node.web.staff.sessions import SecondFactorState, StaffSessions
from node.web.staff.sign_in_guard import new_guard
from node.web.ussd import add_routes as add_ussd_routes

PARTS = frozenset({"public", "api", "staff", "expert"})
MAX_STAFF_SESSIONS = 500
EXPIRY_CHECK_SECONDS = 60


def create_app(ctx: NodeContext, parts: Iterable[str] = PARTS, *,
               federation_status: FederationStatus | None = None,
               request_counts: RequestCounts | None = None) -> web.Application:
    """The node's web application: any of the public site, the API and the staff office.

    The context stays the caller's. `federation_status` is the running federation's state,
    which the staff office shows (`node.server` shares one between the apps it serves).
    Sessions live in the app (in memory only) and end with it. `request_counts` is the
    serving process's counter of requests (`node.web.monitoring`), which the staff address's
    /metrics reports.
    """
    parts = frozenset(parts)
    counts = request_counts or RequestCounts()
    renderer = Renderer(ctx.config, ctx.catalogues)
    csp = content_security_policy(renderer.css_hash)
    # Outermost first: every response gets the headers; every error, even a refused
    # cross-site request, becomes a page in the person's language.
    app = web.Application(middlewares=[counting(counts), headers_middleware(csp),
                                       html_errors("public/error.html"),
                                       same_origin_only, readable_bodies],
                          client_max_size=2 * 1024 * 1024)
    app[appkeys.CONTEXT] = ctx
    app[appkeys.RENDERER] = renderer
    app[appkeys.LIMITER] = RateLimiter()
    app[appkeys.REQUEST_COUNTS] = counts
    app.on_response_prepare.append(strip_identifying_headers)

    if "public" in parts:
        def end_reporter(session: ReporterSession) -> None:
            if session.draft is not None and session.draft.files:
                ctx.intake.discard(session.draft.files)

        reporter_sessions = ReporterSessions(ctx.config.drafts, end_reporter)
        app[appkeys.REPORTER_SESSIONS] = reporter_sessions
        app.on_cleanup.append(lambda _: _end_all(reporter_sessions))
        app.cleanup_ctx.append(_expiring(reporter_sessions))
        if ctx.config.ussd is not None:  # issue 19: before the site's /{lang}/ routes
            add_ussd_routes(app)
        if ctx.config.sms is not None:
            add_sms_routes(app)
        add_reporter_routes(app)
    if "api" in parts:
        app.add_subapp("/api/v1", create_api_app())
    if "staff" in parts:
        staff_sessions = StaffSessions(ctx.config.staff_idle_minutes * 60, MAX_STAFF_SESSIONS)
        app[appkeys.STAFF_SESSIONS] = staff_sessions
        app[appkeys.SECOND_FACTOR] = SecondFactorState()
        app[appkeys.SIGN_IN_GUARD] = new_guard()
        app[appkeys.FEDERATION_STATUS] = federation_status or FederationStatus()
        app.on_cleanup.append(lambda _: _end_all(staff_sessions))
        add_sms_notices(app, ctx)  # issue 19: notices of waiting messages
        app.add_subapp(STAFF_PATH, create_staff_app())
        add_monitoring_routes(app)  # /healthz and /metrics: the staff address only
    if "expert" in parts:  # issue 16: its own sessions, apart from the staff office's
        expert_sessions = StaffSessions(ctx.config.staff_idle_minutes * 60, MAX_STAFF_SESSIONS)
        app[expert_app.SESSIONS] = expert_sessions
        app[expert_app.SECOND_FACTOR] = SecondFactorState()
        if appkeys.SIGN_IN_GUARD not in app:
            app[appkeys.SIGN_IN_GUARD] = new_guard()
        if appkeys.FEDERATION_STATUS not in app:  # an expert's answer wakes the outbox
            app[appkeys.FEDERATION_STATUS] = federation_status or FederationStatus()
        app.on_cleanup.append(lambda _: expert_app.end_all(expert_sessions))
        app.add_subapp(EXPERT_PATH, create_expert_app())
    return app


def _expiring(sessions: ReporterSessions
              ) -> Callable[[web.Application], AsyncIterator[None]]:
    """End idle drafts (and shred their files) on time even when no one visits: sessions
    are otherwise only checked when one is used or started."""
    async def run() -> None:
        while True:
            await asyncio.sleep(EXPIRY_CHECK_SECONDS)
            sessions.expire()

    async def ctx(_: web.Application) -> AsyncIterator[None]:
        task = asyncio.create_task(run())
        yield
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    return ctx


async def _end_all(sessions: ReporterSessions | StaffSessions) -> None:
    sessions.end_all()
