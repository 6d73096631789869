"""App factories (STYLE.md, 4): explicit context in, an aiohttp application out."""

from __future__ import annotations

from collections.abc import Iterable

from aiohttp import web

from node.context import NodeContext
from node.federation.status import FederationStatus
from node.web import appkeys
from node.web.api import create_api_app
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

PARTS = frozenset({"public", "api", "staff"})
MAX_REPORTER_SESSIONS = 5000
REPORTER_IDLE_SECONDS = 60 * 60


def create_app(ctx: NodeContext, parts: Iterable[str] = PARTS, *,
               federation_status: FederationStatus | None = None) -> web.Application:
    """The node's web application: any of the public site, the API and the staff office.

    It serves requests and starts nothing: the serving process (`node.server.running`) runs
    the federation and the background jobs around it, and shares the federation's state
    through `federation_status`. The context stays the caller's. Sessions live in the app
    (in memory only) and end with it.
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

    async def end_sessions(app: web.Application) -> None:
        reporter_sessions.end_all()
        staff_sessions.end_all()

    app.on_cleanup.append(end_sessions)
    return app
