"""A coordinator shares part of a case with a vetted expert, and stops it (issue 16).

The form offers only what the reporter's scope allows (`Shares.choices`); the service checks
it all again, with the expert directory, and refuses with nothing stored
(`node.experts.shares`). The engagement and the expert's key are filled in from the
engagement (or typed) -- the form never shows the material itself."""

from __future__ import annotations

from aiohttp import web

from node import errors
from node.backoffice.access import Action
from node.context import run_sync
from node.experts.shares import (
    EXPERT_KIND_FOR_REPORTER,
    GROUP_LABELS,
    MAX_SHARE_SECONDS,
    OTHER_EXPERT,
    ShareRefused,
)
from node.web.appkeys import node
from node.web.failures import error_text, status_of
from node.web.formatting import format_day
from node.web.responses import see_other
from node.web.staff.common import STAFF_PATH, StaffRoute, checked_form, page, session_of
from protocol.statements import verify_key_from_hex

_CASE = "/cases/{report_id}"
_HEX = frozenset("0123456789abcdef")
MAX_DAYS = MAX_SHARE_SECONDS // 86400


def _hex(value: object, length: int, field: str) -> str:
    text = str(value or "").strip().lower()
    if len(text) != length or not set(text) <= _HEX:
        raise errors.InvalidInput(field=field)
    return text


async def _share_page(request: web.Request, *, exc: errors.NodeError | None = None,
                      form: dict[str, object] | None = None) -> web.Response:
    ctx = node(request)
    report_id = request.match_info["report_id"]
    staff = session_of(request).staff
    groups, files = await run_sync(ctx, ctx.shares.choices, staff, report_id)
    now = int(ctx.clock().timestamp())
    sent = [{"id": s.share_id, "active": s.active(now), "home": s.home_node,
             "kind": EXPERT_KIND_FOR_REPORTER.get(s.specialty, OTHER_EXPERT),
             "what": ", ".join(s.what), "when": format_day(request, s.shared_at // 3600),
             "until": format_day(request, s.expires // 3600)}
            for s in await run_sync(ctx, ctx.shares.sent_for_report, report_id)]
    values = form or {"engagement": request.query.get("engagement", "")[:32],
                      "expert": request.query.get("expert", "")[:64], "days": "14"}
    return page(request, "staff/share.html", session_of(request),
                status=status_of(exc) if exc else 200,
                errors=[error_text(request, exc)] if exc else [], report_id=report_id,
                groups=[(g, GROUP_LABELS[g], ok) for g, ok in groups.items()], files=files,
                sent=sent, values=values, max_days=MAX_DAYS,
                done=request.query.get("done", "")[:20])


async def share_get(request: web.Request) -> web.StreamResponse:
    return await _share_page(request)


async def share_post(request: web.Request) -> web.StreamResponse:
    ctx = node(request)
    form = await checked_form(request)
    report_id = request.match_info["report_id"]
    values: dict[str, object] = {"engagement": str(form.get("engagement", ""))[:32],
                                 "expert": str(form.get("expert", ""))[:64],
                                 "days": str(form.get("days", ""))[:4]}
    try:
        engagement = _hex(values["engagement"], 32, "engagement")
        expert = _hex(values["expert"], 64, "expert")
        try:
            days = int(str(values["days"]))
        except ValueError:
            raise errors.InvalidInput(field="days") from None
        if not 1 <= days <= MAX_DAYS:
            raise errors.InvalidInput(field="days")
        federation = ctx.config.federation
        if federation is None:
            raise ShareRefused("no_directory")
        observatory_key = verify_key_from_hex(federation.observatory_identity_key)
        groups = [str(g)[:20] for g in form.getall("groups", [])][:20]
        files = [str(f)[:32] for f in form.getall("files", [])][:100]
        now = int(ctx.clock().timestamp())
        await run_sync(ctx, lambda: ctx.shares.share(
            session_of(request).staff, engagement_id=engagement, report_id=report_id,
            expert_key=expert, groups=groups, files=files, expires=now + days * 86400,
            observatory_key=observatory_key))
    except errors.NodeError as exc:
        if isinstance(exc, errors.Forbidden | errors.ReportGone | errors.NotFound):
            raise
        return await _share_page(request, exc=exc, form=values)
    raise see_other(f"{STAFF_PATH}/cases/{report_id}/share?done=shared")


async def revoke_post(request: web.Request) -> web.StreamResponse:
    ctx = node(request)
    await checked_form(request)
    report_id = request.match_info["report_id"]
    share_id = request.match_info["share_id"][:32]
    found = await run_sync(ctx, ctx.shares.sent, share_id)
    if found is None or found.report_id != report_id:
        raise errors.NotFound()
    await run_sync(ctx, ctx.shares.revoke, session_of(request).staff, share_id)
    raise see_other(f"{STAFF_PATH}/cases/{report_id}/share?done=stopped")


ROUTES = [
    StaffRoute("GET", _CASE + "/share", share_get, "staff_case_share_form",
               Action.SHARE_WITH_EXPERTS),
    StaffRoute("POST", _CASE + "/share", share_post, "staff_case_share",
               Action.SHARE_WITH_EXPERTS),
    StaffRoute("POST", _CASE + "/shares/{share_id}/revoke", revoke_post,
               "staff_case_share_revoke", Action.SHARE_WITH_EXPERTS),
]
