"""Suggested codings on the case page, and reports that may describe the same incident
(issue 17). Thin handlers over `node.analysis.case_suggestions` and
`node.analysis.linked_reports`, which check access again.

- `panel(...)`: what `staff/_suggestions.html` shows on the case page, for someone who may
  read the narrative (nobody else reaches the case page; the service checks again): each
  suggestion with its confidence, its evidence highlighted in the narrative (server-rendered
  `<mark>`, no script), and one form per suggestion to accept, edit or reject it.
- accepting or editing remembers the decision and opens the coding form with the accepted
  values (`coding.form_page`): the coder answers the rest, reviews, and saves through the
  coding service -- nothing is coded automatically. Rejecting remembers the decision and
  returns to the case. Every decision is a training signal of the node's adapted model.
- the linked-reports page of a case: the reports the person may also read that probably
  describe the same incident or perpetrator group, and, for whoever may code both, the
  one-click link through the existing incident linking (`staff_case_link`).
"""

from __future__ import annotations

import asyncio
from functools import partial
from typing import Any

from aiohttp import web

from node import errors
from node.accounts import UnlockedStaff
from node.analysis.adapted import AdaptedModels
from node.analysis.case_suggestions import (
    HINT_LABELS,
    CaseSuggestions,
    CaseView,
    coding_values,
    segments,
)
from node.analysis.linked_reports import REASONS, LinkedReports
from node.analysis.suggest import warm
from node.backoffice import incidents as inc
from node.backoffice.access import Action, allowed
from node.backoffice.case_numbers import number_of
from node.backoffice.ledger import CaseLedger
from node.context import NodeContext, run_sync
from node.i18n import N_
from node.web.appkeys import node
from node.web.rendering import translate
from node.web.responses import see_other
from node.web.staff import coding
from node.web.staff.common import STAFF_PATH, StaffRoute, checked_form, page, session_of
from protocol import vocabulary as vocab

KIND_LABELS = {
    "is_crsv": N_("Conflict-related sexual violence"),
    "category": N_("Category (Rome Statute)"),
    "affiliation": N_("Perpetrator affiliation"),
    "context": N_("Context"),
    "victims": N_("Number of victims"),
    "perpetrators": N_("Number of perpetrators"),
    "date": N_("Date"),
    "place": N_("Place"),
    "group": N_("Armed group"),
    "unit": N_("Unit"),
}
DECISION_LABELS = {"accepted": N_("accepted"), "edited": N_("accepted with changes"),
                   "rejected": N_("rejected")}
FEATURES_CACHE = "linked_report_features"  # in the person's session: memory only


_warming: list[asyncio.Future[None]] = []  # once per process: the engine's parts are shared


def prepare(ctx: NodeContext, staff: UnlockedStaff) -> None:
    """As someone who may read cases signs in, load the suggestion engine in a worker thread
    (`suggest.warm`), so that their first case page does not wait for it. Once per process."""
    if _warming or not allowed(staff.member, Action.READ_CASE, assigned=True):
        return
    future = asyncio.get_running_loop().run_in_executor(ctx.executor, warm)
    # a failed warm-up costs only time: the first case page loads what is missing
    future.add_done_callback(lambda f: f.cancelled() or f.exception())
    _warming.append(future)


def service(ctx: NodeContext) -> CaseSuggestions:
    adapted = AdaptedModels(ctx.db, ctx.keys.intake_public, ctx.keys.analysis_public,
                            lambda: int(ctx.clock().timestamp()))
    return CaseSuggestions(ctx.db, ctx.case_access, ctx.intake,
                           CaseLedger(ctx.db, ctx.audit, ctx.clock), adapted, ctx.config,
                           ctx.datadir.root)


def _regions_by_subdivision(ctx: NodeContext) -> dict[str, str]:
    """ISO 3166-2 code -> the node's region code, where exactly one region maps to it."""
    out: dict[str, str] = {}
    seen: set[str] = set()
    for r in ctx.config.regions:
        if r.subdivision:
            if r.subdivision in seen:
                out.pop(r.subdivision, None)
            else:
                out[r.subdivision] = r.code
            seen.add(r.subdivision)
    return out


def _value_label(request: web.Request, ctx: NodeContext, kind: str, value: str) -> str:
    t = partial(translate, request)
    if kind == "is_crsv":
        return t(N_("yes")) if value == "yes" else t(N_("no"))
    if kind == "category":
        return t(vocab.CATEGORY_LABELS[value])
    if kind == "affiliation":
        return t(vocab.AFFILIATION_LABELS[value])
    if kind == "context":
        return t(HINT_LABELS[value])
    if kind == "place":
        code = _regions_by_subdivision(ctx).get(value)
        region = ctx.config.region(code) if code else None
        return f"{region.name} ({value})" if region else value
    return value


def panel_of(request: web.Request, ctx: NodeContext, view: CaseView, can_decide: bool
             ) -> dict[str, Any]:
    t = partial(translate, request)
    labels = {i.key: f"{t(KIND_LABELS[i.kind])}: {_value_label(request, ctx, i.kind, i.value)}"
              for i in view.items}
    return {
        "language": view.language, "language_confidence": round(view.language_confidence * 100),
        "uncertainty": round(view.uncertainty * 100),
        "adapted": view.model_version,
        "segments": [{"text": text, "title": "; ".join(labels[k] for k in keys)}
                     for text, keys in segments(view.narrative, view.items)],
        "items": [{
            "key": i.key, "kind": t(KIND_LABELS[i.kind]),
            "value": _value_label(request, ctx, i.kind, i.value),
            "confidence": round(i.confidence * 100),
            "evidence": list(dict.fromkeys(e.phrase for e in i.evidence)),
            "decision": i.decision, "decision_text": t(DECISION_LABELS[i.decision])
            if i.decision else "", "editable": i.kind != "is_crsv"} for i in view.items],
        "can_decide": can_decide,
    }


async def panel(request: web.Request, ctx: NodeContext, staff: UnlockedStaff,
                report_id: str, assigned: bool) -> dict[str, Any] | None:
    """The case page's suggestions, or None for whoever may not read the narrative."""
    if not allowed(staff.member, Action.READ_CASE, assigned=assigned):
        return None
    try:
        view = await run_sync(ctx, service(ctx).of_case, staff, report_id)
    except errors.Forbidden:
        return None
    return panel_of(request, ctx, view,
                    allowed(staff.member, Action.CODE_INCIDENT, assigned=assigned))


class UnknownDecision(errors.InvalidInput):
    message = N_("Choose whether to accept, change or reject the suggestion.")


async def decide(request: web.Request) -> web.StreamResponse:
    """Accept, edit or reject one suggestion (one step); accepting opens the coding form
    with what was accepted, nothing is saved as a coding here."""
    ctx = node(request)
    form = await checked_form(request)
    session = session_of(request)
    report_id = request.match_info["report_id"]
    item_key = str(form.get("item") or "")[:200]
    decision = {"accept": "accepted", "edit": "edited", "reject": "rejected"}.get(
        str(form.get("decision") or ""))
    if decision is None:
        raise UnknownDecision(field="decision")
    view = await run_sync(ctx, service(ctx).decide, session.staff, report_id, item_key,
                          decision)
    item = view.item(item_key)
    if decision == "rejected" or item is None or item.kind == "is_crsv":
        session.flash = translate(request, N_("Your decision on the suggestion was noted. "
                                              "Nothing was coded."))
        raise see_other(f"{STAFF_PATH}/cases/{report_id}#suggestions")
    values = dict.fromkeys(inc.FIELDS, "") | coding_values(
        view, item_key, _regions_by_subdivision(ctx))
    return await coding.form_page(request, values, "")


async def linked(request: web.Request) -> web.StreamResponse:
    """Reports that may describe the same incident or group, among those the person may
    also read; a link is confirmed through the incident linking."""
    ctx = node(request)
    session = session_of(request)
    staff = session.staff
    report_id = request.match_info["report_id"]
    finder = LinkedReports(ctx.db, ctx.case_access, ctx.intake, ctx.config, ctx.datadir.root)
    cache = session.cache.setdefault(FEATURES_CACHE, {})
    found = await run_sync(ctx, finder.of_case, staff, report_id, cache)
    t = partial(translate, request)
    rows = []
    for link in found:
        incidents = await run_sync(ctx, _incidents, ctx, staff, link.report_id)
        mine = await run_sync(ctx, _incidents, ctx, staff, report_id)
        rows.append({
            "id": link.report_id, "number": number_of(link.report_id),
            "score": round(link.score * 100),
            "reasons": [t(REASONS[r]) for r in link.reasons], "shared": list(link.shared),
            # link one of their incidents to this case, or one of this case's to theirs
            "theirs": [(i.id, t(vocab.CATEGORY_LABELS[i.coding.category]))
                       for i in incidents if not i.withdrawn and report_id not in
                       i.other_reports],
            "mine": [(i.id, t(vocab.CATEGORY_LABELS[i.coding.category]))
                     for i in mine if not i.withdrawn and link.report_id not in
                     i.other_reports]})
    can_link = staff.has_role("coordinator") and allowed(staff.member, Action.CODE_INCIDENT)
    return page(request, "staff/linked_reports.html", session, id=report_id,
                number=number_of(report_id), rows=rows, can_link=can_link)


def _incidents(ctx: NodeContext, staff: UnlockedStaff, report_id: str) -> list[Any]:
    key = ctx.case_access.open_case(staff, Action.READ_CASE, report_id)
    return ctx.incidents.of_case(report_id, key)


_CASE = "/cases/{report_id}"
ROUTES: list[StaffRoute] = [
    StaffRoute("POST", _CASE + "/suggestions", decide, "staff_case_suggestion",
               Action.CODE_INCIDENT),
    StaffRoute("GET", _CASE + "/linked", linked, "staff_case_linked", Action.READ_CASE),
]
