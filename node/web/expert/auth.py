"""Signing in to the expert app, the required second factor, and accepting an invitation.

The same passphrase and Argon2id unlock as the staff office (`node.accounts`), the same
brakes on guessing (`node.web.staff.sign_in_guard`), and one more rule: only an account
whose only role is ``expert`` signs in here; any other is answered exactly like a wrong
passphrase (and an expert is refused by the staff office the same way). An expert without a
second factor is signed in to the enrolment page only, until their authenticator app shows
a code that works.
"""

from __future__ import annotations

import secrets
from typing import Any

import segno
from aiohttp import web

from node import accounts, errors, invitations, second_factor
from node.accounts import UnlockedStaff
from node.context import NodeContext, run_sync
from node.experts.profiles import EXPERT_ROLE
from node.web import sign_in
from node.web.appkeys import node
from node.web.expert.common import (
    EXPERT_COOKIE,
    EXPERT_PATH,
    NEEDS_SECOND_FACTOR,
    SECOND_FACTOR,
    Access,
    ExpertRoute,
    checked_form,
    page,
    session_of,
    sessions_of,
)
from node.web.failures import error_text, status_of
from node.web.language import switch_language
from node.web.responses import clear_cookie, see_other, set_session_cookie
from node.web.security import check_csrf
from node.web.staff.auth import SecondStepExpired
from node.web.staff.sign_in_guard import sign_in_guard

PRE_COOKIE = "expert_pre"
PENDING_COOKIE = "expert_2fa"


def _now(ctx: NodeContext) -> int:
    return int(ctx.clock().timestamp())


def _pre_token(request: web.Request) -> str:
    return request.cookies.get(PRE_COOKIE) or secrets.token_urlsafe(32)


def _checked_pre_form(request: web.Request, form: Any) -> None:
    token = request.cookies.get(PRE_COOKIE, "")
    if not token:
        raise errors.SessionExpired()
    check_csrf(token, form.get("csrf"))


def _start_session(request: web.Request, expert: UnlockedStaff, *, enrolled: bool
                   ) -> web.HTTPSeeOther:
    session = sessions_of(request).new(expert)
    if not enrolled:
        session.cache[NEEDS_SECOND_FACTOR] = True
        request.config_dict[SECOND_FACTOR].begin_enrolment(session.id)
    response = see_other(f"{EXPERT_PATH}/" if enrolled else f"{EXPERT_PATH}/second-factor")
    set_session_cookie(request, response, EXPERT_COOKIE, session.id, path=EXPERT_PATH)
    clear_cookie(response, PRE_COOKIE, path=EXPERT_PATH)
    clear_cookie(response, PENDING_COOKIE, path=EXPERT_PATH)
    return response


def _login_page(request: web.Request, username: str = "",
                exc: errors.NodeError | None = None) -> web.Response:
    token = _pre_token(request)
    response = page(request, "expert/login.html", status=status_of(exc) if exc else 200,
                    csrf=token, username=username,
                    errors=[error_text(request, exc)] if exc else [])
    set_session_cookie(request, response, PRE_COOKIE, token, path=EXPERT_PATH)
    return response


async def login_get(request: web.Request) -> web.StreamResponse:
    return _login_page(request)


async def login_post(request: web.Request) -> web.StreamResponse:
    ctx = node(request)
    form = await request.post()
    _checked_pre_form(request, form)
    username = str(form.get("username", ""))[:100]
    passphrase = str(form.get("passphrase", ""))[:1000]
    try:
        # staff sign in at the office, never here
        result = await sign_in.check_passphrase(
            request, username, passphrase, rate_action="expert_login",
            admit=lambda roles: roles == frozenset({EXPERT_ROLE}))
    except errors.NodeError as exc:
        return _login_page(request, username, exc)
    if result.totp_secret is None:
        await run_sync(ctx, accounts.finish_sign_in, ctx.db, ctx.audit, result.staff.member.id,
                       _now(ctx))
        sign_in.succeeded(request, username)
        raise _start_session(request, result.staff, enrolled=False)
    pending = request.config_dict[SECOND_FACTOR].start(result.staff, result.totp_secret)
    response = see_other(f"{EXPERT_PATH}/login/code")
    set_session_cookie(request, response, PENDING_COOKIE, pending.id, path=EXPERT_PATH)
    raise response


async def login_code_get(request: web.Request) -> web.StreamResponse:
    pending = request.config_dict[SECOND_FACTOR].get(request.cookies.get(PENDING_COOKIE))
    if pending is None:
        return _login_page(request, exc=SecondStepExpired())
    return page(request, "expert/login_code.html", csrf=pending.csrf)


async def login_code_post(request: web.Request) -> web.StreamResponse:
    state = request.config_dict[SECOND_FACTOR]
    pending = state.get(request.cookies.get(PENDING_COOKIE))
    if pending is None:
        return _login_page(request, exc=SecondStepExpired())
    form = await request.post()
    check_csrf(pending.csrf, form.get("csrf"))
    try:
        await sign_in.check_code(request, pending, str(form.get("code", ""))[:64],
                                 rate_action="expert_login")
    except accounts.AccountLocked as exc:
        state.end(pending.id)
        response = _login_page(request, pending.staff.member.username, exc)
        clear_cookie(response, PENDING_COOKIE, path=EXPERT_PATH)
        return response
    except errors.NodeError as exc:
        return page(request, "expert/login_code.html", status=status_of(exc), csrf=pending.csrf,
                    errors=[error_text(request, exc)])
    state.end(pending.id)
    raise _start_session(request, pending.staff, enrolled=True)


async def logout_post(request: web.Request) -> web.StreamResponse:
    await checked_form(request)
    session = session_of(request)
    request.config_dict[SECOND_FACTOR].end_enrolment(session.id)
    sessions_of(request).end(session.id)
    response = see_other(f"{EXPERT_PATH}/login")
    clear_cookie(response, EXPERT_COOKIE, path=EXPERT_PATH)
    raise response


# ------------------------------------------------------------------ the required second factor

def _second_factor_page(request: web.Request, secret: str,
                        exc: errors.NodeError | None = None) -> web.Response:
    session = session_of(request)
    issuer = node(request).config.disguise_name  # neutral: a phone may be looked at
    uri = second_factor.totp_uri(secret, session.staff.member.username, issuer)
    qr = segno.make(uri, error="m").svg_data_uri(scale=4, border=2)
    grouped = " ".join(secret[i:i + 4] for i in range(0, len(secret), 4))
    return page(request, "expert/second_factor.html", session,
                status=status_of(exc) if exc else 200, secret=grouped, qr=qr, issuer=issuer,
                errors=[error_text(request, exc)] if exc else [])


async def second_factor_get(request: web.Request) -> web.StreamResponse:
    session = session_of(request)
    if not session.cache.get(NEEDS_SECOND_FACTOR):
        raise see_other(f"{EXPERT_PATH}/")
    state = request.config_dict[SECOND_FACTOR]
    secret = state.enrolment(session.id) or state.begin_enrolment(session.id)
    return _second_factor_page(request, secret)


async def second_factor_post(request: web.Request) -> web.StreamResponse:
    ctx = node(request)
    form = await checked_form(request)
    session = session_of(request)
    if not session.cache.get(NEEDS_SECOND_FACTOR):
        raise see_other(f"{EXPERT_PATH}/")
    state = request.config_dict[SECOND_FACTOR]
    secret = state.enrolment(session.id) or state.begin_enrolment(session.id)
    try:
        await run_sync(ctx, second_factor.enable_totp, ctx.db, ctx.audit, session.staff,
                       secret, str(form.get("code", ""))[:64], ctx.clock())
    except errors.NodeError as exc:
        return _second_factor_page(request, secret, exc)
    state.end_enrolment(session.id)
    session.cache.pop(NEEDS_SECOND_FACTOR, None)
    raise see_other(f"{EXPERT_PATH}/?done=second_factor")


# ------------------------------------------------------------------ invitations

async def _invite_page(request: web.Request, exc: errors.NodeError | None = None
                       ) -> web.Response:
    ctx = node(request)
    code = request.match_info["code"]
    errs = [error_text(request, exc)] if exc else []
    try:
        invitation = await run_sync(ctx, lambda: invitations.open_invitation(
            ctx.db.read(), code, _now(ctx)))
        if invitation.roles != frozenset({EXPERT_ROLE}):
            raise invitations.InvitationInvalid()  # staff accept theirs at the office
    except errors.NodeError as problem:
        return page(request, "expert/invite.html", status=status_of(problem), invitation=None,
                    code="", errors=[*errs, error_text(request, problem)])
    token = _pre_token(request)
    response = page(request, "expert/invite.html", status=status_of(exc) if exc else 200,
                    csrf=token, invitation=invitation, code=code, errors=errs,
                    min_chars=accounts.MIN_PASSPHRASE_CHARS)
    set_session_cookie(request, response, PRE_COOKIE, token, path=EXPERT_PATH)
    return response


async def invite_get(request: web.Request) -> web.StreamResponse:
    try:
        sign_in.check_rate(request, "expert_invite")
    except errors.NodeError as exc:
        return page(request, "expert/invite.html", status=status_of(exc), invitation=None,
                    code="", errors=[error_text(request, exc)])
    return await _invite_page(request)


async def invite_post(request: web.Request) -> web.StreamResponse:
    ctx = node(request)
    form = await request.post()
    _checked_pre_form(request, form)
    code = request.match_info["code"]
    try:
        sign_in.check_rate(request, "expert_invite")
        invitation = await run_sync(ctx, lambda: invitations.open_invitation(
            ctx.db.read(), code, _now(ctx)))
        if invitation.roles != frozenset({EXPERT_ROLE}):
            raise invitations.InvitationInvalid()
        async with sign_in_guard(request).gate.slot():
            expert = await run_sync(ctx, invitations.accept_invitation, ctx.db, ctx.audit,
                                    code, str(form.get("passphrase", ""))[:1000],
                                    str(form.get("repeat", ""))[:1000], ctx.staff_params,
                                    _now(ctx))
    except errors.NodeError as exc:
        return await _invite_page(request, exc)
    raise _start_session(request, expert, enrolled=False)


ROUTES = [
    ExpertRoute("GET", "/login", login_get, "expert_login", Access.PUBLIC),
    ExpertRoute("POST", "/login", login_post, "expert_login_post", Access.PUBLIC),
    ExpertRoute("GET", "/login/code", login_code_get, "expert_login_code", Access.PUBLIC),
    ExpertRoute("POST", "/login/code", login_code_post, "expert_login_code_post",
                Access.PUBLIC),
    ExpertRoute("GET", "/invite/{code}", invite_get, "expert_invite", Access.PUBLIC),
    ExpertRoute("POST", "/invite/{code}", invite_post, "expert_invite_post", Access.PUBLIC),
    ExpertRoute("POST", "/logout", logout_post, "expert_logout", Access.ENROLLING),
    ExpertRoute("POST", "/language", switch_language(EXPERT_PATH), "expert_language",
                Access.PUBLIC),
    ExpertRoute("GET", "/second-factor", second_factor_get, "expert_second_factor",
                Access.ENROLLING),
    ExpertRoute("POST", "/second-factor", second_factor_post, "expert_second_factor_post",
                Access.ENROLLING),
]
