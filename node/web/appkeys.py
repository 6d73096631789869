"""Typed application keys, in one module (STYLE.md, 4)."""

from __future__ import annotations

from aiohttp import web

from node.context import NodeContext
from node.web.ratelimit import RateLimiter
from node.web.rendering import Renderer
from node.web.sessions import ReporterSessions, StaffSessions

CONTEXT = web.AppKey("context", NodeContext)
RENDERER = web.AppKey("renderer", Renderer)
REPORTER_SESSIONS = web.AppKey("reporter_sessions", ReporterSessions)
STAFF_SESSIONS = web.AppKey("staff_sessions", StaffSessions)
LIMITER = web.AppKey("limiter", RateLimiter)

