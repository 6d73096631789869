"""Experts' signed opinions of a case, as staff read them (issue 16).

Opened with the case key, by whoever may read the case. A coordinator holding the node's
intake key opens what arrived sealed to the node on their first visit
(`CaseOpinions.settle`); until then the others see that an opinion arrived and waits. The
attached file is always a download, never rendered in the office's origin."""

from __future__ import annotations

from aiohttp import web

from node import errors
from node.backoffice.access import Action
from node.context import run_sync
from node.experts.opinions import KIND_LABELS
from node.web.appkeys import node
from node.web.formatting import format_day
from node.web.staff.common import StaffRoute, page, session_of
from protocol.experts import SPECIALTY_LABELS

_CASE = "/cases/{report_id}"


async def opinions_get(request: web.Request) -> web.StreamResponse:
    ctx = node(request)
    report_id = request.match_info["report_id"]
    found = await run_sync(ctx, ctx.opinions.for_case, session_of(request).staff, report_id)
    response = page(request, "staff/opinions.html", session_of(request), report_id=report_id,
                    opinions=[{
                        "id": o.opinion_id, "kind": KIND_LABELS.get(o.kind, o.kind),
                        "sealed": o.sealed, "text": o.text, "file": o.file is not None,
                        "signed": format_day(request, o.signed_at // 3600),
                        "received": format_day(request, o.received_at // 3600),
                        "position": o.leaf_index,
                        "specialties": [SPECIALTY_LABELS.get(s, s)
                                        for s in o.credential.body.specialties],
                        "serial": o.credential.body.serial} for o in found])
    response.headers["Cache-Control"] = "no-store"
    return response


async def opinion_file_get(request: web.Request) -> web.StreamResponse:
    ctx = node(request)
    report_id = request.match_info["report_id"]
    found = await run_sync(ctx, ctx.opinions.for_case, session_of(request).staff, report_id)
    opinion = next((o for o in found if o.opinion_id == request.match_info["opinion_id"]),
                   None)
    if opinion is None or opinion.file is None:
        raise errors.NotFound()
    return web.Response(body=opinion.file, content_type="application/octet-stream", headers={
        "Cache-Control": "no-store",
        "Content-Disposition": "attachment; filename=\"expert-opinion-file\"",
        "X-Content-Type-Options": "nosniff"})


ROUTES = [
    StaffRoute("GET", _CASE + "/opinions", opinions_get, "staff_case_opinions",
               Action.READ_CASE),
    StaffRoute("GET", _CASE + "/opinions/{opinion_id}/file", opinion_file_get,
               "staff_case_opinion_file", Action.READ_CASE),
]
