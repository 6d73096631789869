"""The staff back office (minimal for now: sign in, unlock, list and read reports).

Signing in runs Argon2id on the person's passphrase to unlock their X25519 key, which opens
the intake key; both live only in this process's memory for the session, which ends when
idle. Separate cookie, path and middlewares from the public site (STYLE.md, 5).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from node import accounts, errors
from node.intake.models import CONSENT_NAMES
from node.web import appkeys, labels
from node.web.context import run_sync
from node.web.failures import html_errors
from node.web.pages import (
    clear_cookie,
    error_text,
    format_day,
    format_size,
    node,
    render,
    see_other,
    set_session_cookie,
    translate,
)
from node.web.security import check_csrf
from node.web.sessions import StaffSession

STAFF_COOKIE = "staff"
STAFF_PATH = "/staff"
SESSION_KEY = web.RequestKey("staff_session", StaffSession)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
PUBLIC_ROUTES = frozenset({"staff_login", "staff_login_post"})


def _session(request: web.Request) -> StaffSession | None:
    return request.config_dict[appkeys.STAFF_SESSIONS].get(request.cookies.get(STAFF_COOKIE))


@web.middleware
async def require_staff(request: web.Request, handler: Handler) -> web.StreamResponse:
    name = request.match_info.route.name
    if name in PUBLIC_ROUTES:
        return await handler(request)
    session = _session(request)
    if session is None:
        if request.method == "GET":
            raise see_other(f"{STAFF_PATH}/login")
        raise errors.NotAuthenticated()
    request[SESSION_KEY] = session
    return await handler(request)


def _staff(request: web.Request) -> StaffSession:
    return request[SESSION_KEY]


def _require_intake(session: StaffSession) -> Any:
    if session.staff.intake_key is None or not session.staff.has_role("coordinator"):
        raise errors.Forbidden()
    return session.staff.intake_key


def _page(request: web.Request, template: str, session: StaffSession | None = None,
          **kw: Any) -> web.Response:
    return render(request, template, staff=session.staff if session else None,
                  csrf=session.csrf if session else kw.pop("csrf", ""), **kw)


async def login_get(request: web.Request) -> web.StreamResponse:
    # The sign-in form's CSRF token is bound to a short-lived pre-session cookie.
    token = request.cookies.get("staff_pre") or _new_token()
    response = _page(request, "staff/login.html", csrf=token, username="")
    set_session_cookie(request, response, "staff_pre", token, path=STAFF_PATH)
    return response


def _new_token() -> str:
    import secrets

    return secrets.token_urlsafe(32)


async def login_post(request: web.Request) -> web.StreamResponse:
    ctx = node(request)
    form = await request.post()
    token = request.cookies.get("staff_pre", "")
    if not token:
        raise errors.SessionExpired()
    check_csrf(token, form.get("csrf"))
    username = str(form.get("username", ""))[:100]
    passphrase = str(form.get("passphrase", ""))[:1000]
    try:
        if not request.config_dict[appkeys.LIMITER].allow(
                "login", request.remote, ctx.config.rate_limits.staff_logins_per_minute):
            raise errors.RateLimited()
        unlocked = await run_sync(ctx, lambda: accounts.unlock(ctx.db.read(), username,
                                                               passphrase))
    except errors.NodeError as exc:
        return _page(request, "staff/login.html", status=exc.status, csrf=token,
                     username=username, errors=[error_text(request, exc)])
    session = request.config_dict[appkeys.STAFF_SESSIONS].new(unlocked)
    response = see_other(f"{STAFF_PATH}/reports")
    set_session_cookie(request, response, STAFF_COOKIE, session.id, path=STAFF_PATH)
    clear_cookie(response, "staff_pre", path=STAFF_PATH)
    raise response


async def logout_post(request: web.Request) -> web.StreamResponse:
    session = _staff(request)
    form = await request.post()
    check_csrf(session.csrf, form.get("csrf"))
    request.config_dict[appkeys.STAFF_SESSIONS].end(session.id)
    response = see_other(f"{STAFF_PATH}/login")
    clear_cookie(response, STAFF_COOKIE, path=STAFF_PATH)
    raise response


async def index(request: web.Request) -> web.StreamResponse:
    raise see_other(f"{STAFF_PATH}/reports")


def _consent_text(request: web.Request, consent: Any) -> str:
    return ", ".join(translate(request, labels.CONSENTS[n]) for n in CONSENT_NAMES
                     if getattr(consent, n))


async def reports(request: web.Request) -> web.StreamResponse:
    ctx = node(request)
    session = _staff(request)
    key = _require_intake(session)
    views = await run_sync(ctx, ctx.intake.list_reports, key)
    total = await run_sync(ctx, ctx.intake.count_reports)
    rows = []
    for v in views:
        narrative = str(v.record.get("narrative") or "")
        rows.append({
            "id": v.id, "received": format_day(request, v.received_hour),
            "status": translate(request, labels.STATUS_FOR_STAFF[v.status]),
            "summary": narrative[:120] + ("…" if len(narrative) > 120 else ""),
            "files": "", "consent": _consent_text(request, v.consent),
            "synthetic": v.synthetic,
        })
    return _page(request, "staff/reports.html", session, reports=rows, total=total)


async def report(request: web.Request) -> web.StreamResponse:
    ctx = node(request)
    session = _staff(request)
    key = _require_intake(session)
    report_id = request.match_info["report_id"]
    view = await run_sync(ctx, ctx.intake.read_report, key, report_id)
    r = view.record

    def t(message: str, **params: object) -> str:
        return translate(request, message, **params)

    region = ctx.config.region(r["region"]) if r.get("region") else None
    contact = r.get("contact") or {}
    fields = [
        (t("Who is making this report?"), t(labels.ROLES[r["reporter_role"]])
         if r.get("reporter_role") else ""),
        (t("What happened?"), r.get("narrative") or ""),
        (t("When did it happen?"), " · ".join(str(x) for x in (
            "-".join(str(r[k]) for k in ("incident_year", "incident_month", "incident_day")
                     if r.get(k)), r.get("incident_when") or "") if x)),
        (t("Where did it happen?"), " · ".join(x for x in (
            f"{region.name} ({region.code})" if region else "", r.get("place") or "") if x)),
        (t("Who did it?"), " · ".join(str(x) for x in (
            t(labels.AFFILIATIONS[r["perpetrator_affiliation"]])
            if r.get("perpetrator_affiliation") else "", r.get("perpetrators") or "") if x)),
        (t("How many people were harmed? (optional)"), str(r.get("people_harmed") or "")),
        (t("What help do you need?"), ", ".join(t(labels.NEEDS[n]) for n in r.get("needs", []))),
        (t("How?"), t(labels.CONTACT_METHODS[contact["method"]]) if contact.get("method") else ""),
        (t("Number, address or name in the app"), contact.get("details") or ""),
        (t("When is it safe to contact you?"), contact.get("safe_times") or ""),
        (t("What should we be careful about?"), contact.get("precautions") or ""),
        (t("Language"), labels.NATIVE_LANGUAGE_NAMES.get(r.get("language") or "", "")),
        (t("Received through"), r.get("channel", "")),
    ]
    items = []
    for it in view.items:
        entry: dict[str, Any] = {"id": it.id, "kind": it.kind,
                                 "when": format_day(request, it.received_hour)}
        if it.kind == "attachment":
            entry |= {"filename": it.meta.get("filename"), "mime": it.meta.get("mime"),
                      "size": format_size(request, int(it.meta.get("size", 0))),
                      "sha256": it.meta.get("sha256")}
        else:
            entry["text"] = it.meta.get("text", "")
        items.append(entry)
    return _page(request, "staff/report.html", session, report_id=view.id,
                 received=format_day(request, view.received_hour),
                 status_text=t(labels.STATUS_FOR_STAFF[view.status]),
                 consent=_consent_text(request, view.consent),
                 fields=[(label, value) for label, value in fields if value],
                 items=items, synthetic=view.synthetic)


async def attachment(request: web.Request) -> web.StreamResponse:
    ctx = node(request)
    session = _staff(request)
    key = _require_intake(session)
    meta, chunks = await run_sync(ctx, ctx.intake.open_attachment, key,
                                  request.match_info["report_id"], request.match_info["item_id"])
    # Decrypt fully before sending: a tampered file must fail before any byte is served.
    body = await run_sync(ctx, lambda: b"".join(chunks))
    return web.Response(
        body=body, content_type="application/octet-stream",
        headers={"Content-Disposition": "attachment; filename*=UTF-8''"
                 + _quote(str(meta.get("filename", "file"))),
                 "Content-Security-Policy": "sandbox; default-src 'none'",
                 "X-Original-Type": str(meta.get("mime", ""))})


def _quote(name: str) -> str:
    from urllib.parse import quote

    return quote(name, safe="")


def create_staff_app() -> web.Application:
    app = web.Application(middlewares=[html_errors("staff/error.html"), require_staff])
    r = app.router
    r.add_get("/", index, name="staff_index")
    r.add_get("/login", login_get, name="staff_login")
    r.add_post("/login", login_post, name="staff_login_post")
    r.add_post("/logout", logout_post, name="staff_logout")
    r.add_get("/reports", reports, name="staff_reports")
    r.add_get("/reports/{report_id}", report, name="staff_report")
    r.add_get("/reports/{report_id}/files/{item_id}", attachment, name="staff_attachment")
    return app
