"""Turning errors into answers a person understands (STYLE.md, 6).

Domain errors carry a translatable message; this middleware picks the status and renders it
in the person's language, as a page or as JSON. Unexpected exceptions are logged by type
and an incident number only -- never with request data, which may hold testimony -- and
the person sees a calm, generic message.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Awaitable, Callable

from aiohttp import web
from aiohttp.typedefs import Middleware

from node import errors
from node.i18n import N_
from node.web.pages import error_text, render, translate

log = logging.getLogger("backup.web")
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

_TITLES = {
    400: N_("Please check your answers"),
    401: N_("Please sign in"),
    403: N_("This page has expired"),
    404: N_("Page not found"),
    410: N_("Deleted"),
    413: N_("File too large"),
    415: N_("File type not accepted"),
    429: N_("Please wait a moment"),
    500: N_("Something went wrong"),
    503: N_("Please try again soon"),
}


_TITLES_BY_KIND: tuple[tuple[type[errors.NodeError], str], ...] = (
    (errors.Forbidden, N_("Not allowed")),
    (errors.ConsentMissing, N_("Consent needed")),
    (errors.ReceiptRejected, N_("Please check your numbers")),
)


def _title(err: errors.NodeError) -> str:
    for kind, title in _TITLES_BY_KIND:
        if isinstance(err, kind):
            return title
    return _TITLES.get(err.status, _TITLES[400])


def _route(request: web.Request) -> str:
    resource = request.match_info.route.resource
    return resource.canonical if resource is not None else "-"


def _as_node_error(request: web.Request, exc: Exception) -> errors.NodeError:
    if isinstance(exc, errors.NodeError):
        return exc
    if isinstance(exc, web.HTTPNotFound | web.HTTPMethodNotAllowed):
        return errors.NotFound()
    if isinstance(exc, web.HTTPRequestEntityTooLarge):
        err = errors.NodeError(N_("What you sent is too large. Shorten it and try again."))
        err.status = 413
        return err
    incident = secrets.token_hex(4)
    log.error("unhandled %s on %s %s (incident %s)", type(exc).__name__, request.method,
              _route(request), incident)
    err = errors.NodeError(N_(
        "Something went wrong on our side. Nothing you entered was sent. Please try again."))
    err.status = 500
    return err


def _should_handle(exc: Exception) -> bool:
    if isinstance(exc, errors.NodeError):
        return True
    if isinstance(exc, web.HTTPException):
        return exc.status >= 400
    return True


def html_errors(template: str) -> Middleware:
    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        try:
            return await handler(request)
        except Exception as exc:
            if not _should_handle(exc):
                raise
            err = _as_node_error(request, exc)
            title = translate(request, _title(err))
            return render(request, template, status=err.status, title=title,
                          message=error_text(request, err), here="/")

    return middleware


@web.middleware
async def json_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except Exception as exc:
        if not _should_handle(exc):
            raise
        err = _as_node_error(request, exc)
        body: dict[str, object] = {"code": _code(err), "message": error_text(request, err)}
        if err.field:
            body["field"] = err.field
        fields = err.params.get("fields")
        if isinstance(fields, list):
            body["fields"] = fields
        return web.json_response({"error": body}, status=err.status)


def _code(err: errors.NodeError) -> str:
    name = type(err).__name__
    return "".join("_" + c.lower() if c.isupper() else c for c in name).lstrip("_")
