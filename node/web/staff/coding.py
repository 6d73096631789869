"""Coding an incident on a case: the form, the review of what it implies, saving (issue 15).

A saved coding is only what the coder chose. The form starts empty: nothing is
pre-selected, "not known" is an answer like any other, and what the reporter said (region,
affiliation) is offered as a suggestion the coder confirms by choosing it. An untouched or
incomplete form saves nothing: it comes back with every unanswered question marked, in the
coder's language, with everything typed kept. A complete form is not saved either: the
review page shows the coding and the Rome Statute provision it implies, and only its
"Save" button stores it (`CaseIncidents.code`, which checks access again and audits).
Edits go through the same form and review; withdrawing and unlinking are actions on the
case page (`node.web.staff.cases`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from functools import partial
from typing import Any

from aiohttp import web

from node import errors
from node.accounts import UnlockedStaff
from node.backoffice import incidents as inc
from node.backoffice.access import Action
from node.backoffice.case_incidents import Candidate, CaseIncident
from node.backoffice.case_numbers import number_of
from node.backoffice.incident_dates import describe
from node.context import NodeContext, run_sync
from node.i18n import N_
from node.web.appkeys import node
from node.web.failures import error_text, status_of
from node.web.language import lang_of
from node.web.rendering import translate
from node.web.responses import see_other
from node.web.staff.common import (
    NOTICE_SECTION,
    STAFF_PATH,
    StaffRoute,
    checked_form,
    page,
    session_of,
)
from protocol import vocabulary as vocab

CHOOSE = N_("Choose an answer.")
# each question as the review page and the form's error summary name it
LABELS = {
    "category": N_("Category (Rome Statute)"), "date_from": N_("From"),
    "date_from_approx": N_("From"), "date_to": N_("To"), "date_to_approx": N_("To"),
    "region": N_("Region"), "perpetrator_affiliation": N_("Perpetrator affiliation"),
    "unit_named": N_("Unit or group named"), "perpetrator_count": N_("Number of perpetrators"),
    "survivor_sex": N_("Survivor sex"), "survivor_age_group": N_("Survivor age group"),
    "context": N_("Context"),
}
PROVISION_NAMES = {
    "Art. 7(1)(g)": N_("crime against humanity"),
    "Art. 8(2)(b)(xxii)": N_("war crime in an international armed conflict"),
    "Art. 8(2)(e)(vi)": N_("war crime in a non-international armed conflict"),
}


def _t(request: web.Request, message: str, **kw: object) -> str:
    return translate(request, message, **kw)


# ------------------------------------------------------------------ how a coding reads

def coding_summary(request: web.Request, c: inc.IncidentCoding,
                   region_names: Mapping[str, str]) -> str:
    """One line: dates, region, perpetrators, survivor, context -- every label translated."""
    t = partial(_t, request)
    parts = []
    if dates := coding_dates(request, c):
        parts.append(dates)
    parts.append(region_names.get(c.region, c.region) if c.region else t(vocab.NOT_KNOWN))
    if c.perpetrator_affiliation:
        parts.append(t(vocab.AFFILIATION_LABELS[c.perpetrator_affiliation]))
    if c.unit_named:
        parts.append(c.unit_named)
    if c.perpetrator_count:
        parts.append(str(c.perpetrator_count))
    parts.append(survivor_text(request, c))
    parts.append(t(vocab.CONTEXT_LABELS[c.context]))
    return " · ".join(parts)


def survivor_text(request: web.Request, c: inc.IncidentCoding) -> str:
    """"Female, 12-17": the list separator is the language's own (Arabic writes "،")."""
    return _t(request, N_("%(sex)s, %(age)s"), sex=_t(request, vocab.SEX_LABELS[c.survivor_sex]),
              age=_t(request, vocab.AGE_GROUP_LABELS[c.survivor_age_group]))


def coding_dates(request: web.Request, c: inc.IncidentCoding) -> str:
    """"2 March 2024 – April 2024", each date as precise as it is known, in the page's
    language ("" if undated)."""
    lang = lang_of(request)
    return " – ".join(describe(p, lang) for p in (c.period_from, c.period_to) if p)


def provision_text(request: web.Request, c: inc.IncidentCoding) -> str:
    """The provision the coding implies, said in words, or that there is none yet."""
    article = c.provision()
    if not article:
        return _t(request, N_("No provision: the context is not known."))
    return f"{article} ({_t(request, PROVISION_NAMES[article])})"


def region_names(request: web.Request, ctx: NodeContext) -> dict[str, str]:
    """Each region's name in the page's language (the node's configuration names them)."""
    lang = lang_of(request)
    return {r.code: r.label(lang) for r in ctx.config.regions}


def _when(ts: int) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M")


def incident_rows(request: web.Request, ctx: NodeContext, found: list[CaseIncident],
                  who: Callable[[str], str]) -> list[dict[str, Any]]:
    """The case page's incidents: each coding, what it implies, the other cases it is
    linked to (by case number), and its history."""
    names = region_names(request, ctx)
    history_actions = {"edited": N_("edited"), "withdrawn": N_("withdrawn")}
    return [{
        "id": i.id, "withdrawn": i.withdrawn,
        "category": _t(request, vocab.CATEGORY_LABELS[i.coding.category]),
        "provision": provision_text(request, i.coding),
        "summary": coding_summary(request, i.coding, names),
        "others": [number_of(r) for r in i.other_reports],
        "history": [{"when": _when(h.at), "who": who(h.actor),
                     "action": _t(request, history_actions.get(h.action, h.action)),
                     "category": _t(request, vocab.CATEGORY_LABELS[h.coding.category]),
                     "summary": coding_summary(request, h.coding, names)}
                    for h in i.history]} for i in found]


def candidate_rows(request: web.Request, ctx: NodeContext, found: list[Candidate]
                   ) -> list[tuple[str, str]]:
    """What a coordinator picks from to link an incident: the case number it is coded on,
    its category and summary -- never a hex id."""
    names = region_names(request, ctx)
    return [(f"{c.incident_id}:{c.report_id}",
             f"{number_of(c.report_id)} — {_t(request, vocab.CATEGORY_LABELS[c.coding.category])}"
             f" — {coding_summary(request, c.coding, names)}") for c in found]


# ------------------------------------------------------------------ the form

def _choices(request: web.Request, ctx: NodeContext) -> dict[str, list[tuple[str, str]]]:
    t = partial(_t, request)
    return {
        "category": [(c, t(vocab.CATEGORY_LABELS[c])) for c in vocab.CATEGORIES],
        "region": [*region_names(request, ctx).items(),
                   (inc.NOT_KNOWN_CHOICE, t(vocab.NOT_KNOWN))],
        "perpetrator_affiliation": [(a, t(vocab.AFFILIATION_LABELS[a]))
                                    for a in vocab.AFFILIATIONS],
        "survivor_sex": [(c, t(vocab.SEX_LABELS[c])) for c in vocab.SEXES],
        "survivor_age_group": [(c, t(vocab.AGE_GROUP_LABELS[c])) for c in vocab.AGE_GROUPS],
        "context": [(c, t(vocab.CONTEXT_LABELS[c])) for c in vocab.CONTEXTS],
    }


def _suggestions(ctx: NodeContext, staff: UnlockedStaff, report_id: str) -> dict[str, str]:
    """What the reporter said that a coder may confirm: region and affiliation codes."""
    key = ctx.case_access.open_case(staff, Action.CODE_INCIDENT, report_id)
    record = ctx.intake.view_with_key(report_id, key).record
    out = {}
    region = record.get("region")
    if region and ctx.config.region(str(region)) is not None:
        out["region"] = str(region)
    affiliation = record.get("perpetrator_affiliation")
    if affiliation in vocab.AFFILIATIONS:
        out["perpetrator_affiliation"] = str(affiliation)
    return out


def _values(form: Mapping[str, Any]) -> dict[str, str]:
    return {k: str(form.get(k) or "")[:200] for k in inc.FIELDS}


async def form_page(request: web.Request, values: dict[str, str], incident_id: str,
                     problem: errors.NodeError | None = None) -> web.Response:
    ctx = node(request)
    session = session_of(request)
    report_id = request.match_info["report_id"]
    suggested = await run_sync(ctx, _suggestions, ctx, session.staff, report_id)
    field_errors: dict[str, str] = {}
    if isinstance(problem, inc.ChoicesMissing):
        field_errors = {f: _t(request, CHOOSE) for f in problem.fields}
    elif problem is not None and problem.field:
        field_errors = {problem.field: error_text(request, problem)}
    choices = _choices(request, ctx)
    return page(request, "staff/coding.html", session,
                status=status_of(problem) if problem else 200, id=report_id,
                number=number_of(report_id), incident_id=incident_id, values=values,
                choices=choices, field_errors=field_errors,
                suggested={k: dict(choices[k]).get(v, v) for k, v in suggested.items()},
                suggested_codes=suggested,
                errors=[error_text(request, problem)] if problem else [],
                error_links=[(f"c_{name}", _t(request, LABELS[name]), message)
                             for name, message in field_errors.items() if name in LABELS])


async def new_coding(request: web.Request) -> web.StreamResponse:
    return await form_page(request, dict.fromkeys(inc.FIELDS, ""), "")


async def edit_coding(request: web.Request) -> web.StreamResponse:
    ctx = node(request)
    incident_id = request.match_info["incident_id"]
    coding = await run_sync(ctx, ctx.incidents.editable, session_of(request).staff,
                            request.match_info["report_id"], incident_id)
    return await form_page(request, inc.choices_of(coding), incident_id)


def _parsed(request: web.Request, ctx: NodeContext, values: dict[str, str]
            ) -> inc.IncidentCoding:
    coding = inc.coding_from_choices(values, lang_of(request))
    if coding.region is not None and ctx.config.region(coding.region) is None:
        raise errors.UnknownChoice(field="region")
    return coding


async def review(request: web.Request) -> web.StreamResponse:
    """Check the answers; show what they imply, or the form again with what is missing."""
    ctx = node(request)
    form = await checked_form(request)
    values = _values(form)
    incident_id = str(form.get("incident_id") or "")[:64]
    if form.get("change"):
        return await form_page(request, values, incident_id)
    try:
        coding = _parsed(request, ctx, values)
    except errors.InvalidInput as exc:
        return await form_page(request, values, incident_id, exc)
    return await _review_page(request, values, incident_id, coding)


async def _review_page(request: web.Request, values: dict[str, str], incident_id: str,
                       coding: inc.IncidentCoding) -> web.Response:
    ctx = node(request)
    session = session_of(request)
    report_id = request.match_info["report_id"]
    # the route guard checked the role; the case itself is checked here, before anything
    # about it is shown
    await run_sync(ctx, ctx.case_access.require, session.staff, Action.CODE_INCIDENT,
                   report_id)
    choices = _choices(request, ctx)
    labels = {k: v for k, v in LABELS.items() if k not in inc.APPROX_OF.values()}
    lang = lang_of(request)
    periods = {"date_from": coding.period_from, "date_to": coding.period_to}
    shown = {**values, **{k: describe(p, lang) for k, p in periods.items() if p}}
    answers = [(_t(request, label),
                dict(choices[k]).get(values[k], values[k]) if k in choices
                else shown[k] or _t(request, vocab.NOT_KNOWN)) for k, label in labels.items()]
    return page(request, "staff/coding_review.html", session, id=report_id,
                number=number_of(report_id), incident_id=incident_id, values=values,
                answers=answers, provision=provision_text(request, coding),
                category=_t(request, vocab.CATEGORY_LABELS[coding.category]))


async def save(request: web.Request) -> web.StreamResponse:
    """Store a reviewed coding. A form that did not come from the review page is reviewed
    first: nothing is saved that the coder has not seen with its provision."""
    ctx = node(request)
    form = await checked_form(request)
    session = session_of(request)
    report_id = request.match_info["report_id"]
    values = _values(form)
    incident_id = str(form.get("incident_id") or "")[:64]
    try:
        coding = _parsed(request, ctx, values)
    except errors.InvalidInput as exc:
        return await form_page(request, values, incident_id, exc)
    if form.get("reviewed") != "yes":
        return await _review_page(request, values, incident_id, coding)
    try:
        await run_sync(ctx, ctx.incidents.code, session.staff, report_id, coding,
                       incident_id or None)
    except errors.InvalidInput as exc:
        return await form_page(request, values, incident_id, exc)
    session.flash = _t(request, N_("The coding was saved.") if not incident_id
                       else N_("The coding was changed. The earlier version is kept in its "
                               "history."))
    session.cache[NOTICE_SECTION] = "incidents"
    raise see_other(f"{STAFF_PATH}/cases/{report_id}#incidents")


_CASE = "/cases/{report_id}"
ROUTES: list[StaffRoute] = [
    StaffRoute("GET", _CASE + "/incidents/new", new_coding, "staff_case_code_form",
               Action.CODE_INCIDENT),
    StaffRoute("GET", _CASE + "/incidents/{incident_id}/edit", edit_coding,
               "staff_case_code_edit", Action.CODE_INCIDENT),
    StaffRoute("POST", _CASE + "/incidents/review", review, "staff_case_code_review",
               Action.CODE_INCIDENT),
    StaffRoute("POST", _CASE + "/incidents", save, "staff_case_code", Action.CODE_INCIDENT),
]
