"""Typed application keys, in one place (STYLE.md, 4)."""

from __future__ import annotations

from aiohttp import web

from observatory.context import ObservatoryContext
from observatory.web.rendering import Renderer
from observatory.web.sessions import AdminSession, AdminSessions, LoginThrottle

CONTEXT = web.AppKey("context", ObservatoryContext)
RENDERER = web.AppKey("renderer", Renderer)
SESSIONS = web.AppKey("sessions", AdminSessions)
THROTTLE = web.AppKey("throttle", LoginThrottle)
SESSION = web.RequestKey("session", AdminSession)  # the signed-in admin's, set by the guard
