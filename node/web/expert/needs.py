"""Needs for the expert, and their engagements (issue 16). The list shows the needs matched
to them before their deadline (looking at it clears the badge); they accept or decline with
one tap, the answer signed with their own key. An engagement's page opens the need's
description with the expert's key, in memory for this request only. Plain forms: it works
without JavaScript; the list reloads itself every `REFRESH_SECONDS` while open."""

from __future__ import annotations

from aiohttp import web

from node import errors
from node.context import run_sync
from node.experts import engagements, notify, received_needs
from node.i18n import N_
from node.web.appkeys import FEDERATION_STATUS, node
from node.web.expert import threads
from node.web.expert.common import (
    EXPERT_PATH,
    Access,
    ExpertRoute,
    checked_form,
    page,
    session_of,
)
from node.web.failures import error_text, status_of
from node.web.responses import see_other
from node.web.staff.needs import MODES, URGENCIES, when
from protocol.experts import SPECIALTY_LABELS
from protocol.statements import verify_key_from_hex

REFRESH_SECONDS = 4
DECLINE_LABELS = (("unavailable", N_("I am not available")),
                  ("outside_expertise", N_("Outside my expertise")),
                  ("conflict_of_interest", N_("Conflict of interest")),
                  ("other", N_("Another reason")))


def _now(request: web.Request) -> int:
    return int(node(request).clock().timestamp())


async def _needs_page(request: web.Request, exc: errors.NodeError | None = None
                      ) -> web.Response:
    ctx = node(request)
    staff = session_of(request).staff
    now = _now(request)
    found = await run_sync(ctx, lambda: received_needs.for_expert(ctx.db.read(),
                                                                  staff.member.id, now))
    mine = await run_sync(ctx, lambda: engagements.of_expert(ctx.db.read(), staff.member.id))
    unread = {s.thread.thread_id: s.unread
              for s in await run_sync(ctx, ctx.threads.of_staff, staff)}
    email = await run_sync(ctx, lambda: notify.address(ctx.db.read(), staff.member.id,
                                                       ctx.keys))
    if any(not n.seen for n in found):
        await run_sync(ctx, received_needs.mark_seen, ctx.db, staff.member.id, now)
    return page(request, "expert/needs.html", session_of(request),
                status=status_of(exc) if exc else 200,
                errors=[error_text(request, exc)] if exc else [], needs=found,
                engagements=[e for e in mine if e.active(now)], unread=unread, when=when,
                specialty_labels=SPECIALTY_LABELS, modes=dict(MODES), urgencies=dict(URGENCIES),
                reasons=DECLINE_LABELS, refresh=REFRESH_SECONDS, email=email or "",
                mail=ctx.config.expert_app.mail is not None,
                done=request.query.get("done", "")[:20])


async def needs_get(request: web.Request) -> web.StreamResponse:
    return await _needs_page(request)


async def answer_post(request: web.Request) -> web.StreamResponse:
    ctx = node(request)
    form = await checked_form(request)
    federation = ctx.config.federation
    accept = str(form.get("answer", "")) == "accept"
    reason = None if accept else str(form.get("reason", ""))[:40]
    try:
        if federation is None:
            raise errors.NotFound()  # a need only ever comes through a federation
        key = verify_key_from_hex(federation.observatory_identity_key)
        await run_sync(ctx, lambda: received_needs.answer(
            ctx.db, ctx.audit, session_of(request).staff,
            requesting_node=request.match_info["node"][:64],
            need_id=request.match_info["need_id"][:64], accept=accept, reason=reason,
            node_id=ctx.keys.node_id, observatory_key=key, now=_now(request)))
    except errors.NodeError as exc:
        return await _needs_page(request, exc)
    wake = request.config_dict[FEDERATION_STATUS].wake
    if wake is not None:
        wake()
    raise see_other(f"{EXPERT_PATH}/needs?done={'accepted' if accept else 'declined'}")


async def engagement_get(request: web.Request) -> web.StreamResponse:
    return await threads.engagement_page(request, threads.hex_id(request, "engagement_id"))


async def mail_post(request: web.Request) -> web.StreamResponse:
    ctx = node(request)
    form = await checked_form(request)
    try:
        await run_sync(ctx, lambda: notify.set_address(
            ctx.db, ctx.audit, session_of(request).staff, str(form.get("email", ""))[:300],
            keys=ctx.keys, now=_now(request)))
    except errors.NodeError as exc:
        return await _needs_page(request, exc)
    raise see_other(f"{EXPERT_PATH}/needs?done=mail")


ROUTES = [
    ExpertRoute("GET", "/needs", needs_get, "expert_needs", Access.EXPERT),
    ExpertRoute("POST", "/needs/{node}/{need_id}/answer", answer_post, "expert_need_answer",
                Access.EXPERT),
    ExpertRoute("POST", "/needs/mail", mail_post, "expert_needs_mail", Access.EXPERT),
    ExpertRoute("GET", "/engagements/{engagement_id}", engagement_get, "expert_engagement",
                Access.EXPERT),
]
