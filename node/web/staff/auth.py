"""Signing in and out, accepting an invitation, and a person's own account.

Signing in runs Argon2id on the person's passphrase to unlock their X25519 key (and through
it the node keys sealed to them); the keys live only in this process's memory for the
session, which ends when idle or at sign-out. With a second factor on, the unlocked keys
wait in a pending sign-in (`node.web.staff.sessions.SecondFactorState`) until the code is
given.

Failed attempts are counted per (username, source) in memory
(`node.web.staff.sign_in_guard`); from the third the answer is held back
(`appkeys.LOGIN_DELAY`, an `asyncio.sleep` that holds this request only), and an attempt
that comes before its wait is over is answered like a wrong passphrase, after the same
delay, without its passphrase being checked. No number of failures locks an account, and
an unknown username is answered exactly like a real one. Argon2id runs through the guard's
gate: a few at a time, "busy" beyond.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import segno
from aiohttp import web

from node import accounts, errors, invitations, passphrase_strength, second_factor
from node.accounts import UnlockedStaff
from node.backoffice.access import Action
from node.context import NodeContext, run_sync
from node.i18n import N_
from node.web import appkeys, sign_in
from node.web.appkeys import node
from node.web.failures import error_text, status_of
from node.web.form_errors import field_errors
from node.web.language import lang_of, switch_language
from node.web.responses import clear_cookie, see_other, set_session_cookie
from node.web.security import check_csrf
from node.web.staff import suggestions
from node.web.staff.case_lists import prepare_index
from node.web.staff.common import (
    STAFF_COOKIE,
    STAFF_PATH,
    StaffRoute,
    checked_form,
    page,
    session_of,
)
from node.web.staff.perpetrators import offer_keys
from node.web.staff.sessions import PendingSignIn, SecondFactorState
from node.web.staff.sign_in_guard import sign_in_guard

PRE_COOKIE = "staff_pre"
PENDING_COOKIE = "staff_2fa"


class SecondStepExpired(errors.SessionExpired):
    message = N_("Signing in took more than 5 minutes and was stopped to protect you. "
                 "Sign in again.")


def second_factor_state(request: web.Request) -> SecondFactorState:
    return request.config_dict[appkeys.SECOND_FACTOR]


def _now(ctx: NodeContext) -> int:
    return int(ctx.clock().timestamp())


def _start_session(request: web.Request, staff: UnlockedStaff, location: str
                   ) -> web.HTTPSeeOther:
    session = request.config_dict[appkeys.STAFF_SESSIONS].new(staff)
    offer_keys(request, staff)  # issue 18: identifiers waiting for a coordinator's key
    prepare_index(node(request), session)  # issue 3: ready, or nearly, for a first search
    suggestions.prepare(node(request), staff)  # issue 17: ready for a first case page
    response = see_other(location)
    set_session_cookie(request, response, STAFF_COOKIE, session.id, path=STAFF_PATH)
    clear_cookie(response, PRE_COOKIE, path=STAFF_PATH)
    clear_cookie(response, PENDING_COOKIE, path=STAFF_PATH)
    return response


def _pre_token(request: web.Request) -> str:
    return request.cookies.get(PRE_COOKIE) or secrets.token_urlsafe(32)


def _login_page(request: web.Request, username: str = "", exc: errors.NodeError | None = None
                ) -> web.Response:
    # The sign-in form's CSRF token is bound to a short-lived pre-session cookie.
    token = _pre_token(request)
    response = page(request, "staff/login.html", status=status_of(exc) if exc else 200, csrf=token,
                    username=username, errors=[error_text(request, exc)] if exc else [])
    set_session_cookie(request, response, PRE_COOKIE, token, path=STAFF_PATH)
    return response


def _checked_pre_form(request: web.Request, form: Any) -> None:
    token = request.cookies.get(PRE_COOKIE, "")
    if not token:
        raise errors.SessionExpired()
    check_csrf(token, form.get("csrf"))


# ------------------------------------------------------------------ sign in and out

async def login_get(request: web.Request) -> web.StreamResponse:
    return _login_page(request)


async def login_post(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    _checked_pre_form(request, form)
    username = str(form.get("username", ""))[:100]
    passphrase = str(form.get("passphrase", ""))[:1000]
    try:
        # experts sign in on the expert app only
        result = await sign_in.check_passphrase(
            request, username, passphrase, rate_action="login",
            admit=lambda roles: "expert" not in roles)
    except errors.NodeError as exc:
        return _login_page(request, username, exc)
    if result.totp_secret is None:
        sign_in.succeeded(request, username)
        raise _start_session(request, result.staff, f"{STAFF_PATH}/")
    pending = second_factor_state(request).start(result.staff, result.totp_secret)
    response = see_other(f"{STAFF_PATH}/login/code")
    set_session_cookie(request, response, PENDING_COOKIE, pending.id, path=STAFF_PATH)
    raise response


def _code_page(request: web.Request, pending: PendingSignIn,
               exc: errors.NodeError | None = None) -> web.Response:
    return page(request, "staff/login_code.html", status=status_of(exc) if exc else 200,
                csrf=pending.csrf, errors=[error_text(request, exc)] if exc else [])


async def login_code_get(request: web.Request) -> web.StreamResponse:
    pending = second_factor_state(request).get(request.cookies.get(PENDING_COOKIE))
    if pending is None:
        return _login_page(request, exc=SecondStepExpired())
    return _code_page(request, pending)


async def login_code_post(request: web.Request) -> web.StreamResponse:
    state = second_factor_state(request)
    pending = state.get(request.cookies.get(PENDING_COOKIE))
    if pending is None:
        return _login_page(request, exc=SecondStepExpired())
    form = await request.post()
    check_csrf(pending.csrf, form.get("csrf"))
    try:
        await sign_in.check_code(request, pending, str(form.get("code", ""))[:64],
                                 rate_action="login")
    except accounts.AccountLocked as exc:
        state.end(pending.id)
        response = _login_page(request, pending.staff.member.username, exc)
        clear_cookie(response, PENDING_COOKIE, path=STAFF_PATH)
        return response
    except errors.NodeError as exc:
        return _code_page(request, pending, exc)
    state.end(pending.id)
    raise _start_session(request, pending.staff, f"{STAFF_PATH}/")


async def logout_post(request: web.Request) -> web.StreamResponse:
    await checked_form(request)
    session = session_of(request)
    second_factor_state(request).end_enrolment(session.id)
    request.config_dict[appkeys.STAFF_SESSIONS].end(session.id)
    response = see_other(f"{STAFF_PATH}/login")
    clear_cookie(response, STAFF_COOKIE, path=STAFF_PATH)
    raise response


# ------------------------------------------------------------------ invitations

async def _invite_page(request: web.Request, exc: errors.NodeError | None = None
                       ) -> web.Response:
    ctx = node(request)
    code = request.match_info["code"]
    errs = [error_text(request, exc)] if exc else []
    try:
        invitation = await run_sync(ctx, lambda: invitations.open_invitation(
            ctx.db.read(), code, _now(ctx)))
    except errors.NodeError as problem:
        return page(request, "staff/invite.html", status=status_of(problem), invitation=None,
                    code="", errors=[*errs, error_text(request, problem)])
    token = _pre_token(request)
    response = page(request, "staff/invite.html", status=status_of(exc) if exc else 200,
                    csrf=token, invitation=invitation, code=code, errors=errs,
                    field_errors=field_errors(request, exc, "passphrase"),
                    min_chars=accounts.MIN_PASSPHRASE_CHARS,
                    suggestion=passphrase_strength.suggest(lang_of(request)))
    set_session_cookie(request, response, PRE_COOKIE, token, path=STAFF_PATH)
    return response


async def invite_get(request: web.Request) -> web.StreamResponse:
    try:
        sign_in.check_rate(request, "invite")
    except errors.NodeError as exc:
        return page(request, "staff/invite.html", status=status_of(exc), invitation=None, code="",
                    errors=[error_text(request, exc)])
    return await _invite_page(request)


async def invite_post(request: web.Request) -> web.StreamResponse:
    ctx = node(request)
    form = await request.post()
    _checked_pre_form(request, form)
    passphrase = str(form.get("passphrase", ""))[:1000]
    repeat = str(form.get("repeat", ""))[:1000]
    try:
        sign_in.check_rate(request, "invite")
        async with sign_in_guard(request).gate.slot():
            staff = await run_sync(ctx, invitations.accept_invitation, ctx.db, ctx.audit,
                                   request.match_info["code"], passphrase, repeat,
                                   ctx.staff_params, _now(ctx))
    except errors.NodeError as exc:
        return await _invite_page(request, exc)
    raise _start_session(request, staff, f"{STAFF_PATH}/account?done=welcome")


# ------------------------------------------------------------------ my account

async def _account_page(request: web.Request, exc: errors.NodeError | None = None,
                        done: str = "") -> web.Response:
    ctx = node(request)
    session = session_of(request)
    account = await run_sync(ctx, lambda: accounts.get_account(ctx.db.read(),
                                                               session.staff.member.id))
    if account is None:
        raise errors.NotAuthenticated()
    return page(request, "staff/account.html", session, status=status_of(exc) if exc else 200,
                account=account, done=done, errors=[error_text(request, exc)] if exc else [],
                field_errors=field_errors(request, exc, "new" if request.path.endswith(
                    "/passphrase") else "code" if request.method == "POST" else None),
                min_chars=accounts.MIN_PASSPHRASE_CHARS,
                suggestion=passphrase_strength.suggest(lang_of(request)))


async def account_get(request: web.Request) -> web.StreamResponse:
    return await _account_page(request, done=request.query.get("done", "")[:20])


async def totp_start(request: web.Request) -> web.StreamResponse:
    await checked_form(request)
    second_factor_state(request).begin_enrolment(session_of(request).id)
    raise see_other(f"{STAFF_PATH}/account/totp")


def _totp_page(request: web.Request, secret: str, exc: errors.NodeError | None = None
               ) -> web.Response:
    session = session_of(request)
    # A neutral name: an authenticator app shows it on a phone that may be looked at.
    uri = second_factor.totp_uri(secret, session.staff.member.username,
                                 node(request).config.disguise_name)
    qr = segno.make(uri, error="m").svg_data_uri(scale=5, border=2)
    grouped = " ".join(secret[i:i + 4] for i in range(0, len(secret), 4))
    return page(request, "staff/totp.html", session, status=status_of(exc) if exc else 200,
                secret=grouped, uri=uri, qr=qr, issuer=node(request).config.disguise_name,
                errors=[error_text(request, exc)] if exc else [])


async def totp_get(request: web.Request) -> web.StreamResponse:
    secret = second_factor_state(request).enrolment(session_of(request).id)
    if secret is None:
        raise see_other(f"{STAFF_PATH}/account")
    return _totp_page(request, secret)


async def totp_post(request: web.Request) -> web.StreamResponse:
    ctx = node(request)
    form = await checked_form(request)
    session = session_of(request)
    state = second_factor_state(request)
    secret = state.enrolment(session.id)
    if secret is None:
        raise see_other(f"{STAFF_PATH}/account")
    try:
        await run_sync(ctx, second_factor.enable_totp, ctx.db, ctx.audit, session.staff,
                       secret, str(form.get("code", ""))[:64], ctx.clock())
    except errors.NodeError as exc:
        return _totp_page(request, secret, exc)
    state.end_enrolment(session.id)
    raise see_other(f"{STAFF_PATH}/account?done=totp_on")


async def totp_disable(request: web.Request) -> web.StreamResponse:
    ctx = node(request)
    form = await checked_form(request)
    session = session_of(request)
    try:
        await run_sync(ctx, second_factor.disable_totp, ctx.db, ctx.audit, session.staff,
                       str(form.get("code", ""))[:64], ctx.clock())
    except errors.NodeError as exc:
        return await _account_page(request, exc)
    raise see_other(f"{STAFF_PATH}/account?done=totp_off")


async def passphrase_post(request: web.Request) -> web.StreamResponse:
    ctx = node(request)
    form = await checked_form(request)
    session = session_of(request)
    try:
        async with sign_in_guard(request).gate.slot():
            await run_sync(ctx, accounts.change_passphrase, ctx.db, ctx.audit, session.staff,
                           str(form.get("current", ""))[:1000], str(form.get("new", ""))[:1000],
                           str(form.get("repeat", ""))[:1000], ctx.staff_params, _now(ctx))
    except errors.NodeError as exc:
        return await _account_page(request, exc)
    raise see_other(f"{STAFF_PATH}/account?done=passphrase")


def refresh_sessions(request: web.Request, staff_id: str,
                     change: Callable[[UnlockedStaff], UnlockedStaff | None]) -> None:
    """Apply an account change to the person's open sessions at once: new roles and keys
    take effect without signing in again; `None` ends the session."""
    sessions = request.config_dict[appkeys.STAFF_SESSIONS]
    for session in sessions.of_staff(staff_id):
        updated = change(session.staff)
        if updated is None:
            sessions.end(session.id)
        else:
            session.staff = updated


def with_roles(staff: UnlockedStaff, roles: frozenset[str]) -> UnlockedStaff:
    keep = accounts.keys_needed(roles)
    return UnlockedStaff(replace(staff.member, roles=roles), staff.secret_key,
                         {k: v for k, v in staff.node_keys.items() if k in keep})


ROUTES = [
    StaffRoute("GET", "/login", login_get, "staff_login", Action.PUBLIC),
    StaffRoute("POST", "/login", login_post, "staff_login_post", Action.PUBLIC),
    StaffRoute("GET", "/login/code", login_code_get, "staff_login_code", Action.PUBLIC),
    StaffRoute("POST", "/login/code", login_code_post, "staff_login_code_post", Action.PUBLIC),
    StaffRoute("POST", "/logout", logout_post, "staff_logout", Action.OWN_ACCOUNT),
    StaffRoute("POST", "/language", switch_language(STAFF_PATH), "staff_language",
               Action.PUBLIC),
    StaffRoute("GET", "/invite/{code}", invite_get, "staff_invite", Action.PUBLIC),
    StaffRoute("POST", "/invite/{code}", invite_post, "staff_invite_post", Action.PUBLIC),
    StaffRoute("GET", "/account", account_get, "staff_account", Action.OWN_ACCOUNT),
    StaffRoute("POST", "/account/totp/start", totp_start, "staff_totp_start",
               Action.OWN_ACCOUNT),
    StaffRoute("GET", "/account/totp", totp_get, "staff_totp", Action.OWN_ACCOUNT),
    StaffRoute("POST", "/account/totp", totp_post, "staff_totp_post", Action.OWN_ACCOUNT),
    StaffRoute("POST", "/account/totp/disable", totp_disable, "staff_totp_disable",
               Action.OWN_ACCOUNT),
    StaffRoute("POST", "/account/passphrase", passphrase_post, "staff_passphrase",
               Action.OWN_ACCOUNT),
]
