"""The admin pages: sign in with the admin passphrase, decide on requests to join, revoke
members, see and acknowledge fork alarms (issue 5), and see the statistics releases whose
noise looked smaller than declared (issue 14).

Every state change is a POST carrying the session's CSRF token, answered with a redirect
back to the page and a one-time message (post/redirect/get). The same actions exist on the
command line (`backup-observatory approve|reject|revoke`).

The pages are in the public site's languages, picked the same way: by the path,
``/admin/{lang}/…`` (``/admin/`` leads to the first configured language). The session is
not tied to a language, so the admin can switch at any time; its cookie stays on ``/admin``.
"""

from __future__ import annotations

import asyncio
import logging
import re
import secrets
from typing import Any, cast

from aiohttp import web

from observatory.admin_passphrase import verify_passphrase
from observatory.errors import ObservatoryError
from observatory.i18n import N_, Translator
from observatory.members import REVOCATION_REASONS, RevocationReason
from observatory.statistics import store as statistics_store
from observatory.web import appkeys
from observatory.web.failures import explain, html_errors
from observatory.web.routes import Handler, Route, add_routes
from observatory.web.security import tokens_match
from observatory.web.sessions import COOKIE, PRE_COOKIE, AdminSession, client_of
from observatory.web.site import LANG_PARAM

log = logging.getLogger("backup.observatory.admin")

PREFIX = "/admin"
_NODE_ID = re.compile(r"^[0-9a-f]{32}$")
MAX_FORM_BYTES = 16 * 1024

STATUS_LABELS = {
    "pending": N_("pending"),
    "approved": N_("approved"),
    "rejected": N_("rejected"),
    "revoked": N_("revoked"),
}
REVOCATION_LABELS = {
    "key_compromised": N_("Key compromised"),
    "left_federation": N_("Left the federation"),
    "misbehaviour": N_("Misbehaviour"),
    "other": N_("Other"),
}
_PUBLIC = frozenset({"admin_root", "admin_login_page", "admin_login"})


def _session(request: web.Request) -> AdminSession | None:
    return request.config_dict[appkeys.SESSIONS].get(request.cookies.get(COOKIE))


def _lang(request: web.Request) -> str:
    """The page's language: the path's, as on the public site (else the default)."""
    return request.config_dict[appkeys.RENDERER].language_of(request)


def _translator(request: web.Request) -> Translator:
    """`_` in the page's language."""
    return request.config_dict[appkeys.RENDERER].gettext(_lang(request))


@web.middleware
async def known_language(request: web.Request, handler: Handler) -> web.StreamResponse:
    """``/admin/{lang}/…`` only in a configured language, as on the public site: else 404."""
    lang = request.match_info.get("lang")
    if lang is not None and lang not in request.config_dict[appkeys.RENDERER].languages:
        raise web.HTTPNotFound()
    return await handler(request)


@web.middleware
async def require_admin(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every route but the sign-in needs a session; every POST its CSRF token."""
    route = request.match_info.route
    if route.name in _PUBLIC or route.resource is None:
        return await handler(request)
    _ = _translator(request)
    session = _session(request)
    if session is None:
        if request.method == "GET":
            raise web.HTTPSeeOther(f"{PREFIX}/{_lang(request)}/login")
        raise web.HTTPForbidden(text=_("Your session has ended. Sign in again."))
    if request.method == "POST":
        form = await request.post()
        if not tokens_match(session.csrf, form.get("csrf")):
            raise web.HTTPForbidden(text=_("This form has expired. Go back and try again."))
    request[appkeys.SESSION] = session
    return await handler(request)


def _back(request: web.Request, message: str, anchor: str = "") -> web.HTTPSeeOther:
    """To the dashboard in the same language, with `message` (already in that language)."""
    request[appkeys.SESSION].flash = message
    return web.HTTPSeeOther(f"{PREFIX}/{_lang(request)}/{anchor}")


def _node_id(request: web.Request) -> str:
    node_id = request.match_info["node_id"]
    if not _NODE_ID.fullmatch(node_id):
        raise web.HTTPNotFound()
    return node_id


async def root(request: web.Request) -> web.StreamResponse:
    raise web.HTTPSeeOther(
        f"{PREFIX}/{request.config_dict[appkeys.RENDERER].default_language}/")


# -- sign in and out ------------------------------------------------------------------------


def _login_form(request: web.Request, status: int = 200, error: str | None = None
                ) -> web.Response:
    """The sign-in form, with its CSRF token: the pre-session cookie's, or a new one."""
    ctx = request.config_dict[appkeys.CONTEXT]
    token = request.cookies.get(PRE_COOKIE) or secrets.token_urlsafe(32)
    response = request.config_dict[appkeys.RENDERER].render(
        "admin/login.html", _lang(request), status=status, path="/login", error=error,
        csrf=token)
    if request.cookies.get(PRE_COOKIE) != token:
        response.set_cookie(PRE_COOKIE, token, path=PREFIX, httponly=True, samesite="Strict",
                            secure=ctx.config.secure_cookies)
    return response


async def login_page(request: web.Request) -> web.StreamResponse:
    if _session(request) is not None:
        raise web.HTTPSeeOther(f"{PREFIX}/{_lang(request)}/")
    return _login_form(request)


async def login(request: web.Request) -> web.StreamResponse:
    ctx = request.config_dict[appkeys.CONTEXT]
    throttle = request.config_dict[appkeys.THROTTLE]
    lang, _ = _lang(request), _translator(request)
    form = await request.post()
    token = request.cookies.get(PRE_COOKIE, "")
    if not token or not tokens_match(token, form.get("csrf")):
        return _login_form(request, 403, _("This form has expired. Go back and try again."))
    passphrase = form.get("passphrase")
    client = client_of(request.remote, request.headers.get("X-Forwarded-For"),
                       ctx.config.trusted_proxies)
    if throttle.locked(client):
        return _login_form(request, 429, _(
            "Too many failed attempts. Wait 15 minutes, or use the command line."))
    if throttle.busy():
        return _login_form(request, 503, _(
            "Many sign-ins are being checked at the moment. Try again in a minute."))
    stored = ctx.admin_passphrase_hash()
    throttle.waiting += 1
    try:
        async with throttle.lock:  # one Argon2id check at a time (~0.7 s and 256 MiB each)
            ok = (isinstance(passphrase, str) and stored is not None
                  and await asyncio.to_thread(verify_passphrase, stored, passphrase))
    finally:
        throttle.waiting -= 1
    if not ok:
        log.info("admin sign-in failed")
        await throttle.failed(client)
        return _login_form(request, 401, _("That passphrase is not right."))
    throttle.succeeded(client)
    session = request.config_dict[appkeys.SESSIONS].start()
    log.info("admin signed in")
    response = web.HTTPSeeOther(f"{PREFIX}/{lang}/")
    response.set_cookie(COOKIE, session.id, path=PREFIX, httponly=True, samesite="Strict",
                        secure=ctx.config.secure_cookies)
    response.del_cookie(PRE_COOKIE, path=PREFIX)
    raise response


async def logout(request: web.Request) -> web.StreamResponse:
    session = request[appkeys.SESSION]
    request.config_dict[appkeys.SESSIONS].end(session.id)
    response = web.HTTPSeeOther(f"{PREFIX}/{_lang(request)}/login")
    response.del_cookie(COOKIE, path=PREFIX)
    raise response


# -- the page -------------------------------------------------------------------------------


async def dashboard(request: web.Request) -> web.StreamResponse:
    ctx = request.config_dict[appkeys.CONTEXT]
    session = request[appkeys.SESSION]
    flash, session.flash = session.flash, None

    def gather() -> dict[str, Any]:
        everyone = ctx.members.with_status()
        latest = ctx.lists.latest_in(ctx.db.read())
        alarms = ctx.checkpoints.alarms()
        return {
            "pending": [m for m in everyone if m.status == "pending"],
            "members": [m for m in everyone if m.status == "approved"],
            "past": [m for m in everyone if m.status in ("rejected", "revoked")],
            "names": {m.node_id: m.organisation_name for m in everyone},
            "alarms": alarms,
            "open_alarms": sum(a.acknowledged_at is None for a in alarms),
            "sequence": None if latest is None else latest.body.sequence,
            "implausible": statistics_store.flagged(ctx.db.read()),
        }

    data = await asyncio.to_thread(gather)
    lang, _ = _lang(request), _translator(request)
    return request.config_dict[appkeys.RENDERER].render(
        "admin/dashboard.html", lang, csrf=session.csrf, flash=flash,
        revocation_reasons=[(code, _(REVOCATION_LABELS[code])) for code in REVOCATION_REASONS],
        statuses={k: _(v) for k, v in STATUS_LABELS.items()}, **data)


# -- decisions ------------------------------------------------------------------------------


async def approve(request: web.Request) -> web.StreamResponse:
    ctx = request.config_dict[appkeys.CONTEXT]
    _ = _translator(request)
    node_id = _node_id(request)
    try:
        member = await asyncio.to_thread(ctx.members.approve, node_id, ctx.now())
    except ObservatoryError as exc:
        why = explain(exc, _, wrong_state=_("the request has already been decided"))
        raise _back(request, _("Not approved: %(why)s", why=why), "#requests") from None
    log.info("admin approved node %s", node_id)
    raise _back(request, _("%(org)s is now a member.", org=member.organisation_name),
                "#members")


async def reject(request: web.Request) -> web.StreamResponse:
    ctx = request.config_dict[appkeys.CONTEXT]
    _ = _translator(request)
    node_id = _node_id(request)
    reason = (await request.post()).get("reason")
    try:
        member = await asyncio.to_thread(ctx.members.reject, node_id,
                                         reason if isinstance(reason, str) else "", ctx.now())
    except ObservatoryError as exc:
        why = explain(exc, _, wrong_state=_("the request has already been decided"))
        raise _back(request, _("Not rejected: %(why)s", why=why), "#requests") from None
    log.info("admin rejected node %s", node_id)
    raise _back(request, _("The request of %(org)s was rejected.",
                           org=member.organisation_name), "#requests")


async def revoke(request: web.Request) -> web.StreamResponse:
    ctx = request.config_dict[appkeys.CONTEXT]
    _ = _translator(request)
    node_id = _node_id(request)
    reason = (await request.post()).get("reason")
    if reason not in REVOCATION_REASONS:
        raise _back(request, _("Not revoked: choose a reason."), "#members")
    try:
        member = await asyncio.to_thread(ctx.members.revoke, node_id,
                                         cast(RevocationReason, reason), ctx.now())
    except ObservatoryError as exc:
        why = explain(exc, _, wrong_state=_("the node is not a member"))
        raise _back(request, _("Not revoked: %(why)s", why=why), "#members") from None
    log.info("admin revoked node %s", node_id)
    raise _back(request, _("%(org)s is no longer a member; the next membership list says so.",
                           org=member.organisation_name), "#history")


async def acknowledge(request: web.Request) -> web.StreamResponse:
    ctx = request.config_dict[appkeys.CONTEXT]
    _ = _translator(request)
    try:
        alarm_id = int(request.match_info["alarm_id"])
    except ValueError:
        raise web.HTTPNotFound() from None
    try:
        await asyncio.to_thread(ctx.checkpoints.acknowledge, alarm_id, ctx.now())
    except ObservatoryError as exc:
        why = explain(exc, _, wrong_state=_("nothing changed"))
        raise _back(request, _("Not acknowledged: %(why)s", why=why), "#alarms") from None
    log.info("admin acknowledged fork alarm %d", alarm_id)
    raise _back(request, _("Alarm acknowledged. Both checkpoints are kept."), "#alarms")


_CSRF = ("csrf", "The session's CSRF token, from the page's form")
HTML = ("text/html",)

_LANG = (LANG_PARAM,)
_NODE = (LANG_PARAM, ("node_id", "The node id (32 lowercase hex digits)"))

ROUTES: tuple[Route, ...] = (
    Route("GET", "/", "admin_root", "Redirects to the admin page in the default language",
          root, success=303, media_types=HTML),
    Route("GET", "/{lang}/login", "admin_login_page", "The sign-in form", login_page,
          media_types=HTML, path_params=_LANG, errors=(404,)),
    Route("POST", "/{lang}/login", "admin_login", "Sign in with the admin passphrase", login,
          success=303, media_types=HTML, path_params=_LANG,
          form=(("passphrase", "The admin passphrase"),
                ("csrf", "The sign-in form's CSRF token (also in its pre-session cookie)")),
          errors=(401, 403, 404, 429, 503)),
    Route("POST", "/{lang}/logout", "admin_logout", "Sign out", logout, success=303,
          media_types=HTML, path_params=_LANG, form=(_CSRF,), errors=(403, 404)),
    Route("GET", "/{lang}/", "admin_dashboard",
          "Requests to join, members, past decisions and fork alarms", dashboard,
          media_types=HTML, path_params=_LANG, errors=(404,)),
    Route("POST", "/{lang}/requests/{node_id}/approve", "admin_approve",
          "Approve a request to join: certificate and new membership list", approve,
          success=303, media_types=HTML, path_params=_NODE, form=(_CSRF,), errors=(403, 404)),
    Route("POST", "/{lang}/requests/{node_id}/reject", "admin_reject",
          "Reject a request to join, with the reason the node will receive", reject,
          success=303, media_types=HTML, path_params=_NODE,
          form=(_CSRF, ("reason", "Why (sent to the node, at most 1,000 characters)")),
          errors=(403, 404)),
    Route("POST", "/{lang}/members/{node_id}/revoke", "admin_revoke",
          "Revoke a member: the next membership list names it", revoke,
          success=303, media_types=HTML, path_params=_NODE,
          form=(_CSRF, ("reason", "key_compromised, left_federation, misbehaviour or other")),
          errors=(403, 404)),
    Route("POST", "/{lang}/alarms/{alarm_id}/acknowledge", "admin_acknowledge_alarm",
          "Acknowledge a fork alarm (both checkpoints are kept)", acknowledge,
          success=303, media_types=HTML,
          path_params=(LANG_PARAM, ("alarm_id", "The alarm's number")), form=(_CSRF,),
          errors=(403, 404)),
)


def create_admin_app() -> web.Application:
    app = web.Application(middlewares=[html_errors, known_language, require_admin],
                          client_max_size=MAX_FORM_BYTES)
    add_routes(app, ROUTES)
    return app
