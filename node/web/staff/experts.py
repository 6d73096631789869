"""The node's experts, as their coordinators see them, and vouching for one (issue 16)."""

from __future__ import annotations

from aiohttp import web

from node import errors
from node.backoffice.access import Action
from node.context import run_sync
from node.experts import vetting
from node.web.appkeys import node
from node.web.failures import error_text, status_of
from node.web.responses import see_other
from node.web.staff.common import STAFF_PATH, StaffRoute, checked_form, page, session_of


async def _experts_page(request: web.Request, exc: errors.NodeError | None = None
                        ) -> web.Response:
    ctx = node(request)
    rows = await run_sync(ctx, lambda: vetting.experts(ctx.db.read()))
    return page(request, "staff/experts.html", session_of(request),
                status=status_of(exc) if exc else 200, experts=rows,
                errors=[error_text(request, exc)] if exc else [],
                done=request.query.get("done", "")[:20])


async def experts_get(request: web.Request) -> web.StreamResponse:
    return await _experts_page(request)


async def vouch_post(request: web.Request) -> web.StreamResponse:
    ctx = node(request)
    await checked_form(request)
    try:
        await run_sync(ctx, vetting.vouch, ctx.db, ctx.audit, session_of(request).staff,
                       request.match_info["staff_id"][:64], int(ctx.clock().timestamp()))
    except vetting.NothingToVouchFor as exc:
        return await _experts_page(request, exc)
    raise see_other(f"{STAFF_PATH}/experts?done=vouched")


ROUTES = [
    StaffRoute("GET", "/experts", experts_get, "staff_experts", Action.VOUCH_EXPERTS),
    StaffRoute("POST", "/experts/{staff_id}/vouch", vouch_post, "staff_experts_vouch",
               Action.VOUCH_EXPERTS),
]
