"""Errors become responses a person can understand, and never leak internals (STYLE.md, 6).

`/admin` answers with a page in the admin's language (the path's ``{lang}``, else the
default), `/api/v1` with ``{"error": code, "message": text}`` in English (a program reads
the code). An unexpected exception is logged by type name only (never a value that could
hold data) and answered 500.
"""

from __future__ import annotations

import logging

from aiohttp import web

from observatory.i18n import N_, Translator, _
from observatory.web import appkeys
from observatory.web.routes import Handler

log = logging.getLogger("backup.observatory.web")

TITLES = {
    400: N_("Bad request"),
    403: N_("Not allowed"),
    404: N_("Not found"),
    405: N_("Method not allowed"),
    413: N_("Request too large"),
    429: N_("Too many attempts"),
}


def _title(status: int, gettext: Translator = _) -> str:
    return gettext(TITLES.get(status, N_("Something went wrong")))


@web.middleware
async def html_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    message: str | None
    try:
        return await handler(request)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        status, message = exc.status, exc.text or ""  # the raiser's, in the page's language
    except Exception as exc:  # noqa: BLE001 - answered 500, logged without values
        log.error("admin request failed: %s", type(exc).__name__)
        status, message = 500, None
    renderer = request.config_dict[appkeys.RENDERER]
    lang = renderer.language_of(request)
    gettext = renderer.gettext(lang)
    if message is None:
        message = gettext("The observatory could not complete this; nothing changed.")
    if message.startswith(f"{status}:"):  # aiohttp's default text ("404: Not Found")
        message = ""
    return renderer.render("admin/error.html", lang, status=status,
                           title=_title(status, gettext), message=message)


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
