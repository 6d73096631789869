"""The web edge of the node's errors: which HTTP status each means, and the answer a person
understands, in their language, as a page or as JSON.

Domain errors (`node.errors` and the errors of the services) know nothing of HTTP: they
carry a translatable message and, where it helps, the field it is about. `STATUSES` is the
one table that gives them a status; handlers that answer with an inline error ask
`status_of`, and the middlewares answer everything else. Unexpected exceptions are logged by
type and an incident number only -- never with request data, which may hold testimony --
and the person sees a calm, generic message.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Awaitable, Callable
from datetime import date

from aiohttp import web
from aiohttp.typedefs import Middleware
from babel.dates import format_date

from node import accounts, errors, invitations, second_factor
from node.backoffice import audit
from node.bundles.export import NoEvidenceRecord
from node.evidence import errors as evidence_errors
from node.i18n import N_
from node.statistics import errors as statistics_errors
from node.web import bodies
from node.web.appkeys import RENDERER
from node.web.language import lang_of
from node.web.rendering import render, translate

log = logging.getLogger("backup.web")
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


# ------------------------------------------------------------------ errors of the web edge

class UnsupportedMediaType(errors.NodeError):
    message = N_("Send application/json, or multipart/form-data for files.")


class RequestTooLarge(errors.NodeError):
    message = N_("What you sent is too large. Shorten it and try again.")


class ClientError(errors.NodeError):
    """One of aiohttp's own 4xx answers, with its status kept (`status_of`)."""

    message = N_("This request could not be handled. Please check it and try again.")

    def __init__(self, status: int) -> None:
        super().__init__()
        self.status = status


class Unexpected(errors.NodeError):
    message = N_("Something went wrong on our side. Nothing you entered was sent. "
                 "Please try again.")


# ------------------------------------------------------------------ the table

# An error's status is that of the first of its classes (in method resolution order) listed
# here, so a subclass answers like its parent unless it is listed itself.
STATUSES: dict[type[errors.NodeError], int] = {
    errors.NodeError: 400,
    errors.NotAuthenticated: 401,
    errors.LoginFailed: 401,
    errors.ReceiptRejected: 403,
    errors.SessionExpired: 403,
    errors.Forbidden: 403,
    accounts.AccountLocked: 403,
    errors.NotFound: 404,
    invitations.InvitationInvalid: 404,
    statistics_errors.ReleaseNotFound: 404,
    evidence_errors.OutOfRange: 404,
    errors.ConsentMissing: 409,
    accounts.LastAdmin: 409,
    accounts.LastKeyHolder: 409,
    accounts.NothingToGrant: 409,
    second_factor.TotpAlreadyOn: 409,
    second_factor.TotpNotOn: 409,
    statistics_errors.BudgetExceeded: 409,
    statistics_errors.DraftPending: 409,
    statistics_errors.SendingHeld: 409,
    evidence_errors.LeafExists: 409,
    NoEvidenceRecord: 409,
    errors.ReportGone: 410,
    invitations.InvitationExpired: 410,
    invitations.InvitationUsed: 410,
    errors.FileTooLarge: 413,
    errors.TotalTooLarge: 413,
    errors.TooManyFiles: 413,
    RequestTooLarge: 413,
    errors.FileTypeNotAllowed: 415,
    UnsupportedMediaType: 415,
    bodies.UnsupportedEncoding: 415,
    errors.RateLimited: 429,
    # the evidence log's own failures are ours, not the person's; bad input to it is theirs
    evidence_errors.EvidenceError: 500,
    evidence_errors.BadLeafInput: 400,
    # a chain of custody that does not verify is the server's state, not the person's input:
    # nothing is written until an administrator has checked it (issue 13)
    audit.CustodyBroken: 500,
    Unexpected: 500,
    errors.Busy: 503,
}


def status_of(err: errors.NodeError) -> int:
    if isinstance(err, ClientError):
        return err.status
    for kind in type(err).__mro__:
        status = STATUSES.get(kind)
        if status is not None:
            return status
    return STATUSES[errors.NodeError]


def error_text(request: web.Request, exc: errors.NodeError) -> str:
    """The error's message in the person's language. Text parameters that are themselves
    messages of the catalogue (e.g. the label of a consent) are translated too."""
    lang = lang_of(request)
    t = request.config_dict[RENDERER].gettext(lang)
    params = {k: t(v) if isinstance(v, str)
              else format_date(v, format="long", locale=lang) if isinstance(v, date) else v
              for k, v in exc.params.items()}
    return t(exc.message, **params)


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
    return _TITLES.get(status_of(err), _TITLES[400])


# ------------------------------------------------------------------ the middlewares

def _route(request: web.Request) -> str:
    resource = request.match_info.route.resource
    return resource.canonical if resource is not None else "-"


def _as_node_error(request: web.Request, exc: Exception) -> errors.NodeError:
    if isinstance(exc, errors.NodeError):
        return exc
    if isinstance(exc, web.HTTPNotFound | web.HTTPMethodNotAllowed):
        return errors.NotFound()
    if isinstance(exc, web.HTTPRequestEntityTooLarge):
        return RequestTooLarge()
    if isinstance(exc, web.HTTPClientError):
        return ClientError(exc.status)
    incident = secrets.token_hex(4)
    log.error("unhandled %s on %s %s (incident %s)", type(exc).__name__, request.method,
              _route(request), incident)
    return Unexpected()


def _should_handle(exc: Exception) -> bool:
    if isinstance(exc, errors.NodeError):
        return True
    if isinstance(exc, web.HTTPException):
        return exc.status >= 400
    return True


def html_errors(template: str) -> Middleware:
    """Every error as a page of `template`, in the person's language."""

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        try:
            return await handler(request)
        except Exception as exc:
            if not _should_handle(exc):
                raise
            err = _as_node_error(request, exc)
            title = translate(request, _title(err))
            return render(request, template, status=status_of(err), title=title,
                          message=error_text(request, err), here="/")

    return middleware


@web.middleware
async def json_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every error as ``{"error": {"code", "message", "field"?, "fields"?}}``."""
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
        return web.json_response({"error": body}, status=status_of(err))


# The JSON code of the edge's own answers to a too-large body or a failure: the generic one,
# as the API has always answered them.
_CODES: dict[type[errors.NodeError], str] = {RequestTooLarge: "node_error",
                                             ClientError: "node_error",
                                             Unexpected: "node_error"}


def _code(err: errors.NodeError) -> str:
    """The class name in snake case: `ReceiptRejected` -> ``receipt_rejected``."""
    if type(err) in _CODES:
        return _CODES[type(err)]
    name = type(err).__name__
    return "".join("_" + c.lower() if c.isupper() else c for c in name).lstrip("_")
