"""Case work pages: a case and its actions, incident codings, the chain of custody (the
queue, lists and search are in `case_lists`). Thin handlers over the back office's services
(`node.backoffice`: `CaseReader`, `CaseAccess`, `CaseTimeline`, `Conversations`,
`Referrals`, `CaseIncidents`, `Retention`, `Deletion`, `Custody`, and
`codings.open_codings`), which enforce access a second time; every case action is
audited."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from datetime import UTC, date, datetime
from functools import partial
from typing import Any

from aiohttp import web

from node import errors
from node.accounts import UnlockedStaff
from node.backoffice import audit as audit_log
from node.backoffice import inbox
from node.backoffice.access import Action, allowed
from node.backoffice.case_numbers import number_of
from node.backoffice.codings import open_codings
from node.backoffice.deletion import REASONS, STAFF_REASONS
from node.backoffice.incident_dates import Period, describe
from node.backoffice.ledger import STATUSES
from node.channels.sms_sender import NOTICES
from node.context import NodeContext, run_sync
from node.i18n import N_
from node.intake.models import CONSENT_NAMES
from node.web import labels
from node.web.appkeys import node
from node.web.failures import error_text, status_of
from node.web.formatting import format_day, format_size
from node.web.language import lang_of
from node.web.rendering import translate
from node.web.responses import see_other
from node.web.staff import coding, suggestions
from node.web.staff import inbox as inbox_pages
from node.web.staff.common import (
    NOTICE_SECTION,
    STAFF_PATH,
    Handler,
    StaffRoute,
    checked_form,
    page,
    session_of,
)
from node.web.staff.custody_actions import (
    ACTION_LABELS,
    ACTOR_LABELS,
    OBJECT_LABELS,
    detail_text,
)
from protocol import vocabulary as vocab
from runtime.catalogues import native_name

PAGE_SIZE = 50


def _t(request: web.Request, message: str, **kw: object) -> str:
    return translate(request, message, **kw)


def _when(ts: int) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M")


def _consent(request: web.Request, consent: Any,
             t: Callable[[str], str] | None = None) -> str:
    label = t or partial(_t, request)
    return ", ".join(label(labels.CONSENTS[n]) for n in CONSENT_NAMES if getattr(consent, n))


async def index(request: web.Request) -> web.StreamResponse:
    roles = session_of(request).staff.member.roles
    for role, target in (("coordinator", "queue"), ("caseworker", "cases"),
                         ("analyst", "codings"), ("admin", "accounts")):
        if role in roles:
            raise see_other(f"{STAFF_PATH}/{target}")
    raise see_other(f"{STAFF_PATH}/account")


def _case_fields(request: web.Request, r: dict[str, Any], region_label: str,
                 contact_withdrawn: bool = False) -> list[tuple[str, str]]:
    def t(message: str) -> str:
        return _t(request, message)

    contact = r.get("contact") or {}
    fields = [
        (t("Who is making this report?"),
         t(labels.ROLES[r["reporter_role"]]) if r.get("reporter_role") else ""),
        (t("What happened?"), r.get("narrative") or ""),
        (t("When did it happen?"), " · ".join(str(x) for x in (
            _reported_day(r, lang_of(request)), r.get("incident_when") or "") if x)),
        (t("Where did it happen?"), " · ".join(x for x in (region_label, r.get("place") or "")
                                               if x)),
        (t("Who did it?"), " · ".join(str(x) for x in (
            t(labels.AFFILIATIONS[r["perpetrator_affiliation"]])
            if r.get("perpetrator_affiliation") else "", r.get("perpetrators") or "") if x)),
        (t("How many people were harmed? (optional)"), str(r.get("people_harmed") or "")),
        (t("What help do you need?"), ", ".join(t(labels.NEEDS[n]) for n in r.get("needs", []))),
        # hidden once the reporter withdrew their consent to be contacted (issue 15)
        *([] if contact_withdrawn else [
            (t("How?"),
             t(labels.CONTACT_METHODS[contact["method"]]) if contact.get("method") else ""),
            (t("Number, address or name in the app"), contact.get("details") or ""),
            (t("When is it safe to contact you?"), contact.get("safe_times") or ""),
            (t("What should we be careful about?"), contact.get("precautions") or "")]),
        (t(labels.LANGUAGE), native_name(r["language"]) if r.get("language") else ""),
        (t(labels.CHANNEL), t(labels.CHANNELS[r["channel"]])
         if r.get("channel") in labels.CHANNELS else r.get("channel", "")),
    ]
    return [(label, value) for label, value in fields if value]


# the case page's form fields an error can be about: (route, field) -> (input id, label), for
# the error summary's links (`staff/_errors.html`)
FORM_FIELDS = {
    ("staff_case_task", "text"): ("task", N_("New task")),
    ("staff_case_task", "due"): ("due", N_("Due date")),
    ("staff_case_note", "text"): ("note", N_("New note")),
    ("staff_case_message", "text"): ("message", N_("Message to the reporter")),
    ("staff_case_refer", "service"): ("service", N_("Service")),
    ("staff_case_refer", "text"): ("shared", N_("What you share with the service "
                                                "(only what is needed)")),
    ("staff_case_retention", "retention_days"): ("days", N_(
        "Delete after this many days without activity (empty: keep)")),
}


def _long_day(iso: str | None, lang: str) -> str | None:
    """A stored day (ISO 8601) as the page's language writes it."""
    return describe(Period(date.fromisoformat(iso), "day"), lang) if iso else None


def _reported_day(r: dict[str, Any], lang: str) -> str:
    """The day, month or year the reporter gave, as the page's language writes it."""
    year, month, day = (r.get(k) for k in ("incident_year", "incident_month", "incident_day"))
    if not year:
        return ""
    day = day if month else None
    try:
        period = Period(date(int(str(year)), int(str(month or 1)), int(str(day or 1))),
                        "day" if day else "month" if month else "year")
    except ValueError:
        return "-".join(str(x) for x in (year, month, day) if x)
    return describe(period, lang)


async def case_page(request: web.Request, *, problems: list[errors.NodeError] | None = None,
                    status: int = 200, typed: Any = None) -> web.StreamResponse:
    """The case. After a refused action, `typed` is the form that was posted: the form it
    came from shows it again, with the field in error marked (`_forms.html`)."""
    ctx = node(request)
    session = session_of(request)
    staff = session.staff
    report_id = request.match_info["report_id"]
    # what the page is about to show, read first: a reply arriving meanwhile stays unread
    seen = await run_sync(ctx, _latest, ctx, report_id)
    case = await run_sync(ctx, ctx.cases.read, staff, report_id)
    route = request.match_info.route.name
    v = case.report
    changes = {c.name: c for c in await run_sync(ctx, _consent_changes, ctx, report_id)}
    # each consent the reporter withdrew (and has not given again): the day, else ""
    withdrawn = {name: format_day(request, changes[name].at_hour) if name in changes
                 and not changes[name].given and not getattr(v.consent, name) else ""
                 for name in CONSENT_NAMES}
    r = v.record
    region = ctx.config.region(r["region"]) if r.get("region") else None

    def who(actor: str) -> str:
        return _who(request, actor, case.usernames)

    assigned = await run_sync(ctx, ctx.case_access.is_assigned, staff.member.id, report_id)
    member = staff.member

    def can(action: Action) -> bool:
        return allowed(member, action, assigned=assigned)

    items = []
    for it in v.items:
        entry: dict[str, Any] = {"id": it.id, "kind": it.kind,
                                 "when": format_day(request, it.received_hour)}
        if it.kind == "attachment":
            entry |= {"filename": it.meta.get("filename"), "mime": it.meta.get("mime"),
                      "size": format_size(request, int(it.meta.get("size", 0))),
                      "sha256": it.meta.get("sha256")}
        else:
            entry["text"] = it.meta.get("text", "")
        items.append(entry)
    caseworkers = await run_sync(ctx, ctx.case_access.caseworkers)
    rotation_due = await run_sync(ctx, ctx.case_access.rotation_due, report_id)
    candidates = await run_sync(ctx, ctx.incidents.linkable, staff, report_id,
                                {i.id for i in case.incidents})
    notice, session.flash = session.flash, None
    notice_section = session.cache.pop(NOTICE_SECTION, None) if notice else None
    await run_sync(ctx, inbox.mark_seen, ctx.db, member.id, report_id, seen,
                   int(ctx.clock().timestamp()))
    await inbox_pages.recount(request, staff)
    return page(
        request, "staff/case.html", session, status=status, id=v.id,
        number=number_of(v.id),
        received=format_day(request, v.received_hour), urgency=case.urgency,
        synthetic=v.synthetic, fields=_case_fields(request, r, f"{region.name} ({region.code})"
                                                   if region else "", bool(withdrawn["contact"])),
        consent=_consent(request, v.consent), items=items, status_code=v.status,
        withdrawn=withdrawn, consent_changes=[
            (_t(request, labels.CONSENTS[c.name]), c.given, format_day(request, c.at_hour))
            for c in changes.values()],
        status_text=_t(request, labels.STATUS_FOR_STAFF[v.status]),
        statuses=[(s, _t(request, labels.STATUS_FOR_STAFF[s])) for s in STATUSES],
        history=[(_when(at), who(actor), _t(request, labels.STATUS_FOR_STAFF.get(st, st)))
                 for at, actor, st in case.statuses],
        assignees=case.assignees, caseworkers=caseworkers, rotation_due=rotation_due,
        messages=[{"who": who(m.actor), "when": _when(m.at), "text": m.body["text"]}
                  for m in case.messages],
        notes=[{"who": who(n.actor), "when": _when(n.at), "text": n.body["text"]}
               for n in case.notes],
        tasks=[{"id": t.id, "text": t.body["text"],
                "due": _long_day(t.extra.get("due_day"), lang_of(request)),
                "done": t.extra.get("done_at") is not None} for t in case.tasks],
        referrals=[{"id": f.id, "service": f.body.get("service_name"), "when": _when(f.at),
                    "who": who(f.actor), "shared": f.body.get("shared"),
                    "outcome": f.body.get("outcome")} for f in case.referrals],
        consent_referral=v.consent.referral, services=ctx.config.services,
        incidents=coding.incident_rows(request, ctx, case.incidents, who),
        linkable=coding.candidate_rows(request, ctx, candidates),
        deletion_due=_long_day(case.deletion_due.isoformat() if case.deletion_due else None,
                               lang_of(request)),
        retention_days=case.retention_days, notice=notice, notice_section=notice_section,
        deletion_reasons=[(code, _t(request, REASONS[code])) for code in STAFF_REASONS],
        errors=[error_text(request, p) for p in problems or []],
        acted=request.match_info.route.name if typed is not None else "",
        typed={k: str(v) for k, v in (typed or {}).items() if k != "csrf"},
        field_errors={p.field: error_text(request, p) for p in problems or [] if p.field},
        error_links=[(field[0], _t(request, field[1]), error_text(request, p))
                     for p in problems or []
                     if (field := FORM_FIELDS.get((route or "", p.field or "")))],
        can={"status": can(Action.CHANGE_STATUS), "assign": can(Action.ASSIGN),
             "message": can(Action.MESSAGE_REPORTER), "note": can(Action.WRITE_NOTE),
             "tasks": can(Action.MANAGE_TASKS), "refer": can(Action.REFER),
             "code": can(Action.CODE_INCIDENT), "retention": can(Action.SET_RETENTION),
             "delete": can(Action.DELETE_CASE), "export": can(Action.EXPORT_CASE),
             "share": can(Action.SHARE_WITH_EXPERTS)},
        consent_legal=v.consent.legal,
        suggestions=await suggestions.panel(request, ctx, staff, report_id, assigned))


def _latest(ctx: NodeContext, report_id: str) -> inbox.Seen:
    return inbox.latest(ctx.db.read(), report_id)


def _consent_changes(ctx: NodeContext, report_id: str) -> list[inbox.ConsentChange]:
    return inbox.consent_changes(ctx.db.read(), report_id)


def _who(request: web.Request, actor: str, usernames: dict[str, str]) -> str:
    """An actor as staff see it: a username, or who else acted (the reporter, the node
    itself, the CLI, recovery) in the page's language."""
    if actor in usernames:
        return usernames[actor]
    label = ACTOR_LABELS.get(actor)
    return _t(request, label) if label else actor


async def view_case(request: web.Request) -> web.StreamResponse:
    return await case_page(request)


async def attachment(request: web.Request) -> web.StreamResponse:
    ctx = node(request)
    meta, body = await run_sync(ctx, ctx.cases.open_attachment, session_of(request).staff,
                                request.match_info["report_id"], request.match_info["item_id"])
    from urllib.parse import quote

    mime = str(meta.get("mime", ""))
    if request.query.get("listen") and mime.startswith("audio/"):
        # A recording heard in the page (issue 20), not saved to the staff's disk. Its type
        # was sniffed from its content when received; still sandboxed, never sniffed.
        return web.Response(body=body, content_type=mime, headers={
            "Content-Security-Policy": "sandbox; default-src 'none'"})
    return web.Response(
        body=body, content_type="application/octet-stream",
        headers={"Content-Disposition": "attachment; filename*=UTF-8''"
                 + quote(str(meta.get("filename", "file")), safe=""),
                 "Content-Security-Policy": "sandbox; default-src 'none'",
                 "X-Original-Type": str(meta.get("mime", ""))})


Form = Any
Call = Callable[[NodeContext, UnlockedStaff, str], object]


def _status(rq: web.Request, f: Form) -> Call:
    return lambda ctx, st, rid: ctx.timeline.set_status(st, rid, str(f.get("status")))


def _assign(rq: web.Request, f: Form) -> Call:
    return lambda ctx, st, rid: ctx.case_access.assign(st, rid, str(f.get("staff_id")))


def _unassign(rq: web.Request, f: Form) -> Call:
    return lambda ctx, st, rid: ctx.case_access.unassign(st, rid, str(f.get("staff_id")))


def _rotate_key(rq: web.Request, f: Form) -> Call:
    return lambda ctx, st, rid: ctx.case_access.rotate_key(st, rid)


def _note(rq: web.Request, f: Form) -> Call:
    return lambda ctx, st, rid: ctx.timeline.add_note(st, rid, str(f.get("text", "")))


def _task(rq: web.Request, f: Form) -> Call:
    due = _parse_day(f.get("due"), "due")
    return lambda ctx, st, rid: ctx.timeline.add_task(st, rid, str(f.get("text", "")), due)


def _task_done(rq: web.Request, f: Form) -> Call:
    return lambda ctx, st, rid: ctx.timeline.complete_task(st, rid, rq.match_info["task_id"])


def _message(rq: web.Request, f: Form) -> Call:
    notices = rq.config_dict.get(NOTICES)  # issue 19: a harmless SMS, if opted in

    def send(ctx: NodeContext, st: UnlockedStaff, rid: str) -> object:
        sent = ctx.conversations.send(st, rid, str(f.get("text", "")))
        if notices is not None:
            notices.after_staff_message(ctx, st, rid)
        return sent
    return send


def _refer(rq: web.Request, f: Form) -> Call:
    return lambda ctx, st, rid: ctx.referrals.refer(st, rid, str(f.get("service_id", "")),
                                                    str(f.get("shared", "")))


def _outcome(rq: web.Request, f: Form) -> Call:
    return lambda ctx, st, rid: ctx.referrals.record_outcome(
        st, rid, rq.match_info["referral_id"], str(f.get("outcome", "")))


def _link(rq: web.Request, f: Form) -> Call:
    incident_id, _, other = str(f.get("link", "")).partition(":")
    return lambda ctx, st, rid: ctx.incidents.link(st, rid, incident_id, other)


def _unlink(rq: web.Request, f: Form) -> Call:
    incident_id = rq.match_info["incident_id"]
    return lambda ctx, st, rid: ctx.incidents.unlink(st, rid, incident_id)


def _withdraw(rq: web.Request, f: Form) -> Call:
    if f.get("confirm") != "yes":
        raise WithdrawalNotConfirmed(field="confirm")
    incident_id = rq.match_info["incident_id"]
    return lambda ctx, st, rid: ctx.incidents.withdraw(st, rid, incident_id)


class WithdrawalNotConfirmed(errors.InvalidInput):
    message = N_("Tick the box to confirm that this coding must be withdrawn.")


def _retention(rq: web.Request, f: Form) -> Call:
    text = str(f.get("days") or "").strip()
    if text and not text.isdecimal():  # any script's digits ("٣"), never "²"
        raise errors.InvalidInput(field="retention_days")
    days = int(text) if text else None
    return lambda ctx, st, rid: ctx.retention.set(st, rid, days)


def _delete(rq: web.Request, f: Form) -> Call:
    if f.get("confirm") != "yes":
        raise DeletionNotConfirmed()
    reason = str(f.get("reason") or "")
    note = str(f.get("note") or "")
    return lambda ctx, st, rid: ctx.deletion.by_staff(st, rid, reason, note)


class DeletionNotConfirmed(errors.InvalidInput):
    message = N_("Tick the box to confirm that the case must be destroyed for good.")


# The section of the case page each action returns to (its id in case.html), so that the
# person lands where they acted, with the notice there (issue 15, "Case page").
SECTIONS: dict[Callable[[web.Request, Form], Call], str] = {
    _status: "status", _assign: "assigned", _unassign: "assigned", _rotate_key: "assigned",
    _note: "notes",
    _task: "tasks", _task_done: "tasks", _message: "conversation", _refer: "referrals",
    _outcome: "referrals", _link: "incidents", _unlink: "incidents", _withdraw: "incidents",
    _retention: "retention"}


def _action(parse: Callable[[web.Request, Form], Call], flash: str,
            then: str = "case") -> Handler:
    """A POST handler: CSRF check, parse the form, one service call (which checks access
    again and audits), back to the section of the case acted on (`SECTIONS`), with a
    notice there -- or to "my work" when the form came from it. An invalid or refused
    action re-renders the case with the error; nothing typed elsewhere is lost."""
    section = SECTIONS.get(parse)

    async def handler(request: web.Request) -> web.StreamResponse:
        ctx = node(request)
        form = await checked_form(request)
        session = session_of(request)
        report_id = request.match_info["report_id"]
        try:
            call = parse(request, form)
            await run_sync(ctx, call, ctx, session.staff, report_id)
        except errors.NodeError as exc:
            if isinstance(exc, errors.Forbidden | errors.ReportGone | errors.NotFound):
                raise
            return await case_page(request, problems=[exc], status=status_of(exc), typed=form)
        session.flash = _t(request, flash)
        if then == "list":
            raise see_other(f"{STAFF_PATH}/cases")
        if form.get("back") == "inbox":  # a fixed target, never a URL from the form
            raise see_other(f"{STAFF_PATH}/inbox")
        if section is not None:
            session.cache[NOTICE_SECTION] = section
            raise see_other(f"{STAFF_PATH}/cases/{report_id}#{section}")
        raise see_other(f"{STAFF_PATH}/cases/{report_id}{then if then != 'case' else ''}")

    return handler


def _parse_day(value: object, field: str) -> date | None:
    text = str(value or "").strip()
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise errors.BadDate(field=field) from None


async def codings(request: web.Request) -> web.StreamResponse:
    ctx = node(request)
    session = session_of(request)
    found = await run_sync(ctx, open_codings, ctx.db, session.staff)
    names = coding.region_names(request, ctx)
    rows = [{
        "category": _t(request, vocab.CATEGORY_LABELS[r.coding.category]),
        "provision": r.coding.provision(),
        "dates": coding.coding_dates(request, r.coding),
        "region": names.get(r.coding.region, r.coding.region) if r.coding.region
        else _t(request, vocab.NOT_KNOWN),
        "perpetrators": " · ".join(x for x in (
            _t(request, vocab.AFFILIATION_LABELS[r.coding.perpetrator_affiliation])
            if r.coding.perpetrator_affiliation else "",
            # the unit named is free text, often the reporter's words: never for analysts
            r.coding.unit_named or "" if session.staff.has_role("coordinator") else "",
            str(r.coding.perpetrator_count or "")) if x),
        "survivor": coding.survivor_text(request, r.coding),
        "context": _t(request, vocab.CONTEXT_LABELS[r.coding.context]),
        "reports": len(r.report_ids)} for r in found]
    return page(request, "staff/codings.html", session, rows=rows)


async def custody(request: web.Request) -> web.StreamResponse:
    ctx = node(request)
    session = session_of(request)
    report_id = request.match_info["report_id"]
    view = await run_sync(ctx, ctx.custody.of_case, session.staff, report_id)
    entries, verdict = view.entries, view.verdict
    rows = [_entry_row(request, e, view.usernames) for e in entries]
    if request.path.endswith(".csv"):
        buf = io.StringIO()
        writer = csv.writer(buf)
        writer.writerow(["seq", "time_utc", "actor", "action", "detail", "entry_sha256",
                         "previous_sha256", "chain_verifies"])
        for e, row in zip(entries, rows, strict=True):
            writer.writerow([e.seq, row["when"], row["who"], e.action, e.detail, e.hash.hex(),
                             e.prev_hash.hex(), "yes" if verdict.ok else "NO"])
        return web.Response(text=buf.getvalue(), content_type="text/csv", headers={
            "Content-Disposition": f'attachment; filename="custody-{report_id}.csv"'})
    return page(request, "staff/custody.html", session, report_id=report_id,
                number=number_of(report_id), entries=rows,
                verdict=verdict)


def _entry_row(request: web.Request, e: audit_log.Entry, usernames: dict[str, str]
               ) -> dict[str, Any]:
    label = ACTION_LABELS.get(e.action)
    actor = ACTOR_LABELS.get(e.actor)
    return {"seq": e.seq, "when": _when(e.at),
            "who": usernames.get(e.actor) or (_t(request, actor) if actor else e.actor),
            "action": _t(request, label) if label else e.action, "code": e.action,
            "detail": detail_text(partial(_t, request), e.action, e.detail, usernames,
                                  {s.id: s.name for s in node(request).config.services}),
            "object": _t(request, N_("Case %(number)s"), number=number_of(e.object_id))
            if e.object_type == "report" else _t(request, OBJECT_LABELS[e.object_type],
                                                 id=usernames.get(e.object_id, e.object_id[:12]))
            if e.object_type in OBJECT_LABELS else f"{e.object_type} {e.object_id}",
            "hash": e.hash.hex()[:16]}


async def audit_page(request: web.Request) -> web.StreamResponse:
    ctx = node(request)
    session = session_of(request)
    view = await run_sync(ctx, ctx.custody.recent, session.staff)
    return page(request, "staff/audit.html", session, verdict=view.verdict,
                entries=[_entry_row(request, e, view.usernames) for e in view.entries])


_CASE = "/cases/{report_id}"
ROUTES: list[StaffRoute] = [
    StaffRoute("GET", "/", index, "staff_index", Action.OWN_ACCOUNT),
    StaffRoute("GET", "/codings", codings, "staff_codings", Action.VIEW_CODINGS),
    StaffRoute("GET", "/audit", audit_page, "staff_audit", Action.VERIFY_AUDIT),
    StaffRoute("GET", _CASE, view_case, "staff_case", Action.READ_CASE),
    StaffRoute("GET", _CASE + "/files/{item_id}", attachment, "staff_attachment",
               Action.READ_CASE),
    StaffRoute("GET", _CASE + "/custody", custody, "staff_custody", Action.VIEW_CUSTODY),
    StaffRoute("GET", _CASE + "/custody.csv", custody, "staff_custody_csv", Action.VIEW_CUSTODY),
    StaffRoute("POST", _CASE + "/status", _action(_status, N_("The status was changed.")),
               "staff_case_status", Action.CHANGE_STATUS),
    StaffRoute("POST", _CASE + "/assign", _action(_assign, N_("The case was assigned.")),
               "staff_case_assign", Action.ASSIGN),
    StaffRoute("POST", _CASE + "/unassign",
               _action(_unassign, N_("The assignment was removed.")),
               "staff_case_unassign", Action.ASSIGN),
    # issue 13: offered after unassigning, until done (`CaseAccess.rotation_due`)
    StaffRoute("POST", _CASE + "/rotate-key",
               _action(_rotate_key, N_("The case key was replaced. A copy that someone "
                                       "removed from the case may have kept opens nothing "
                                       "written from now on.")),
               "staff_case_rotate_key", Action.ASSIGN),
    StaffRoute("POST", _CASE + "/notes", _action(_note, N_("The note was added.")),
               "staff_case_note", Action.WRITE_NOTE),
    StaffRoute("POST", _CASE + "/tasks", _action(_task, N_("The task was added.")),
               "staff_case_task", Action.MANAGE_TASKS),
    StaffRoute("POST", _CASE + "/tasks/{task_id}/done",
               _action(_task_done, N_("The task is done.")), "staff_case_task_done",
               Action.MANAGE_TASKS),
    StaffRoute("POST", _CASE + "/messages",
               _action(_message, N_("The message was sent. The reporter sees it with "
                                    "their receipt.")),
               "staff_case_message", Action.MESSAGE_REPORTER),
    StaffRoute("POST", _CASE + "/referrals", _action(_refer, N_("The referral was recorded.")),
               "staff_case_refer", Action.REFER),
    StaffRoute("POST", _CASE + "/referrals/{referral_id}/outcome",
               _action(_outcome, N_("The outcome was recorded.")), "staff_case_outcome",
               Action.REFER),
    StaffRoute("POST", _CASE + "/incidents/link",
               _action(_link, N_("The incident was linked."), then="#incidents"),
               "staff_case_link", Action.CODE_INCIDENT),
    StaffRoute("POST", _CASE + "/incidents/{incident_id}/unlink",
               _action(_unlink, N_("The link to the incident was removed."),
                       then="#incidents"),
               "staff_case_unlink", Action.CODE_INCIDENT),
    StaffRoute("POST", _CASE + "/incidents/{incident_id}/withdraw",
               _action(_withdraw, N_("The coding was withdrawn. Statistics no longer count "
                                     "it; its history is kept."), then="#incidents"),
               "staff_case_code_withdraw", Action.CODE_INCIDENT),
    StaffRoute("POST", _CASE + "/retention",
               _action(_retention, N_("The retention period was saved.")),
               "staff_case_retention", Action.SET_RETENTION),
    StaffRoute("POST", _CASE + "/delete",
               _action(_delete, N_("The case was deleted."), then="list"),
               "staff_case_delete", Action.DELETE_CASE),
]
