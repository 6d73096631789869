"""App factory (docs/notes/style.md, 4): an opened `ObservatoryContext` in, an aiohttp
application out.

The context is the caller's: it opens it before and closes it after (the CLI's `serve`, or a
test). Sessions live in the app and end with it, and so does the cache of the published
statistics, which a background task keeps fresh (`observatory.web.site`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from aiohttp import web

from observatory.context import ObservatoryContext
from observatory.statistics.opendata import Files
from observatory.statistics.publication import PublicationCache
from observatory.web import appkeys, health, site
from observatory.web.admin import PREFIX as ADMIN_PREFIX
from observatory.web.admin import create_admin_app
from observatory.web.api import PREFIX as API_PREFIX
from observatory.web.api import create_api_app
from observatory.web.rendering import Renderer
from observatory.web.routes import add_routes
from observatory.web.security import (
    content_security_policy,
    headers_middleware,
    same_origin_only,
    strip_identifying_headers,
)
from observatory.web.sessions import AdminSessions, LoginThrottle
from observatory.web.site_render import SiteRenderer

log = logging.getLogger("backup.observatory.web")

# How often the running app checks for new releases (two small queries) and, when there are
# some, rebuilds the published statistics before a reader asks for them.
REFRESH_SECONDS = 5.0


async def _keep_fresh(cache: PublicationCache) -> None:
    while True:
        try:
            await asyncio.to_thread(cache.get)
        except Exception as exc:  # noqa: BLE001 - keep serving; readers rebuild on demand
            log.error("statistics refresh failed: %s", type(exc).__name__)
        await asyncio.sleep(REFRESH_SECONDS)


def create_app(ctx: ObservatoryContext, *, throttle: LoginThrottle | None = None
               ) -> web.Application:
    renderer = Renderer(ctx.config.name, ctx.config.languages, ctx.catalogues)
    public = SiteRenderer(ctx.config, ctx.catalogues)
    app = web.Application(
        middlewares=[site.headers_middleware(site.content_security_policy(public.css_hash),
                                             ctx.config.statistics.cache_seconds),
                     headers_middleware(content_security_policy(renderer.css_hash)),
                     same_origin_only],
        client_max_size=64 * 1024,
    )
    publication = PublicationCache(ctx.db, ctx.config.statistics)
    sessions = AdminSessions(ctx.config.admin_idle_minutes * 60)
    app[appkeys.CONTEXT] = ctx
    app[appkeys.RENDERER] = renderer
    app[appkeys.SESSIONS] = sessions
    app[appkeys.THROTTLE] = throttle or LoginThrottle()
    app[appkeys.SITE] = public
    app[appkeys.PUBLICATION] = publication
    app[appkeys.OPEN_DATA] = Files(ctx.datadir.root / "published", ctx.config.name)
    app.on_response_prepare.append(strip_identifying_headers)
    api = create_api_app()
    add_routes(api, site.API_ROUTES)
    app.add_subapp(API_PREFIX, api)
    app.add_subapp(ADMIN_PREFIX, create_admin_app())
    add_routes(app, site.ROUTES)
    add_routes(app, health.ROUTES)

    async def lifecycle(app: web.Application) -> AsyncIterator[None]:
        refresh = asyncio.create_task(_keep_fresh(publication))
        yield
        refresh.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await refresh
        sessions.end_all()

    app.cleanup_ctx.append(lifecycle)
    return app
