"""Typed application keys, in one place (docs/notes/style.md, 4)."""

from __future__ import annotations

from aiohttp import web

from observatory.context import ObservatoryContext
from observatory.statistics.opendata import Files
from observatory.statistics.publication import PublicationCache
from observatory.web.rendering import Renderer
from observatory.web.sessions import AdminSession, AdminSessions, LoginThrottle
from observatory.web.site_render import SiteRenderer

CONTEXT = web.AppKey("context", ObservatoryContext)
RENDERER = web.AppKey("renderer", Renderer)
SESSIONS = web.AppKey("sessions", AdminSessions)
THROTTLE = web.AppKey("throttle", LoginThrottle)
SITE = web.AppKey("site", SiteRenderer)  # the public site's pages (issue 6)
PUBLICATION = web.AppKey("publication", PublicationCache)
OPEN_DATA = web.AppKey("open_data", Files)  # the downloads, written to DIR/published/
SESSION = web.RequestKey("session", AdminSession)  # the signed-in admin's, set by the guard
