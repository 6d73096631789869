"""The web edge of the observatory's errors: responses a person can understand, which never
leak internals.

The domain errors (`observatory.errors`) know nothing of HTTP; here, `STATUSES` gives each
its status and `explain` says it in the admin's language. The admin pages catch the errors
of a decision and come back with `explain`'s sentence; one that escapes a handler is
answered by the middlewares below with its status. `/admin` answers with a page in the
admin's language (the path's ``{lang}``, else the default), `/api/v1` with ``{"error":
code, "message": text}`` in English (a program reads the code). An unexpected exception is
logged by type name only (never a value that could hold data) and answered 500.
"""

from __future__ import annotations

import logging

from aiohttp import web

from observatory.errors import (
    InvalidReason,
    ObservatoryError,
    UnknownAlarm,
    UnknownNode,
    WrongState,
)
from observatory.i18n import N_, Translator, _
from observatory.members import MAX_REASON_CHARS
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


# An error's status is that of the first of its classes (in method resolution order) here.
STATUSES: dict[type[ObservatoryError], int] = {
    ObservatoryError: 400,
    InvalidReason: 400,
    UnknownNode: 404,
    UnknownAlarm: 404,
    WrongState: 409,
}


def status_of(exc: ObservatoryError) -> int:
    for kind in type(exc).__mro__:
        status = STATUSES.get(kind)
        if status is not None:
            return status
    return STATUSES[ObservatoryError]


def explain(exc: ObservatoryError, _: Translator = _, *, wrong_state: str | None = None
            ) -> str:
    """A domain error in the admin's language (its own message, in English, is for the CLI
    and the logs). `wrong_state`: what `WrongState` means for the action at hand."""
    if isinstance(exc, InvalidReason):
        if exc.problem == "too_long":
            return _("a reason has at most %(count)s characters", count=MAX_REASON_CHARS)
        if exc.problem == "control_characters":
            return _("a reason cannot contain control or bidirectional-override characters")
        return _("a rejection needs a reason: the organisation deserves one")
    if isinstance(exc, UnknownNode):
        return _("there is no request to join from this node")
    if isinstance(exc, UnknownAlarm):
        return _("there is no such fork alarm")
    if isinstance(exc, WrongState) and wrong_state is not None:
        return wrong_state
    return _("nothing changed")


def _title(status: int, gettext: Translator = _) -> str:
    return gettext(TITLES.get(status, N_("Something went wrong")))


@web.middleware
async def html_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    message: str | None
    renderer = request.config_dict[appkeys.RENDERER]
    try:
        return await handler(request)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        status, message = exc.status, exc.text or ""  # the raiser's, in the page's language
    except ObservatoryError as exc:
        status = status_of(exc)
        message = explain(exc, renderer.gettext(renderer.language_of(request)))
    except Exception as exc:  # noqa: BLE001 - answered 500, logged without values
        log.error("admin request failed: %s", type(exc).__name__)
        status, message = 500, None
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
    except ObservatoryError as exc:
        return json_error(status_of(exc), exc.code, explain(exc))
    except Exception as exc:  # noqa: BLE001 - answered 500, logged without values
        log.error("API request failed: %s", type(exc).__name__)
        return json_error(500, "internal_error", _("Something went wrong"))
