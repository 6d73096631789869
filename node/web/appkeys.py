"""Typed application keys, in one module (STYLE.md, 4)."""

from __future__ import annotations

from typing import Protocol

from aiohttp import web

from node.statistics.release import ReleasePayload
from node.web.context import NodeContext
from node.web.ratelimit import RateLimiter
from node.web.rendering import Renderer
from node.web.sessions import ReporterSessions, StaffSessions

CONTEXT = web.AppKey("context", NodeContext)
RENDERER = web.AppKey("renderer", Renderer)
REPORTER_SESSIONS = web.AppKey("reporter_sessions", ReporterSessions)
STAFF_SESSIONS = web.AppKey("staff_sessions", StaffSessions)
LIMITER = web.AppKey("limiter", RateLimiter)


class Federation(Protocol):
    """What the web layer asks of the node's federation service (node/federation/), set
    on the app only when the node is federated."""

    async def send_statistics(self, payload: ReleasePayload) -> None: ...


FEDERATION = web.AppKey("federation", Federation)
