"""The admin pages: sign in with the admin passphrase, decide on requests to join, revoke
members, see and acknowledge fork alarms (issue 5).

Every state change is a POST carrying the session's CSRF token, answered with a redirect
back to the page and a one-time message (post/redirect/get). The same actions exist on the
command line (`backup-observatory approve|reject|revoke`).
"""

from __future__ import annotations

import asyncio
import logging
import re
from typing import Any, cast

from aiohttp import web

from observatory.admin_passphrase import verify_passphrase
from observatory.errors import ObservatoryError
from observatory.i18n import _
from observatory.members import REVOCATION_REASONS, RevocationReason
from observatory.web import appkeys
from observatory.web.failures import html_errors
from observatory.web.routes import Handler, Route, add_routes
from observatory.web.security import tokens_match
from observatory.web.sessions import COOKIE, AdminSession

log = logging.getLogger("backup.observatory.admin")

PREFIX = "/admin"
_NODE_ID = re.compile(r"^[0-9a-f]{32}$")
MAX_FORM_BYTES = 16 * 1024

STATUS_LABELS = {
    "pending": "pending",
    "approved": "approved",
    "rejected": "rejected",
    "revoked": "revoked",
}
REVOCATION_LABELS = {
    "key_compromised": "Key compromised",
    "left_federation": "Left the federation",
    "misbehaviour": "Misbehaviour",
    "other": "Other",
}
_PUBLIC = frozenset({"admin_login_page", "admin_login"})


def _session(request: web.Request) -> AdminSession | None:
    return request.config_dict[appkeys.SESSIONS].get(request.cookies.get(COOKIE))


@web.middleware
async def require_admin(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every route but the sign-in needs a session; every POST its CSRF token."""
    route = request.match_info.route
    if route.name in _PUBLIC or route.resource is None:
        return await handler(request)
    session = _session(request)
    if session is None:
        if request.method == "GET":
            raise web.HTTPSeeOther(f"{PREFIX}/login")
        raise web.HTTPForbidden(text=_("Your session has ended. Sign in again."))
    if request.method == "POST":
        form = await request.post()
        if not tokens_match(session.csrf, form.get("csrf")):
            raise web.HTTPForbidden(text=_("This form has expired. Go back and try again."))
    request[appkeys.SESSION] = session
    return await handler(request)


def _back(session: AdminSession, message: str, anchor: str = "") -> web.HTTPSeeOther:
    session.flash = message
    return web.HTTPSeeOther(f"{PREFIX}/{anchor}")


def _node_id(request: web.Request) -> str:
    node_id = request.match_info["node_id"]
    if not _NODE_ID.fullmatch(node_id):
        raise web.HTTPNotFound()
    return node_id


# -- sign in and out ------------------------------------------------------------------------


async def login_page(request: web.Request) -> web.StreamResponse:
    if _session(request) is not None:
        raise web.HTTPSeeOther(f"{PREFIX}/")
    return request.config_dict[appkeys.RENDERER].render("admin/login.html", error=None)


async def login(request: web.Request) -> web.StreamResponse:
    ctx = request.config_dict[appkeys.CONTEXT]
    throttle = request.config_dict[appkeys.THROTTLE]
    renderer = request.config_dict[appkeys.RENDERER]
    form = await request.post()
    passphrase = form.get("passphrase")
    if throttle.locked():
        return renderer.render("admin/login.html", status=429, error=_(
            "Too many failed attempts. Wait 15 minutes, or use the command line."))
    stored = ctx.admin_passphrase_hash()
    async with throttle.lock:  # one Argon2id check at a time (each takes ~0.7 s and 256 MiB)
        ok = (isinstance(passphrase, str) and stored is not None
              and await asyncio.to_thread(verify_passphrase, stored, passphrase))
        if not ok:
            log.info("admin sign-in failed")
            await throttle.failed()
    if not ok:
        return renderer.render("admin/login.html", status=401,
                               error=_("That passphrase is not right."))
    throttle.succeeded()
    session = request.config_dict[appkeys.SESSIONS].start()
    log.info("admin signed in")
    response = web.HTTPSeeOther(f"{PREFIX}/")
    response.set_cookie(COOKIE, session.id, path=PREFIX, httponly=True, samesite="Strict",
                        secure=ctx.config.secure_cookies)
    raise response


async def logout(request: web.Request) -> web.StreamResponse:
    session = request[appkeys.SESSION]
    request.config_dict[appkeys.SESSIONS].end(session.id)
    response = web.HTTPSeeOther(f"{PREFIX}/login")
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
        }

    data = await asyncio.to_thread(gather)
    return request.config_dict[appkeys.RENDERER].render(
        "admin/dashboard.html", csrf=session.csrf, flash=flash,
        revocation_reasons=[(code, _(REVOCATION_LABELS[code])) for code in REVOCATION_REASONS],
        statuses={k: _(v) for k, v in STATUS_LABELS.items()}, **data)


# -- decisions ------------------------------------------------------------------------------


async def approve(request: web.Request) -> web.StreamResponse:
    ctx = request.config_dict[appkeys.CONTEXT]
    session = request[appkeys.SESSION]
    node_id = _node_id(request)
    try:
        member = await asyncio.to_thread(ctx.members.approve, node_id, ctx.now())
    except ObservatoryError as exc:
        raise _back(session, _("Not approved: %(why)s", why=str(exc)), "#requests") from None
    log.info("admin approved node %s", node_id)
    raise _back(session, _("%(org)s is now a member.", org=member.organisation_name),
                "#members")


async def reject(request: web.Request) -> web.StreamResponse:
    ctx = request.config_dict[appkeys.CONTEXT]
    session = request[appkeys.SESSION]
    node_id = _node_id(request)
    reason = (await request.post()).get("reason")
    try:
        if not isinstance(reason, str):
            raise ValueError(_("a rejection needs a reason"))
        member = await asyncio.to_thread(ctx.members.reject, node_id, reason, ctx.now())
    except (ObservatoryError, ValueError) as exc:
        raise _back(session, _("Not rejected: %(why)s", why=str(exc)), "#requests") from None
    log.info("admin rejected node %s", node_id)
    raise _back(session, _("The request of %(org)s was rejected.",
                           org=member.organisation_name), "#requests")


async def revoke(request: web.Request) -> web.StreamResponse:
    ctx = request.config_dict[appkeys.CONTEXT]
    session = request[appkeys.SESSION]
    node_id = _node_id(request)
    reason = (await request.post()).get("reason")
    if reason not in REVOCATION_REASONS:
        raise _back(session, _("Not revoked: choose a reason."), "#members")
    try:
        member = await asyncio.to_thread(ctx.members.revoke, node_id,
                                         cast(RevocationReason, reason), ctx.now())
    except ObservatoryError as exc:
        raise _back(session, _("Not revoked: %(why)s", why=str(exc)), "#members") from None
    log.info("admin revoked node %s", node_id)
    raise _back(session, _("%(org)s is no longer a member; the next membership list says so.",
                           org=member.organisation_name), "#history")


async def acknowledge(request: web.Request) -> web.StreamResponse:
    ctx = request.config_dict[appkeys.CONTEXT]
    session = request[appkeys.SESSION]
    try:
        alarm_id = int(request.match_info["alarm_id"])
    except ValueError:
        raise web.HTTPNotFound() from None
    try:
        await asyncio.to_thread(ctx.checkpoints.acknowledge, alarm_id, ctx.now())
    except ObservatoryError as exc:
        raise _back(session, str(exc), "#alarms") from None
    log.info("admin acknowledged fork alarm %d", alarm_id)
    raise _back(session, _("Alarm acknowledged. Both checkpoints are kept."), "#alarms")


_NODE = (("node_id", "The node id (32 lowercase hex digits)"),)
_CSRF = ("csrf", "The session's CSRF token, from the page's form")
HTML = ("text/html",)

ROUTES: tuple[Route, ...] = (
    Route("GET", "/login", "admin_login_page", "The sign-in form", login_page,
          media_types=HTML),
    Route("POST", "/login", "admin_login", "Sign in with the admin passphrase", login,
          success=303, media_types=HTML, form=(("passphrase", "The admin passphrase"),),
          errors=(401, 429)),
    Route("POST", "/logout", "admin_logout", "Sign out", logout, success=303, media_types=HTML,
          form=(_CSRF,), errors=(403,)),
    Route("GET", "/", "admin_dashboard",
          "Requests to join, members, past decisions and fork alarms", dashboard,
          media_types=HTML),
    Route("POST", "/requests/{node_id}/approve", "admin_approve",
          "Approve a request to join: certificate and new membership list", approve,
          success=303, media_types=HTML, path_params=_NODE, form=(_CSRF,), errors=(403, 404)),
    Route("POST", "/requests/{node_id}/reject", "admin_reject",
          "Reject a request to join, with the reason the node will receive", reject,
          success=303, media_types=HTML, path_params=_NODE,
          form=(_CSRF, ("reason", "Why (sent to the node, at most 1,000 characters)")),
          errors=(403, 404)),
    Route("POST", "/members/{node_id}/revoke", "admin_revoke",
          "Revoke a member: the next membership list names it", revoke,
          success=303, media_types=HTML, path_params=_NODE,
          form=(_CSRF, ("reason", "key_compromised, left_federation, misbehaviour or other")),
          errors=(403, 404)),
    Route("POST", "/alarms/{alarm_id}/acknowledge", "admin_acknowledge_alarm",
          "Acknowledge a fork alarm (both checkpoints are kept)", acknowledge,
          success=303, media_types=HTML,
          path_params=(("alarm_id", "The alarm's number"),), form=(_CSRF,), errors=(403, 404)),
)


def create_admin_app() -> web.Application:
    app = web.Application(middlewares=[html_errors, require_admin],
                          client_max_size=MAX_FORM_BYTES)
    add_routes(app, ROUTES)
    return app
