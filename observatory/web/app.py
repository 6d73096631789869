"""App factory (STYLE.md, 4): an opened `ObservatoryContext` in, an aiohttp application out.

The context is the caller's: it opens it before and closes it after (the CLI's `serve`, or a
test). Sessions live in the app and end with it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from aiohttp import web

from observatory.context import ObservatoryContext
from observatory.web import appkeys
from observatory.web.admin import PREFIX as ADMIN_PREFIX
from observatory.web.admin import create_admin_app
from observatory.web.api import PREFIX as API_PREFIX
from observatory.web.api import create_api_app
from observatory.web.rendering import Renderer
from observatory.web.security import (
    content_security_policy,
    headers_middleware,
    same_origin_only,
    strip_identifying_headers,
)
from observatory.web.sessions import AdminSessions, LoginThrottle


def create_app(ctx: ObservatoryContext, *, throttle: LoginThrottle | None = None
               ) -> web.Application:
    renderer = Renderer(ctx.config.name)
    app = web.Application(
        middlewares=[headers_middleware(content_security_policy(renderer.css_hash)),
                     same_origin_only],
        client_max_size=64 * 1024,
    )
    sessions = AdminSessions(ctx.config.admin_idle_minutes * 60)
    app[appkeys.CONTEXT] = ctx
    app[appkeys.RENDERER] = renderer
    app[appkeys.SESSIONS] = sessions
    app[appkeys.THROTTLE] = throttle or LoginThrottle()
    app.on_response_prepare.append(strip_identifying_headers)
    app.add_subapp(API_PREFIX, create_api_app())
    app.add_subapp(ADMIN_PREFIX, create_admin_app())

    async def lifecycle(app: web.Application) -> AsyncIterator[None]:
        yield
        sessions.end_all()

    app.cleanup_ctx.append(lifecycle)
    return app
