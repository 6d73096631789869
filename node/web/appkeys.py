"""Every typed key of the node's web apps, in one module, and `node`, the accessor handlers
read the node's context through.

The types are imported for type checking only, so that any module of the web layer can
import this one without an import cycle. Which keys an app holds depends on what it serves
(`node.web.app.create_app`): an app without the staff office holds no staff state at all.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from aiohttp import web

if TYPE_CHECKING:  # pragma: no cover - typing only
    from node.context import NodeContext
    from node.federation.status import FederationStatus
    from node.web.monitoring import RequestCounts
    from node.web.ratelimit import RateLimiter
    from node.web.rendering import Renderer
    from node.web.reporter.sessions import ReporterSessions
    from node.web.staff.sessions import SecondFactorState, StaffSession, StaffSessions
    from node.web.staff.sign_in_guard import SignInGuard

Sleep = Callable[[float], Awaitable[None]]

# Every app
CONTEXT: web.AppKey[NodeContext] = web.AppKey("context")
RENDERER: web.AppKey[Renderer] = web.AppKey("renderer")
LIMITER: web.AppKey[RateLimiter] = web.AppKey("limiter")

# Requests counted for /metrics (issue 21): one counter shared by a process's apps.
REQUEST_COUNTS: web.AppKey[RequestCounts] = web.AppKey("request_counts")

# The reporter's site
REPORTER_SESSIONS: web.AppKey[ReporterSessions] = web.AppKey("reporter_sessions")

# The staff office
STAFF_SESSIONS: web.AppKey[StaffSessions] = web.AppKey("staff_sessions")
SECOND_FACTOR: web.AppKey[SecondFactorState] = web.AppKey("staff_second_factor")
SIGN_IN_GUARD: web.AppKey[SignInGuard] = web.AppKey("staff_sign_in_guard")
FEDERATION_STATUS: web.AppKey[FederationStatus] = web.AppKey("federation_status")
# How a failed sign-in is held back: `asyncio.sleep` unless set (tests record the wait).
LOGIN_DELAY: web.AppKey[Sleep] = web.AppKey("staff_login_delay")
# The signed-in person's session, set on the request by the staff office's guard.
STAFF_SESSION: web.RequestKey[StaffSession] = web.RequestKey("staff_session")


def node(request: web.Request) -> NodeContext:
    """The node's context, which every app holds."""
    return request.config_dict[CONTEXT]
