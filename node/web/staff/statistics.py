"""Differentially private statistics releases (issue 6), reviewed by a person before they
leave the node: what is released, its privacy loss, the budget left. Approval hands the
release to the federation outbox (when the node is federated).

The pages speak to an NGO analyst (issue 15): "privacy loss" in plain words, "epsilon" only
in the details; what a draft will spend is said before it is computed, with what is left of
the year's budget and of each report's lifetime limit; advice comes with the control that
acts on it (the tables to untick, the draft waiting for review, who can approve). Under four
eyes the drafter is shown who can approve instead of an approve button, and the service
refuses them whatever they post (`node.statistics.four_eyes`)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from node import accounts, errors
from node.backoffice.access import Action
from node.context import NodeContext, run_sync
from node.evidence import succession
from node.federation import statistics_delivery
from node.i18n import N_
from node.statistics import schedule
from node.statistics.errors import SendingHeld
from node.statistics.plan import ReleasePeriod
from node.statistics.service import StatisticsService
from node.web import labels
from node.web.appkeys import FEDERATION_STATUS, node
from node.web.failures import error_text, status_of
from node.web.rendering import translate
from node.web.responses import see_other
from node.web.staff.common import STAFF_PATH, StaffRoute, checked_form, page, session_of

PREVIEW_CELLS = 60


def _years(now: datetime) -> list[int]:
    return [now.year - i for i in range(0, 4)]


async def overview(request: web.Request, *, problems: list[errors.NodeError] | None = None,
                   status: int = 200, chosen: list[str] | None = None) -> web.StreamResponse:
    ctx = node(request)
    session = session_of(request)
    now = ctx.clock()

    def work() -> dict[str, Any]:
        svc = ctx.statistics
        years = _years(now)
        ledger = svc.ledger()
        people = accounts.usernames(ctx.db.read(), (
            who for e in ledger for who in (e.drafted_by, e.reviewed_by) if who))
        costs = [(t.name, sum(m.epsilon for m in svc.cost(ReleasePeriod(now.year), [t.name])))
                 for t in svc.tables()]
        cost = sum(m.epsilon for m in svc.cost(ReleasePeriod(now.year)))
        budgets = [svc.budget(y) for y in years]
        return {
            "budgets": budgets,
            "ledger": ledger,
            "people": people,
            "pending": svc.pending(),
            "cost": cost,
            "costs": costs,
            "cheapest": min((c for _, c in costs), default=cost),
            "answers": statistics_delivery.answers(ctx.db.read()),
            "due": _due(svc, now),
            "lifetime": svc.lifetime(),
            "four_eyes": svc.four_eyes,
        }

    data = await run_sync(ctx, work)
    notice, session.flash = session.flash, None
    return page(request, "staff/statistics.html", session, status=status, years=_years(now),
                plan=ctx.config.statistics, notice=notice,
                federated=request.config_dict[FEDERATION_STATUS].send_statistics is not None,
                answers=data.pop("answers"), chosen=chosen,
                release_status=labels.RELEASE_STATUS,
                errors=[error_text(request, p) for p in problems or []], **data)


async def overview_get(request: web.Request) -> web.StreamResponse:
    """Opening the page reads; it never draws noise nor spends budget. A release the plan's
    schedule says is due is offered, and drafting it stays a deliberate POST (issue 14)."""
    return await overview(request)


def _due(svc: StatisticsService, now: datetime) -> bool:
    """Whether the plan's schedule (node/statistics/schedule.py) has a release due and no
    draft is waiting: the page then says so, and a person decides whether to draft it."""
    if svc.pending():
        return False
    hours = [e.created_hour for e in svc.ledger()]
    last = datetime.fromtimestamp(max(hours) * 3600, UTC) if hours else None
    return schedule.due(svc.plan.schedule, last, now)


async def draft_post(request: web.Request) -> web.StreamResponse:
    ctx = node(request)
    form = await checked_form(request)
    session = session_of(request)
    # the tables ticked: releasing fewer spends less (the page's advice when a year's budget
    # is short). The form says it offers the choice, so that unticking every table is not
    # "all": none ticked is refused by the plan check, with its message.
    tables = ([str(t) for t in form.getall("tables", [])] if "choose_tables" in form
              else None)
    try:
        year = int(str(form.get("year", "")))
        period = ReleasePeriod(year)
    except ValueError:
        return await overview(request, problems=[errors.InvalidInput(field="year")],
                              status=400, chosen=tables)
    try:
        draft = await run_sync(ctx, ctx.statistics.draft, session.staff, period, tables)
    except errors.NodeError as exc:
        if isinstance(exc, errors.Forbidden):
            raise
        return await overview(request, problems=[exc], status=status_of(exc), chosen=tables)
    raise see_other(f"{STAFF_PATH}/statistics/{draft.release.release_id}")


async def review_get(request: web.Request) -> web.StreamResponse:
    ctx = node(request)
    session = session_of(request)
    release_id = request.match_info["release_id"]

    def work() -> dict[str, Any]:
        svc = ctx.statistics
        draft = svc.review(session.staff, release_id)
        entry = svc.entry(release_id)
        people = accounts.usernames(ctx.db.read(), (
            who for who in (entry.drafted_by, entry.reviewed_by) if who))
        return {"draft": draft, "entry": entry, "people": people,
                "may_approve": svc.may_approve(session.staff, entry),
                "approvers": svc.approvers(entry.drafted_by) if entry.status == "draft" else [],
                "four_eyes": svc.four_eyes}

    data = await run_sync(ctx, work)
    draft = data.pop("draft")
    p = draft.release
    tables = []
    negative = 0
    for t in p.tables:
        cells = list(t.cells())
        negative += sum(1 for _, c in cells if c < 0)
        tables.append({"name": t.name, "dimensions": " × ".join(t.dimensions),
                       "cells": len(cells), "epsilon": t.epsilon, "scale": t.scale,
                       "accuracy": t.accuracy_95,
                       "preview": [(" · ".join(k), c) for k, c in cells[:PREVIEW_CELLS]]})
    notice, session.flash = session.flash, None
    return page(request, "staff/statistics_review.html", session, p=p, status_code=draft.status,
                budget=draft.budget, tables=tables, notice=notice, negative=negative,
                accuracy=max((t.accuracy_95 for t in p.tables), default=0),
                lifetime=ctx.config.statistics.lifetime_loss,
                release_status=labels.RELEASE_STATUS,
                created=datetime.fromtimestamp(p.created_hour * 3600, UTC)
                .strftime("%Y-%m-%d %H:00 UTC"), **data)


def _held(ctx: NodeContext) -> bool:
    return succession.hold(ctx.db.read()) is not None


async def approve_post(request: web.Request) -> web.StreamResponse:
    ctx = node(request)
    await checked_form(request)
    session = session_of(request)
    send = request.config_dict[FEDERATION_STATUS].send_statistics
    if send is not None and await run_sync(ctx, _held, ctx):
        raise SendingHeld()  # restored: nothing leaves until the successor log (issue 21)
    payload = await run_sync(ctx, ctx.statistics.approve, session.staff,
                             request.match_info["release_id"])
    if send is not None:
        await send(payload)
        session.flash = translate(request, N_("Approved. The release is queued for the "
                                              "observatory and will be sent when it can be."))
    else:
        session.flash = translate(request, N_("Approved. This node is not federated, so the "
                                              "release stays here."))
    raise see_other(f"{STAFF_PATH}/statistics/{payload.release_id}")


async def discard_post(request: web.Request) -> web.StreamResponse:
    ctx = node(request)
    await checked_form(request)
    await run_sync(ctx, ctx.statistics.discard, session_of(request).staff,
                   request.match_info["release_id"])
    session_of(request).flash = translate(request, N_(
        "Discarded. Its privacy loss stays counted: the noisy counts were computed and seen."))
    raise see_other(f"{STAFF_PATH}/statistics")


_ONE = "/statistics/{release_id}"
ROUTES: list[StaffRoute] = [
    StaffRoute("GET", "/statistics", overview_get, "staff_statistics", Action.RELEASE_STATISTICS),
    StaffRoute("POST", "/statistics/draft", draft_post, "staff_statistics_draft",
               Action.RELEASE_STATISTICS),
    StaffRoute("GET", _ONE, review_get, "staff_statistics_review", Action.RELEASE_STATISTICS),
    StaffRoute("POST", _ONE + "/approve", approve_post, "staff_statistics_approve",
               Action.RELEASE_STATISTICS),
    StaffRoute("POST", _ONE + "/discard", discard_post, "staff_statistics_discard",
               Action.RELEASE_STATISTICS),
]
