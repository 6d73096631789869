"""The one guarded sign-in of every door that takes a passphrase and a second factor: the
staff office (`node.web.staff.auth`) and the expert app (`node.web.expert.auth`).

Both steps -- the passphrase, then the code -- go through the same brakes on guessing
(`node.web.staff.sign_in_guard`): a rate limit per source, failed attempts counted per
(username, source) in memory and held back from the third (`appkeys.LOGIN_DELAY`, an
`asyncio.sleep` that holds this request only; an attempt that comes before its wait is over
is answered like a wrong passphrase, after the same delay, without being checked), and
Argon2id through the guard's gate, a few at a time, "busy" beyond -- a busy answer gives the
person's rate-limit token back, or someone retrying through a flood is locked out by their
own limit. Each door only says who may use it (`admit`) and renders its own pages: a fix to
the brakes is a fix for every door.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from aiohttp import web

from node import accounts, errors, second_factor
from node.context import run_sync
from node.web import appkeys
from node.web.appkeys import node
from node.web.ratelimit import client_bucket, rate_ok, refund
from node.web.staff.sessions import PendingSignIn
from node.web.staff.sign_in_guard import sign_in_guard


def source_of(request: web.Request) -> str:
    """Who the attempt comes from, as the rate limits see it (behind a trusted proxy, the
    forwarded client); kept only in memory, under a keyed hash."""
    limits = node(request).config.rate_limits
    return client_bucket(request.remote, request.headers.get("X-Forwarded-For"),
                         limits.trusted_proxies)[0]


def check_rate(request: web.Request, action: str) -> None:
    """`RateLimited` once this source used up its sign-in attempts for `action`."""
    if not rate_ok(request, action, node(request).config.rate_limits.staff_logins_per_minute):
        raise errors.RateLimited()


async def slow_down(request: web.Request, seconds: float) -> None:
    if seconds > 0:
        await request.config_dict.get(appkeys.LOGIN_DELAY, asyncio.sleep)(seconds)


def _now(request: web.Request) -> int:
    return int(node(request).clock().timestamp())


async def check_passphrase(request: web.Request, username: str, passphrase: str, *,
                           rate_action: str,
                           admit: Callable[[frozenset[str]], bool]) -> accounts.SignIn:
    """The first step. Raises `SignInFailed` -- a wrong passphrase, an unknown username, an
    attempt held back, or an account this door does not `admit` (its roles), all alike --
    after the delay a failure earns; or `NodeError` (rate limited; `Busy`, which refunds
    the rate token). The caller finishes the sign-in, or starts the second step."""
    ctx = node(request)
    guard, source = sign_in_guard(request), source_of(request)
    held = 0.0
    try:
        check_rate(request, rate_action)
        held = guard.throttle.held_back(username, source)
        if held:
            await slow_down(request, held)
            raise accounts.SignInFailed()
        async with guard.gate.slot():
            result: accounts.SignIn = await run_sync(
                ctx, accounts.begin_sign_in, ctx.db, ctx.audit, username, passphrase,
                ctx.staff_params, _now(request))
        if not admit(result.staff.member.roles):
            raise accounts.SignInFailed()
    except accounts.SignInFailed:
        if not held:
            await slow_down(request, guard.throttle.failed(username, source))
        raise
    except errors.Busy:
        # Turned away before any work: the attempt must not use up the person's own rate
        # limit, or a coordinator retrying through a flood is locked out by it.
        refund(request, rate_action, ctx.config.rate_limits.staff_logins_per_minute)
        raise
    return result


async def check_code(request: web.Request, pending: PendingSignIn, code: str, *,
                     rate_action: str) -> None:
    """The second step: the code checked under the same brakes, then the sign-in finished
    (`finish_sign_in`). Raises `SignInFailed` (a wrong code, after the delay it earns),
    `AccountLocked`, or another `NodeError`; on success the failures counted are cleared."""
    ctx = node(request)
    username = pending.staff.member.username
    guard, source = sign_in_guard(request), source_of(request)
    held = 0.0
    try:
        check_rate(request, rate_action)
        held = guard.throttle.held_back(username, source)
        if held:
            await slow_down(request, held)
            raise second_factor.TotpRejected()
        await run_sync(ctx, second_factor.check_second_factor, ctx.db, pending.staff.member.id,
                       pending.totp_secret, code, ctx.clock())
        await run_sync(ctx, accounts.finish_sign_in, ctx.db, ctx.audit,
                       pending.staff.member.id, _now(request))
    except accounts.AccountLocked:
        raise
    except accounts.SignInFailed:
        if not held:
            await slow_down(request, guard.throttle.failed(username, source))
        raise
    guard.throttle.succeeded(username, source)


def succeeded(request: web.Request, username: str) -> None:
    """A sign-in finished without a second step: the failures counted are cleared."""
    sign_in_guard(request).throttle.succeeded(username, source_of(request))
