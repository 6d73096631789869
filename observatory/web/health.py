"""The health check for the container and the operator (issue 21): one route, answered
without a session because anyone may ask, and saying nothing but whether the database
answers."""

from __future__ import annotations

import sqlite3

from aiohttp import web

from observatory.web import appkeys
from observatory.web.routes import Route


async def healthz(request: web.Request) -> web.StreamResponse:
    """200 while the database answers, 503 otherwise."""
    try:
        request.app[appkeys.CONTEXT].db.read().execute("SELECT 1").fetchone()
    except sqlite3.Error:
        return web.Response(status=503, text="database\n")
    return web.Response(text="ok\n", headers={"Cache-Control": "no-store"})


ROUTES: tuple[Route, ...] = (
    Route("GET", "/healthz", "healthz",
          "Health check: `ok` while the database answers, 503 otherwise", healthz,
          media_types=("text/plain",), errors=(503,)),
)
