"""Coordinators' needs for experts (issue 16): post one, follow the answers, pick an expert
who accepted, and confirm a wider search when nobody did. Plain forms, no JavaScript."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from crypto.keys import VerifyKey
from node import errors
from node.backoffice.access import Action
from node.context import run_sync
from node.experts import engagements, needs
from node.i18n import N_
from node.web.appkeys import FEDERATION_STATUS, node
from node.web.failures import error_text, status_of
from node.web.responses import see_other
from node.web.staff.common import STAFF_PATH, StaffRoute, checked_form, page, session_of
from protocol.engagements import MAX_NEED_LIFETIME
from protocol.experts import SPECIALTIES, SPECIALTY_LABELS
from protocol.statements import verify_key_from_hex

MODES = (("on_site", N_("On site")), ("remote", N_("Remote")),
         ("either", N_("Remote or on site")))
URGENCIES = (("routine", N_("Routine")), ("urgent", N_("Urgent")),
             ("immediate", N_("Immediate")))
STATUS_LABELS = {"open": N_("Open"), "engaged": N_("Expert engaged"),
                 "withdrawn": N_("Withdrawn"), "expired": N_("Expired")}
_MAX_CODES = 50


class NoFederation(errors.NodeError):
    message = N_("This node is not part of a federation: there is no expert directory to "
                 "match a need against.")


def when(timestamp: int) -> str:
    """A moment as staff read it: the day and minute, in UTC (the office may be anywhere)."""
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d %H:%M UTC")


def _now(request: web.Request) -> int:
    return int(node(request).clock().timestamp())


def _observatory_key(request: web.Request) -> VerifyKey:
    federation = node(request).config.federation
    if federation is None:
        raise NoFederation()
    return verify_key_from_hex(federation.observatory_identity_key)


def _wake(request: web.Request) -> None:
    wake = request.config_dict[FEDERATION_STATUS].wake
    if wake is not None:
        wake()


def _codes(text: str) -> list[str]:
    return [c.strip() for c in text.replace(",", " ").split() if c.strip()][:_MAX_CODES]


async def _needs_page(request: web.Request, exc: errors.NodeError | None = None,
                      form: dict[str, Any] | None = None) -> web.Response:
    ctx = node(request)
    rows = await run_sync(ctx, lambda: needs.listing(ctx.db.read()))
    return page(request, "staff/needs.html", session_of(request),
                status=status_of(exc) if exc else 200,
                errors=[error_text(request, exc)] if exc else [], needs=rows, now=_now(request),
                specialties=[(s, SPECIALTY_LABELS[s]) for s in SPECIALTIES],
                specialty_labels=SPECIALTY_LABELS, modes=MODES, urgencies=URGENCIES,
                status_labels=STATUS_LABELS, when=when,
                form=form or {}, federated=ctx.config.federation is not None,
                max_hours=MAX_NEED_LIFETIME // 3600)


async def needs_get(request: web.Request) -> web.StreamResponse:
    return await _needs_page(request)


async def needs_post(request: web.Request) -> web.StreamResponse:
    ctx = node(request)
    form = await checked_form(request)
    specialty = str(form.get("specialty", ""))[:40]
    languages = [str(v)[:20] for v in form.getall("languages", [])][:_MAX_CODES] + _codes(
        str(form.get("other_languages", ""))[:300].lower())
    country = str(form.get("country", "")).strip().upper()[:2]
    regions = _codes(str(form.get("regions", ""))[:1000].upper())
    mode = str(form.get("mode", ""))[:20]
    urgency = str(form.get("urgency", ""))[:20]
    description = str(form.get("description", ""))[:needs.MAX_DESCRIPTION_CHARS + 1]
    chosen: dict[str, Any] = {"specialty": specialty, "languages": languages,
                              "country": country, "regions": regions, "mode": mode,
                              "urgency": urgency, "description": description}
    try:
        hours = int(str(form.get("deadline_hours", "0"))[:6] or "0")
    except ValueError:
        hours = 0
    try:
        key = _observatory_key(request)
        need_id, _reached = await run_sync(ctx, lambda: needs.post(
            ctx.db, ctx.audit, session_of(request).staff, node_id=ctx.keys.node_id,
            observatory_key=key, specialty=specialty, languages=languages, country=country,
            regions=regions, mode=mode, urgency=urgency, deadline_hours=hours,
            description=description, report_id=None, now=_now(request)))
    except errors.NodeError as exc:
        return await _needs_page(request, exc, {**chosen, "deadline_hours": hours})
    _wake(request)
    raise see_other(f"{STAFF_PATH}/needs/{need_id}?done=posted")


async def _need_page(request: web.Request, exc: errors.NodeError | None = None
                     ) -> web.Response:
    ctx = node(request)
    need_id = request.match_info["need_id"][:64]
    found = await run_sync(ctx, lambda: needs.get(ctx.db.read(), need_id))
    if found is None:
        raise errors.NotFound()
    now = _now(request)
    engagement = await run_sync(ctx, lambda: engagements.of_need(ctx.db.read(), need_id))
    return page(request, "staff/need.html", session_of(request),
                status=status_of(exc) if exc else 200,
                engagement=engagement if engagement and engagement.active(now) else None,
                errors=[error_text(request, exc)] if exc else [], need=found, now=now,
                status_label=STATUS_LABELS[found.status(now)],
                specialty_labels=SPECIALTY_LABELS, modes=dict(MODES),
                urgencies=dict(URGENCIES), when=when, done=request.query.get("done", "")[:20])


async def need_get(request: web.Request) -> web.StreamResponse:
    return await _need_page(request)


async def pick_post(request: web.Request) -> web.StreamResponse:
    ctx = node(request)
    form = await checked_form(request)
    need_id = request.match_info["need_id"][:64]
    expert_key = str(form.get("expert", ""))[:64]
    try:
        key = _observatory_key(request)
        await run_sync(ctx, lambda: needs.pick(
            ctx.db, ctx.audit, session_of(request).staff, need_id, expert_key,
            node_id=ctx.keys.node_id, observatory_key=key, now=_now(request)))
    except errors.NodeError as exc:
        return await _need_page(request, exc)
    _wake(request)
    raise see_other(f"{STAFF_PATH}/needs/{need_id}?done=engaged")


async def widen_post(request: web.Request) -> web.StreamResponse:
    ctx = node(request)
    await checked_form(request)
    need_id = request.match_info["need_id"][:64]
    try:
        key = _observatory_key(request)
        await run_sync(ctx, lambda: needs.widen(
            ctx.db, ctx.audit, session_of(request).staff, need_id, node_id=ctx.keys.node_id,
            observatory_key=key, now=_now(request)))
    except errors.NodeError as exc:
        return await _need_page(request, exc)
    _wake(request)
    raise see_other(f"{STAFF_PATH}/needs/{need_id}?done=widened")


ROUTES = [
    StaffRoute("GET", "/needs", needs_get, "staff_needs", Action.MOBILISE_EXPERTS),
    StaffRoute("POST", "/needs", needs_post, "staff_needs_post", Action.MOBILISE_EXPERTS),
    StaffRoute("GET", "/needs/{need_id}", need_get, "staff_need", Action.MOBILISE_EXPERTS),
    StaffRoute("POST", "/needs/{need_id}/pick", pick_post, "staff_need_pick",
               Action.MOBILISE_EXPERTS),
    StaffRoute("POST", "/needs/{need_id}/widen", widen_post, "staff_need_widen",
               Action.MOBILISE_EXPERTS),
]
