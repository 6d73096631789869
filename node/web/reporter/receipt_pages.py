"""The receipt channel: a reporter comes back with their receipt number and secret to see
the status, add information or files, change consent, or delete the report."""

from __future__ import annotations

from aiohttp import web
from babel.dates import format_date
from multidict import MultiDictProxy

from crypto import receipt
from node import errors
from node.context import run_sync
from node.experts.shares import EXPERT_KIND_FOR_REPORTER, OTHER_EXPERT
from node.i18n import N_
from node.intake import secret_replacement
from node.intake.models import (
    CONSENT_NAMES,
    COURT_SCOPE,
    COURT_SCOPE_LABELS,
    SHARE_SCOPE,
    SHARE_SCOPE_LABELS,
    AdditionInput,
    Consent,
)
from node.intake.service import ReporterAccess
from node.web import labels
from node.web.appkeys import REPORTER_SESSIONS, node
from node.web.failures import error_text, status_of
from node.web.formatting import format_day
from node.web.language import require_lang
from node.web.ratelimit import rate_ok, refund
from node.web.rendering import render, translate
from node.web.reporter.sessions import (
    REPORTER_COOKIE,
    ReporterSession,
    end_reporter_session,
    form_token,
    new_reporter_session,
    reporter_session,
    require_reporter_session,
)
from node.web.reporter.uploads import (
    UploadResult,
    first_field,
    next_field,
    read_text_part,
    receive_file,
)
from node.web.responses import clear_cookie, see_other, set_session_cookie
from node.web.security import check_csrf


async def open_get(request: web.Request) -> web.StreamResponse:
    require_lang(request)
    session = reporter_session(request)
    return render(request, "public/receipt/open.html",
                  csrf=session.csrf if session is not None else form_token(request),
                  receipt_value="", secret_value="")


async def open_post(request: web.Request) -> web.StreamResponse:
    lang = require_lang(request)
    ctx = node(request)
    session = reporter_session(request)
    form = await request.post()
    token = form.get("csrf")
    if session is not None:
        check_csrf(session.csrf, token)
    elif not request.config_dict[REPORTER_SESSIONS].tokens.valid(token):
        raise errors.SessionExpired()
    csrf = session.csrf if session is not None else str(token)
    code, secret = str(form.get("receipt", ""))[:64], str(form.get("secret", ""))[:128]
    per_minute = ctx.config.rate_limits.receipt_attempts_per_minute
    try:
        # Counted per address even behind an onion service: form tokens are free to get, and
        # each attempt is a guess at a receipt. Malformed attempts give their token back.
        if not rate_ok(request, "receipt", per_minute):
            raise errors.RateLimited()
        try:
            access = await run_sync(ctx, ctx.intake.open_receipt, code, secret)
        except (errors.ReceiptFormat, errors.SecretFormat):
            refund(request, "receipt", per_minute)
            raise
    except errors.NodeError as exc:
        field_errors = {exc.field: error_text(request, exc)} if exc.field else {}
        return render(request, "public/receipt/open.html", status=status_of(exc), csrf=csrf,
                      receipt_value=code, secret_value=secret,
                      errors=[] if field_errors else [error_text(request, exc)],
                      field_errors=field_errors,
                      here="/receipt")
    # A fresh session id once the report is open (no session fixation).
    fresh = new_reporter_session(request)
    fresh.access = access
    if session is not None:
        fresh.draft, session.draft = session.draft, None
        end_reporter_session(request, session.id)
    response = see_other(f"/{lang}/receipt/report")
    set_session_cookie(request, response, REPORTER_COOKIE, fresh.id)
    raise response


def _open_access(request: web.Request) -> tuple[ReporterSession, ReporterAccess]:
    session = require_reporter_session(request)
    if session.access is None:
        raise errors.SessionExpired()
    return session, session.access


async def _posted_form(request: web.Request
                       ) -> tuple[ReporterSession, ReporterAccess,
                                  MultiDictProxy[str | bytes | bytearray | web.FileField]]:
    """The opened report's session and access, and a posted form whose CSRF token holds."""
    session, access = _open_access(request)
    form = await request.post()
    check_csrf(session.csrf, form.get("csrf"))
    return session, access, form


async def report_get(request: web.Request) -> web.StreamResponse:
    require_lang(request)
    session, access = _open_access(request)
    notice, session.flash = session.flash, None
    return await _render_report(request, session, access, notice=notice)


async def _render_report(request: web.Request, session: ReporterSession, access: ReporterAccess,
                         *, status: int = 200, notice: str | None = None,
                         problems: list[errors.NodeError] | None = None,
                         add_text: str = "", reply_text: str = "") -> web.Response:
    ctx = node(request)
    try:
        view = await run_sync(ctx, ctx.intake.view_for_reporter, access)
    except errors.ReportGone:
        session.access = None
        raise
    items = []
    for item in view.items:
        if item.kind == "attachment":
            label = translate(request, N_("File: %(name)s"), name=item.meta.get("filename", ""))
        else:
            label = translate(request, N_("Information you added"))
        items.append({"when": format_day(request, item.received_hour), "label": label})
    allowance = ctx.intake.allowance(access)
    conversation = await run_sync(ctx, ctx.conversations.for_reporter, access.report_id,
                                  access.data_key)
    _, due = await run_sync(ctx, ctx.retention.of_case, access.report_id)
    now = int(ctx.clock().timestamp())
    shares = [{"id": sh.share_id, "active": sh.active(now),
               "who": translate(request, EXPERT_KIND_FOR_REPORTER.get(sh.specialty,
                                                                      OTHER_EXPERT)),
               "when": format_day(request, sh.shared_at // 3600)}
              for sh in await run_sync(ctx, ctx.shares.sent_for_report, access.report_id)]
    return render(
        request, "public/receipt/report.html", status=status, here="/receipt/report",
        csrf=session.csrf, status_text=translate(request, labels.STATUS_FOR_REPORTER[view.status]),
        received=format_day(request, view.received_hour), items=items, consent=view.consent,
        court_labels=COURT_SCOPE_LABELS, share_labels=SHARE_SCOPE_LABELS, shares=shares,
        scope_to_ask=view.consent.sharing and not view.consent.share_scope_set,
        matching_unasked=view.matching_unasked,
        notice=notice, add_text=add_text, reply_text=reply_text,
        messages=[{"from_staff": m.extra["direction"] == "to_reporter",
                   "when": format_day(request, m.at // 3600), "text": m.body["text"]}
                  for m in conversation],
        deletion_due=format_date(due, format="long", locale=require_lang(request))
        if due else None,
        can_add_files=allowance.files_used < ctx.config.limits.max_files,
        errors=[error_text(request, p) for p in problems or []])


async def add_post(request: web.Request) -> web.StreamResponse:
    lang = require_lang(request)
    ctx = node(request)
    session, access = _open_access(request)
    if request.content_type != "multipart/form-data":
        raise errors.InvalidInput()
    reader = await request.multipart()
    try:
        first = await first_field(reader, "csrf")
    except errors.InvalidInput:
        raise errors.SessionExpired() from None
    check_csrf(session.csrf, await first.text())
    text = ""
    result = UploadResult()
    problems: list[errors.NodeError] = []
    allowance = await run_sync(ctx, ctx.intake.allowance, access)
    while (part := await next_field(reader)) is not None:
        if part.name == "text":
            try:
                text = await read_text_part(part, ctx.config.limits.max_text_chars)
            except errors.NodeError as exc:
                problems.append(exc)
        elif part.name == "files":
            await receive_file(ctx, part, access.data_key, allowance, result)
        elif part.name == "voice":  # a recording (issue 20): refused unless it is sound
            await receive_file(ctx, part, access.data_key, allowance, result,
                               audio_only=True)
        else:
            await part.release()
    problems.extend(result.refused)
    if problems and any(isinstance(p, errors.TextTooLong) for p in problems):
        await run_sync(ctx, ctx.intake.discard, result.staged)
        return await _render_report(request, session, access, status=400, problems=problems,
                                    add_text=text)
    if text.strip() or result.staged:
        await run_sync(ctx, ctx.intake.add_information, access,
                       AdditionInput(text=text.strip()), result.staged)
    elif not problems:
        problems.append(errors.EmptyReport())
    if problems:
        return await _render_report(
            request, session, access, status=status_of(problems[0]), problems=problems,
            notice=translate(request, N_("Your information has been added."))
            if (text.strip() or result.staged) else None)
    session.flash = translate(request, N_("Your information has been added."))
    raise see_other(f"/{lang}/receipt/report")


async def reply_post(request: web.Request) -> web.StreamResponse:
    """The reporter answers staff through the receipt channel."""
    lang = require_lang(request)
    ctx = node(request)
    session, access, form = await _posted_form(request)
    text = str(form.get("reply", "")).replace("\r\n", "\n").strip()
    try:
        await run_sync(ctx, ctx.conversations.reply, access.report_id, access.data_key, text)
    except errors.NodeError as exc:
        if isinstance(exc, errors.ReportGone):
            raise
        return await _render_report(request, session, access, status=status_of(exc),
                                    problems=[exc], reply_text=text)
    session.flash = translate(request, N_("Your message has been sent."))
    raise see_other(f"/{lang}/receipt/report")


async def consent_post(request: web.Request) -> web.StreamResponse:
    lang = require_lang(request)
    ctx = node(request)
    session, access, form = await _posted_form(request)
    ticked = form.getall("consent", [])
    court = form.getall("court", [])
    share = form.getall("share", [])
    consent = Consent(**{n: n in ticked for n in CONSENT_NAMES},
                      **{n: n in court for n in COURT_SCOPE},
                      **{n: n in share for n in SHARE_SCOPE},
                      share_scope_set=form.get("share_scope") == "asked")
    await run_sync(ctx, ctx.intake.change_consent, access, consent)
    session.flash = translate(request, N_("Your choices have been saved."))
    raise see_other(f"/{lang}/receipt/report")


async def share_stop_post(request: web.Request) -> web.StreamResponse:
    """The reporter stops an expert's access to their case (issue 16). What the expert
    already read cannot be recalled, and the page says so."""
    lang = require_lang(request)
    ctx = node(request)
    session, access, form = await _posted_form(request)
    await run_sync(ctx, ctx.shares.revoke_for_reporter, access, str(form.get("share", "")))
    session.flash = translate(request, N_(
        "The expert's access to your report was stopped. What they already read cannot be "
        "taken back."))
    raise see_other(f"/{lang}/receipt/report")


async def secret_post(request: web.Request) -> web.StreamResponse:
    """The reporter replaces their receipt secret (issue 19): the new one is shown on this
    response only (no redirect to a page that could show it again)."""
    lang = require_lang(request)
    ctx = node(request)
    session, access, form = await _posted_form(request)
    if form.get("confirm") != "yes":
        raise see_other(f"/{lang}/receipt/report")
    secret = await run_sync(ctx, secret_replacement.replace_secret, ctx.intake, ctx.audit,
                            access)
    request.config_dict[REPORTER_SESSIONS].close_report(access.report_id, keep=session.id)
    return render(request, "public/receipt/secret.html",
                  secret_display=receipt.group(secret, 3))


async def delete_get(request: web.Request) -> web.StreamResponse:
    require_lang(request)
    session, _ = _open_access(request)
    return render(request, "public/receipt/delete.html", csrf=session.csrf)


async def delete_post(request: web.Request) -> web.StreamResponse:
    lang = require_lang(request)
    ctx = node(request)
    session, access, form = await _posted_form(request)
    if form.get("confirm") != "yes":
        raise see_other(f"/{lang}/receipt/report")
    await run_sync(ctx, ctx.deletion.by_reporter, access.report_id)
    end_reporter_session(request, session.id)
    response = see_other(f"/{lang}/receipt/deleted")
    clear_cookie(response, REPORTER_COOKIE)
    raise response


async def deleted_get(request: web.Request) -> web.StreamResponse:
    require_lang(request)
    return render(request, "public/receipt/deleted.html")


async def close_post(request: web.Request) -> web.StreamResponse:
    lang = require_lang(request)
    session = require_reporter_session(request)
    form = await request.post()
    check_csrf(session.csrf, form.get("csrf"))
    end_reporter_session(request, session.id)
    response = see_other(f"/{lang}/")
    clear_cookie(response, REPORTER_COOKIE)
    raise response
