"""Signing in and out. Signing in runs Argon2id on the person's passphrase to unlock their
X25519 key (and through it the node keys sealed to them); the keys live only in this
process's memory for the session, which ends when idle or at sign-out."""

from __future__ import annotations

import secrets

from aiohttp import web

from node import accounts, errors
from node.backoffice.access import Action
from node.web import appkeys
from node.web.context import run_sync
from node.web.pages import clear_cookie, error_text, node, see_other, set_session_cookie
from node.web.security import check_csrf
from node.web.staff.common import (
    STAFF_COOKIE,
    STAFF_PATH,
    StaffRoute,
    checked_form,
    page,
    session_of,
)

PRE_COOKIE = "staff_pre"


async def login_get(request: web.Request) -> web.StreamResponse:
    # The sign-in form's CSRF token is bound to a short-lived pre-session cookie.
    token = request.cookies.get(PRE_COOKIE) or secrets.token_urlsafe(32)
    response = page(request, "staff/login.html", csrf=token, username="")
    set_session_cookie(request, response, PRE_COOKIE, token, path=STAFF_PATH)
    return response


async def login_post(request: web.Request) -> web.StreamResponse:
    ctx = node(request)
    form = await request.post()
    token = request.cookies.get(PRE_COOKIE, "")
    if not token:
        raise errors.SessionExpired()
    check_csrf(token, form.get("csrf"))
    username = str(form.get("username", ""))[:100]
    passphrase = str(form.get("passphrase", ""))[:1000]
    try:
        if not request.config_dict[appkeys.LIMITER].allow(
                "login", request.remote, ctx.config.rate_limits.staff_logins_per_minute):
            raise errors.RateLimited()
        unlocked = await run_sync(ctx, lambda: accounts.unlock(ctx.db.read(), username,
                                                               passphrase))
    except errors.NodeError as exc:
        return page(request, "staff/login.html", status=exc.status, csrf=token,
                    username=username, errors=[error_text(request, exc)])
    session = request.config_dict[appkeys.STAFF_SESSIONS].new(unlocked)
    response = see_other(f"{STAFF_PATH}/")
    set_session_cookie(request, response, STAFF_COOKIE, session.id, path=STAFF_PATH)
    clear_cookie(response, PRE_COOKIE, path=STAFF_PATH)
    raise response


async def logout_post(request: web.Request) -> web.StreamResponse:
    await checked_form(request)
    request.config_dict[appkeys.STAFF_SESSIONS].end(session_of(request).id)
    response = see_other(f"{STAFF_PATH}/login")
    clear_cookie(response, STAFF_COOKIE, path=STAFF_PATH)
    raise response


ROUTES = [
    StaffRoute("GET", "/login", login_get, "staff_login", Action.PUBLIC),
    StaffRoute("POST", "/login", login_post, "staff_login_post", Action.PUBLIC),
    StaffRoute("POST", "/logout", logout_post, "staff_logout", Action.OWN_ACCOUNT),
]
