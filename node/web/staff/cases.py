"""Case work pages: the triage queue, case lists, a case, its actions."""

from __future__ import annotations

from aiohttp import web

from node.backoffice.access import Action
from node.web.pages import see_other
from node.web.staff.common import STAFF_PATH, StaffRoute


async def index(request: web.Request) -> web.StreamResponse:
    raise see_other(f"{STAFF_PATH}/cases")


ROUTES: list[StaffRoute] = [
    StaffRoute("GET", "/", index, "staff_index", Action.OWN_ACCOUNT),
]
