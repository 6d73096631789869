"""What the expert app's handlers share: its keys, routes, sessions, guard and pages.

The app's state lives in memory only, like the staff office's, and apart from it: its own
cookie and path, its own sessions. A session that has not shown a second factor yet (an
expert who never enrolled one) reaches the enrolment pages and nothing else: the second
factor is required for experts, who open case material on phones.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from aiohttp import web
from aiohttp.typedefs import Middleware

from node import errors
from node.experts import received_needs
from node.experts.profiles import require_expert
from node.web.appkeys import node
from node.web.rendering import render
from node.web.responses import see_other
from node.web.security import check_csrf
from node.web.sessions import SessionStore
from node.web.staff.sessions import SecondFactorState, StaffSession, StaffSessions

EXPERT_COOKIE = "expert"
EXPERT_PATH = "/expert"
NEEDS_SECOND_FACTOR = "needs_second_factor"  # in `StaffSession.cache`
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

SESSIONS: web.AppKey[StaffSessions] = web.AppKey("expert_sessions")
SECOND_FACTOR: web.AppKey[SecondFactorState] = web.AppKey("expert_second_factor")
SESSION: web.RequestKey[StaffSession] = web.RequestKey("expert_session")


class Access(StrEnum):
    """Who may open an expert route: the expert app's half of the role x route matrix."""

    PUBLIC = "public"  # sign-in, invitation
    ENROLLING = "enrolling"  # a signed-in expert, second factor or not (enrolment, sign out)
    EXPERT = "expert"  # a signed-in expert who has shown their second factor


@dataclass(frozen=True)
class ExpertRoute:
    method: str
    path: str
    handler: Handler
    name: str
    access: Access


def sessions_of(request: web.Request) -> StaffSessions:
    return request.config_dict[SESSIONS]


def session_of(request: web.Request) -> StaffSession:
    return request[SESSION]


def make_guard(access: dict[str, Access]) -> Middleware:
    """Every route needs its access: an unknown route is never reachable; a staff account's
    session cannot exist here (sign-in refuses it), and is refused again if it did."""

    @web.middleware
    async def guard(request: web.Request, handler: Handler) -> web.StreamResponse:
        needed = access.get(request.match_info.route.name or "")
        if needed is None:
            raise errors.NotFound()
        if needed is Access.PUBLIC:
            return await handler(request)
        session = sessions_of(request).get(request.cookies.get(EXPERT_COOKIE))
        if session is None:
            if request.method == "GET":
                raise see_other(f"{EXPERT_PATH}/login")
            raise errors.NotAuthenticated()
        require_expert(session.staff)
        if needed is Access.EXPERT and session.cache.get(NEEDS_SECOND_FACTOR):
            if request.method == "GET":
                raise see_other(f"{EXPERT_PATH}/second-factor")
            raise errors.Forbidden()
        request[SESSION] = session
        return await handler(request)

    return guard


def page(request: web.Request, template: str, session: StaffSession | None = None,
         **kw: Any) -> web.Response:
    badge = 0
    if session is not None and not session.cache.get(NEEDS_SECOND_FACTOR):
        ctx = node(request)  # the badge: needs not looked at yet (one indexed count)
        badge = received_needs.unseen(ctx.db.read(), session.staff.member.id,
                                      int(ctx.clock().timestamp()))
        badge += ctx.threads.unread(session.staff.member.id)  # and messages not read yet
    return render(request, template, staff=session.staff if session else None,
                  csrf=session.csrf if session else kw.pop("csrf", ""), needs_badge=badge,
                  **kw)


async def checked_form(request: web.Request) -> Any:
    form = await request.post()
    check_csrf(session_of(request).csrf, form.get("csrf"))
    return form


async def end_all(sessions: SessionStore[Any]) -> None:
    sessions.end_all()
