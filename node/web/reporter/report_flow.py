"""The reporting form: one topic per screen, Back/Next, a summary before sending.

Answers live in the reporter's in-memory session (never in the browser's storage, never on
disk in clear) until "Send report". Works without JavaScript: every step is a plain form.
"""

from __future__ import annotations

import unicodedata
from typing import Any

from aiohttp import MultipartReader, web
from multidict import MultiDictProxy
from pydantic import ValidationError

from crypto.keys import DataKey
from node import errors
from node.context import run_sync
from node.i18n import N_
from node.intake.attachments import StagedFile
from node.intake.models import (
    CONSENT_NAMES,
    CONTACT_METHODS,
    COURT_SCOPE,
    COURT_SCOPE_LABELS,
    COURT_SCOPE_OFF_BY_DEFAULT,
    NEEDS,
    REPORTER_ROLES,
    SHARE_SCOPE,
    SHARE_SCOPE_LABELS,
    ReportInput,
)
from node.web import labels
from node.web.appkeys import node
from node.web.failures import error_text, status_of
from node.web.formatting import format_size
from node.web.language import require_lang
from node.web.ratelimit import rate_ok, refund
from node.web.rendering import render, translate
from node.web.reporter.sessions import (
    REPORTER_COOKIE,
    AfterSubmit,
    Draft,
    ReporterSession,
    form_token,
    reporter_session,
    start_reporter_session,
    upload_allowed,
)
from node.web.reporter.uploads import (
    UploadResult,
    first_field,
    next_field,
    read_text_part,
    receive_file,
)
from node.web.responses import see_other, set_session_cookie
from node.web.security import check_csrf
from protocol.vocabulary import AFFILIATIONS

STEPS = ("who", "what", "when", "where", "perpetrators", "help", "consent", "files", "review")
FieldErrors = dict[str, errors.NodeError]


# ------------------------------------------------------------------ parsing one step

def _text(form: MultiDictProxy[Any], name: str, limit: int, errs: FieldErrors) -> str | None:
    value = form.get(name, "")
    if not isinstance(value, str):
        return None
    value = value.replace("\r\n", "\n").strip()
    if len(value) > limit:
        errs[name] = errors.TextTooLong(field=name, limit=limit)
    return value or None


def _number(form: MultiDictProxy[Any], name: str, low: int, high: int,
            err: type[errors.NodeError], errs: FieldErrors) -> int | None:
    raw = form.get(name, "")
    if not isinstance(raw, str) or not raw.strip():
        return None
    digits = []
    for ch in raw.strip():
        d = unicodedata.digit(ch, None)  # accepts Arabic-Indic and other script digits
        if d is None:
            errs[name] = err(field=name)
            return None
        digits.append(str(d))
    value = int("".join(digits)[:9])
    if not low <= value <= high:
        errs[name] = err(field=name)
        return None
    return value


def _choice(form: MultiDictProxy[Any], name: str, options: tuple[str, ...],
            errs: FieldErrors) -> str | None:
    value = form.get(name, "")
    if not value:
        return None
    if value not in options:
        errs[name] = errors.UnknownChoice(field=name)
        return None
    return str(value)


def parse_step(request: web.Request, step: str, form: MultiDictProxy[Any]
               ) -> tuple[dict[str, Any], FieldErrors]:
    ctx = node(request)
    limit = ctx.config.limits.max_text_chars
    errs: FieldErrors = {}
    out: dict[str, Any] = {}
    if step == "who":
        out["reporter_role"] = _choice(form, "reporter_role", REPORTER_ROLES, errs)
    elif step == "what":
        out["narrative"] = _text(form, "narrative", limit, errs) or ""
    elif step == "when":
        out["incident_day"] = _number(form, "incident_day", 1, 31, errors.BadDate, errs)
        out["incident_month"] = _number(form, "incident_month", 1, 12, errors.BadDate, errs)
        out["incident_year"] = _number(form, "incident_year", 1950, 2100, errors.BadDate, errs)
        out["incident_when"] = _text(form, "incident_when", 1000, errs)
        if not errs:
            try:
                ctx.intake.check_date(ReportInput(**out))
            except errors.NodeError as exc:
                errs[exc.field or "incident_year"] = exc
    elif step == "where":
        codes = tuple(r.code for r in ctx.config.regions)
        out["region"] = _choice(form, "region", codes, errs)
        out["place"] = _text(form, "place", 1000, errs)
    elif step == "perpetrators":
        out["perpetrator_affiliation"] = _choice(form, "perpetrator_affiliation", AFFILIATIONS,
                                                 errs)
        out["perpetrators"] = _text(form, "perpetrators", 1000, errs)
        out["people_harmed"] = _number(form, "people_harmed", 1, 100_000, errors.InvalidInput,
                                       errs)
    elif step == "help":
        chosen = form.getall("needs", [])
        if any(n not in NEEDS for n in chosen):
            errs["needs"] = errors.UnknownChoice(field="needs")
        out["needs"] = [n for n in NEEDS if n in chosen]
    elif step == "consent":
        ticked = form.getall("consent", [])
        court = form.getall("court", [])
        share = form.getall("share", [])
        out["consent"] = {name: name in ticked for name in CONSENT_NAMES} | {
            name: name in court for name in COURT_SCOPE} | {
            name: name in share for name in SHARE_SCOPE} | {
            "share_scope_set": form.get("share_scope") == "asked"}
        contact = {
            "method": _choice(form, "contact_method", CONTACT_METHODS, errs),
            "details": _text(form, "contact_details", 1000, errs),
            "safe_times": _text(form, "contact_safe_times", 1000, errs),
            "precautions": _text(form, "contact_precautions", 1000, errs),
        }
        if any(contact.values()) and not out["consent"]["contact"]:
            errs["contact_details"] = ContactWithoutConsent(field="contact_details")
        out["contact"] = contact if any(contact.values()) else None
    return out, errs


class ContactWithoutConsent(errors.InvalidInput):
    message = N_("You gave contact details but did not tick “Contact me”. "
                        "Tick it so that we may use them, or clear the details.")


# ------------------------------------------------------------------ rendering a step

def _draft(session: ReporterSession, request: web.Request) -> Draft:
    if session.draft is None:
        ctx = node(request)
        session.draft = Draft(DataKey.generate(), ctx.intake.allowance())
    return session.draft


def _display_answers(answers: dict[str, Any]) -> dict[str, Any]:
    """Answers as the form fields show them (numbers as text)."""
    shown = dict(answers)
    for k in ("incident_day", "incident_month", "incident_year", "people_harmed"):
        if shown.get(k) is not None:
            shown[k] = str(shown[k])
    return shown


def render_step(request: web.Request, session: ReporterSession | None, step: str, *,
                answers: dict[str, Any] | None = None, field_errors: FieldErrors | None = None,
                page_errors: list[errors.NodeError] | None = None, status: int = 200
                ) -> web.Response:
    """One step of the form; without a session (a first visit) an empty one carrying a
    signed form token, so that a visit creates nothing on the node."""
    ctx = node(request)
    draft = session.draft if session is not None else None
    saved: dict[str, Any] = draft.answers if draft is not None else {}
    files = draft.files if draft is not None else []
    files_used = draft.allowance.files_used if draft is not None else 0
    lang = require_lang(request)
    field_errors = field_errors or {}
    extra: dict[str, Any] = {}
    if step == "when":
        from babel.dates import get_month_names

        names = get_month_names("wide", locale=lang)
        extra["months"] = [(str(m), names[m]) for m in range(1, 13)]
    elif step == "where":
        extra["regions"] = [(r.code, r.label(lang)) for r in ctx.config.regions]
    elif step == "files":
        extra["files"] = [{"item_id": f.item_id, "filename": f.filename,
                           "size_text": format_size(request, f.size)} for f in files]
        extra["can_add"] = files_used < ctx.config.limits.max_files
        extra["multipart"] = True
    elif step == "what":
        # issue 20: the narrative may be spoken; the recording is a staged file like any
        extra["recordings"] = [f.filename for f in files if f.category == "audio"]
        extra["can_record"] = files_used < ctx.config.limits.max_files
        extra["multipart"] = extra["can_record"]
    elif step == "review":
        extra["summary"] = _summary(request, saved, files)
    elif step == "consent":
        extra["court_labels"] = COURT_SCOPE_LABELS
        extra["share_labels"] = SHARE_SCOPE_LABELS
        extra["court_off"] = sorted(COURT_SCOPE_OFF_BY_DEFAULT)
    return render(
        request, f"public/report/{step}.html", status=status, step=step,
        step_no=STEPS.index(step) + 1, step_total=len(STEPS),
        csrf=session.csrf if session is not None else form_token(request),
        answers=_display_answers(answers if answers is not None else saved),
        reviewed=saved.get("_reviewed", False),
        field_errors={k: error_text(request, v) for k, v in field_errors.items()},
        # the summary lists page errors, then links each field error to its field
        errors=[error_text(request, e) for e in page_errors or []],
        multipart=extra.pop("multipart", False), **extra)


def _summary(request: web.Request, a: dict[str, Any], files: list[StagedFile]
             ) -> list[tuple[str, str, str]]:
    ctx = node(request)
    lang = require_lang(request)

    def t(msg: str, **kw: object) -> str:
        return translate(request, msg, **kw)

    none = t(labels.NOT_ANSWERED)
    region = ctx.config.region(a["region"]) if a.get("region") else None
    when = "-".join(str(a[k]) for k in ("incident_year", "incident_month", "incident_day")
                    if a.get(k))
    when = " · ".join(x for x in (when, a.get("incident_when") or "") if x)
    consent = a.get("consent") or {}
    granted = [t(labels.CONSENTS[n]) for n in CONSENT_NAMES if consent.get(n)]
    if consent.get("legal"):
        scope = [t(COURT_SCOPE_LABELS[n]) for n in COURT_SCOPE
                 if consent.get(n, n not in COURT_SCOPE_OFF_BY_DEFAULT)]
        granted.append(t(N_("a court may see: %(scope)s"),
                         scope=", ".join(scope) or t(N_("nothing"))))
    if consent.get("sharing"):
        shared = [t(SHARE_SCOPE_LABELS[n]) for n in SHARE_SCOPE if consent.get(n)]
        granted.append(t(N_("a vetted expert may see: %(scope)s"),
                         scope=", ".join(shared) or t(N_("nothing"))))
    narrative = a.get("narrative") or ""
    sounds = sum(1 for f in files if f.category == "audio")
    return [
        ("who", t("Who is making this report?"),
         t(labels.ROLES[a["reporter_role"]]) if a.get("reporter_role") else none),
        ("what", t("What happened?"), " · ".join(x for x in (
            narrative[:300] + ("…" if len(narrative) > 300 else ""),
            t(N_("Sound recordings: %(n)s"), n=sounds) if sounds else "") if x) or none),
        ("when", t("When did it happen?"), when or none),
        ("where", t("Where did it happen?"),
         " · ".join(x for x in (region.label(lang) if region else "", a.get("place") or "") if x)
         or none),
        ("perpetrators", t("Who did it?"),
         " · ".join(x for x in (
             t(labels.AFFILIATIONS[a["perpetrator_affiliation"]])
             if a.get("perpetrator_affiliation") else "",
             a.get("perpetrators") or "",
             t(N_("%(n)s people harmed"), n=a["people_harmed"]) if a.get("people_harmed") else "",
         ) if x) or none),
        ("help", t("What help do you need?"),
         ", ".join(t(labels.NEEDS[n]) for n in a.get("needs", [])) or none),
        ("consent", t("What may we do with your report?"),
         ", ".join(granted) or t(N_("Nothing yet: only kept safely"))),
        ("files", t("Files"), ", ".join(f.filename for f in files) or none),
    ]


# ------------------------------------------------------------------ handlers

async def step_get(request: web.Request) -> web.StreamResponse:
    require_lang(request)
    step = request.match_info["step"]
    if step not in STEPS:
        raise errors.NotFound()
    session = reporter_session(request)
    if step == "review" and session is not None:
        _draft(session, request).answers["_reviewed"] = True
    return render_step(request, session, step)


def _session_for(request: web.Request, token: object) -> tuple[ReporterSession, bool]:
    """(the reporter's session, whether this form started it). A form posted with no session
    starts one if it carries a valid signed form token."""
    session = reporter_session(request)
    if session is not None:
        check_csrf(session.csrf, token)
        return session, False
    return start_reporter_session(request, token), True


async def step_post(request: web.Request) -> web.StreamResponse:
    require_lang(request)
    step = request.match_info["step"]
    if step not in STEPS:
        raise errors.NotFound()
    if step == "what" and request.content_type == "multipart/form-data":
        reader = await request.multipart()
        try:
            first = await first_field(reader, "csrf")
        except errors.InvalidInput:
            raise errors.SessionExpired() from None
        session, created = _session_for(request, await first.text())
        work = _what_upload(request, session, reader)
    elif step == "files":
        if request.content_type == "multipart/form-data":
            reader = await request.multipart()
            try:
                first = await first_field(reader, "csrf")
            except errors.InvalidInput:
                raise errors.SessionExpired() from None
            session, created = _session_for(request, await first.text())
            work = _files_upload(request, session, reader)
        else:
            form = await request.post()
            session, created = _session_for(request, form.get("csrf"))
            work = _files_remove(request, session, form)
    else:
        form = await request.post()
        session, created = _session_for(request, form.get("csrf"))
        work = _step_post(request, session, step, form)
    try:
        response = await work
    except web.HTTPException as exc:
        if created:
            set_session_cookie(request, exc, REPORTER_COOKIE, session.id)
        raise
    if created:
        set_session_cookie(request, response, REPORTER_COOKIE, session.id)
    return response


async def _step_post(request: web.Request, session: ReporterSession, step: str,
                     form: MultiDictProxy[Any]) -> web.StreamResponse:
    lang = require_lang(request)
    if step == "review":
        if form.get("go") == "back":
            raise see_other(f"/{lang}/report/{STEPS[-2]}")
        return await _submit(request, session)
    draft = _draft(session, request)
    values, field_errors = parse_step(request, step, form)
    if field_errors:
        shown: dict[str, Any] = {k: v for k, v in form.items() if isinstance(v, str)}
        shown["needs"] = [v for v in form.getall("needs", []) if isinstance(v, str)]
        shown["consent"] = {n: n in form.getall("consent", []) for n in CONSENT_NAMES} | {
            n: n in form.getall("court", []) for n in COURT_SCOPE} | {
            n: n in form.getall("share", []) for n in SHARE_SCOPE}
        shown["contact"] = {"method": form.get("contact_method"),
                            "details": form.get("contact_details"),
                            "safe_times": form.get("contact_safe_times"),
                            "precautions": form.get("contact_precautions")}
        return render_step(request, session, step, answers=shown, field_errors=field_errors,
                           status=400)
    draft.answers.update(values)
    raise see_other(_next_url(lang, step, str(form.get("go", "next"))))


def _next_url(lang: str, step: str, go: str) -> str:
    i = STEPS.index(step)
    if go == "review":
        return f"/{lang}/report/review"
    if go == "back":
        return f"/{lang}/report/{STEPS[max(0, i - 1)]}"
    return f"/{lang}/report/{STEPS[min(len(STEPS) - 1, i + 1)]}"


async def _files_upload(request: web.Request, session: ReporterSession,
                        reader: MultipartReader) -> web.StreamResponse:
    ctx = node(request)
    draft = _draft(session, request)
    go = "stay"
    result = UploadResult()
    while (part := await next_field(reader)) is not None:
        if part.name == "files":
            upload_allowed(request, session)
            await receive_file(ctx, part, draft.data_key, draft.allowance, result)
            draft.files.extend(result.staged)
            result.staged = []
        elif part.name == "go":
            go = (await part.text())[:10]
        else:
            await part.release()
    return _after_files(request, session, go, result)


async def _what_upload(request: web.Request, session: ReporterSession,
                       reader: MultipartReader) -> web.StreamResponse:
    """The narrative step sent with its recording (or an audio file the phone recorded,
    without JavaScript): the text as `parse_step` takes it, the recording staged, encrypted
    as it arrives, through the same path as any file -- refused unless it is sound."""
    ctx = node(request)
    draft = _draft(session, request)
    go, narrative = "next", ""
    field_errors: FieldErrors = {}
    result = UploadResult()
    while (part := await next_field(reader)) is not None:
        if part.name == "narrative":
            try:
                narrative = (await read_text_part(
                    part, ctx.config.limits.max_text_chars)).strip()
            except errors.NodeError as exc:
                field_errors["narrative"] = exc
        elif part.name == "voice":
            try:
                if part.filename:  # an empty file input is no upload
                    upload_allowed(request, session)
            except errors.NodeError as exc:  # refused, but the words typed are kept
                result.refused.append(exc)
                await part.release()
                continue
            await receive_file(ctx, part, draft.data_key, draft.allowance, result,
                               audio_only=True)
            draft.files.extend(result.staged)
            result.staged = []
        elif part.name == "go":
            go = (await part.text())[:10]
        else:
            await part.release()
    if field_errors or result.refused:
        if not field_errors:
            draft.answers["narrative"] = narrative
        return render_step(request, session, "what", answers={"narrative": narrative},
                           field_errors=field_errors, page_errors=result.refused,
                           status=status_of((result.refused or list(field_errors.values()))[0]))
    draft.answers["narrative"] = narrative
    raise see_other(_next_url(require_lang(request), "what", go))


async def _files_remove(request: web.Request, session: ReporterSession,
                        form: MultiDictProxy[Any]) -> web.StreamResponse:
    ctx = node(request)
    draft = _draft(session, request)
    remove = form.get("remove")
    keep = [f for f in draft.files if f.item_id != remove]
    gone = [f for f in draft.files if f.item_id == remove]
    if gone:
        await run_sync(ctx, ctx.intake.discard, gone)
        draft.files = keep
        draft.allowance.files_used -= 1
        draft.allowance.bytes_used -= gone[0].size
    return _after_files(request, session, str(form.get("go", "stay")), UploadResult())


def _after_files(request: web.Request, session: ReporterSession, go: str,
                 result: UploadResult) -> web.StreamResponse:
    lang = require_lang(request)
    if result.refused:
        return render_step(request, session, "files", page_errors=result.refused,
                           status=status_of(result.refused[0]))
    if go == "stay":
        raise see_other(f"/{lang}/report/files")
    raise see_other(_next_url(lang, "files", go))


def build_report(answers: dict[str, Any], lang: str) -> ReportInput:
    data = {k: v for k, v in answers.items() if not k.startswith("_")}
    data["language"] = lang
    try:
        return ReportInput.model_validate(data)
    except ValidationError:
        raise errors.InvalidInput() from None


async def _submit(request: web.Request, session: ReporterSession) -> web.StreamResponse:
    lang = require_lang(request)
    ctx = node(request)
    draft = _draft(session, request)
    per_minute = ctx.config.rate_limits.reports_per_minute
    # Counted per session where the address is shared (an onion service), and a report
    # refused for its content gives its token back: one client cannot block the others.
    if not rate_ok(request, "report", per_minute, session=session.id):
        return render_step(request, session, "review", page_errors=[errors.RateLimited()],
                           status=429)
    try:
        report = build_report(draft.answers, lang)
        receipt = await run_sync(ctx, ctx.intake.submit, report, draft.data_key, draft.files,
                                 "web")
    except errors.NodeError as exc:
        if 400 <= status_of(exc) < 500:
            refund(request, "report", per_minute, session=session.id)
        return render_step(request, session, "review", page_errors=[exc], status=status_of(exc))
    session.after_submit = AfterSubmit(receipt, list(report.needs), report.region)
    draft.drop_uploads()  # files still arriving were not in the report: shredded
    session.draft = None
    raise see_other(f"/{lang}/report/sent")


async def sent_get(request: web.Request) -> web.StreamResponse:
    lang = require_lang(request)
    session = reporter_session(request)
    after = session.after_submit if session is not None else None
    receipt = after.receipt if after is not None else None
    if after is not None:
        after.receipt = None  # shown once
    link = None
    if after is not None:
        query = "&".join([*(f"need={n}" for n in after.needs if n != "none"),
                          *([f"region={after.region}"] if after.region else [])])
        link = f"/{lang}/services" + (f"?{query}" if query else "")
    return render(request, "public/report/sent.html", receipt=receipt, services_link=link)
