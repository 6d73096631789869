"""What every staff handler shares: the route record, the session, page rendering."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from aiohttp.typedefs import Middleware

from node import errors
from node.backoffice.access import Action, require
from node.backoffice.inbox import Counts
from node.web import appkeys
from node.web.rendering import render
from node.web.responses import see_other
from node.web.security import check_csrf
from node.web.staff.sessions import StaffSession

STAFF_COOKIE = "staff"
STAFF_PATH = "/staff"
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
# the navigation's counts of what is new (`node.web.staff.inbox.inbox_counts` sets them)
INBOX_COUNTS: web.RequestKey[Counts] = web.RequestKey("inbox_counts")
# a coordinator's unread conversation messages (threads), for the navigation's badge
THREADS_UNREAD: web.RequestKey[int] = web.RequestKey("threads_unread")
# the section of the case page where the notice of the last action goes (a key of
# `StaffSession.cache`): the page opens there (issue 15, "Case page")
NOTICE_SECTION = "notice_section"


@dataclass(frozen=True)
class StaffRoute:
    """One staff route and the policy action it needs (`node.backoffice.access`)."""

    method: str
    path: str
    handler: Handler
    name: str
    action: Action


def session_of(request: web.Request) -> StaffSession:
    return request[appkeys.STAFF_SESSION]


def current_session(request: web.Request) -> StaffSession | None:
    return request.config_dict[appkeys.STAFF_SESSIONS].get(request.cookies.get(STAFF_COOKIE))


def make_guard(actions: dict[str, Action]) -> Middleware:
    """Middleware: every route needs a signed-in person allowed to do its action."""

    @web.middleware
    async def guard(request: web.Request, handler: Handler) -> web.StreamResponse:
        name = request.match_info.route.name
        action = actions.get(name or "")
        if action is None:
            raise errors.NotFound()  # unknown route: never reachable without a rule
        if action is Action.PUBLIC:
            return await handler(request)
        session = current_session(request)
        if session is None:
            if request.method == "GET":
                raise see_other(f"{STAFF_PATH}/login")
            raise errors.NotAuthenticated()
        require(session.staff.member, action)
        request[appkeys.STAFF_SESSION] = session
        return await handler(request)

    return guard


def page(request: web.Request, template: str, session: StaffSession | None = None,
         **kw: Any) -> web.Response:
    return render(request, template, staff=session.staff if session else None,
                  inbox_counts=request.get(INBOX_COUNTS),
                  threads_unread=request.get(THREADS_UNREAD, 0),
                  csrf=session.csrf if session else kw.pop("csrf", ""), **kw)


async def checked_form(request: web.Request) -> Any:
    """The posted form, after checking its CSRF token against the staff session."""
    form = await request.post()
    check_csrf(session_of(request).csrf, form.get("csrf"))
    return form
