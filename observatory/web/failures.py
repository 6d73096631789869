"""Errors become responses a person can understand, and never leak internals (STYLE.md, 6).

`/admin` answers with a page, `/api/v1` with ``{"error": code, "message": text}``. An
unexpected exception is logged by type name only (never a value that could hold data) and
answered 500.
"""

from __future__ import annotations

import logging

from aiohttp import web

from observatory.i18n import _
from observatory.web import appkeys
from observatory.web.routes import Handler

log = logging.getLogger("backup.observatory.web")

TITLES = {
    400: "Bad request",
    403: "Not allowed",
    404: "Not found",
    405: "Method not allowed",
    413: "Request too large",
    429: "Too many attempts",
}


def _title(status: int) -> str:
    return _(TITLES.get(status, "Something went wrong"))


@web.middleware
async def html_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        status, message = exc.status, exc.text or ""
    except Exception as exc:  # noqa: BLE001 - answered 500, logged without values
        log.error("admin request failed: %s", type(exc).__name__)
        status, message = 500, _("The observatory could not complete this; nothing changed.")
    renderer = request.config_dict[appkeys.RENDERER]
    if message.startswith(f"{status}:"):  # aiohttp's default text ("404: Not Found")
        message = ""
    return renderer.render("admin/error.html", status=status, title=_title(status),
                           message=message)


def json_error(status: int, code: str, message: str) -> web.Response:
    return web.json_response({"error": code, "message": message}, status=status)


@web.middleware
async def json_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except web.HTTPException as exc:
        if exc.status < 400 or exc.content_type == "application/json":
            raise
        code = TITLES.get(exc.status, "error").lower().replace(" ", "_")
        return json_error(exc.status, code, _title(exc.status))
    except Exception as exc:  # noqa: BLE001 - answered 500, logged without values
        log.error("API request failed: %s", type(exc).__name__)
        return json_error(500, "internal_error", _("Something went wrong"))
