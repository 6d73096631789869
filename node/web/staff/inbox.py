"""The "my work" page and the navigation's counts (issue 15, "An inbox and tasks"): what is
new for the person signed in, from the metadata `node.backoffice.inbox` reads -- nothing
is decrypted for the counts; the page decrypts only the text of the tasks it lists."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from aiohttp import web

from node import errors
from node.accounts import INTAKE_KEY, UnlockedStaff
from node.backoffice import inbox
from node.backoffice.access import Action, allowed
from node.backoffice.case_numbers import number_of
from node.context import NodeContext, run_sync
from node.web import appkeys, labels
from node.web.appkeys import node
from node.web.formatting import format_day
from node.web.rendering import translate
from node.web.staff.common import (
    INBOX_COUNTS,
    THREADS_UNREAD,
    Handler,
    StaffRoute,
    page,
    session_of,
)


@web.middleware
async def inbox_counts(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Counts for the navigation of every page a caseworker or coordinator is shown (runs
    inside the route guard, which put the session on the request)."""
    session = request.get(appkeys.STAFF_SESSION)
    if (request.method == "GET" and session is not None
            and allowed(session.staff.member, Action.VIEW_INBOX)):
        ctx = node(request)
        request[INBOX_COUNTS] = await run_sync(ctx, _counts, ctx, session.staff)
    if (request.method == "GET" and session is not None
            and allowed(session.staff.member, Action.MOBILISE_EXPERTS)):
        ctx = node(request)  # a coordinator's conversations: an introduction's thread too
        request[THREADS_UNREAD] = await run_sync(ctx, ctx.threads.unread,
                                                 session.staff.member.id)
    return await handler(request)


async def recount(request: web.Request, staff: UnlockedStaff) -> None:
    """Count again, for a page that has just marked something seen (the case page)."""
    if INBOX_COUNTS in request:
        ctx = node(request)
        request[INBOX_COUNTS] = await run_sync(ctx, _counts, ctx, staff)


def _triage(staff: UnlockedStaff) -> bool:
    """A coordinator who can open the triage queue has its cases in their inbox too."""
    return staff.has_role("coordinator") and INTAKE_KEY in staff.node_keys


def _counts(ctx: NodeContext, staff: UnlockedStaff) -> inbox.Counts:
    return inbox.counts(ctx.db.read(), staff.member.id, ctx.clock().date(),
                        triage=_triage(staff))


def _task_texts(ctx: NodeContext, staff: UnlockedStaff,
                news: list[inbox.CaseNews]) -> dict[str, str]:
    """The text of the tasks listed (only those cases' tasks are decrypted)."""
    texts: dict[str, str] = {}
    for n in news:
        if not n.due_tasks:
            continue
        try:
            key = ctx.case_access.open_case(staff, Action.MANAGE_TASKS, n.report_id)
        except (errors.Forbidden, errors.ReportGone):
            continue  # unassigned or deleted since: the row still links to the case
        wanted = {task_id for task_id, _ in n.due_tasks}
        texts |= {t.id: str(t.body.get("text", "")) for t in ctx.timeline.tasks(n.report_id, key)
                  if t.id in wanted}
    return texts


def _page_data(ctx: NodeContext, staff: UnlockedStaff
               ) -> tuple[list[inbox.CaseNews], dict[str, str]]:
    today = ctx.clock().date()
    news = inbox.news(ctx.db.read(), staff.member.id, today, triage=_triage(staff))
    return news, _task_texts(ctx, staff, news)


def _day(request: web.Request, iso_day: str) -> str:
    """A task's due day (stored as YYYY-MM-DD) as the person reads dates."""
    day = date.fromisoformat(iso_day)
    return format_day(request, int(datetime(day.year, day.month, day.day,
                                            tzinfo=UTC).timestamp()) // 3600)


async def inbox_page(request: web.Request) -> web.StreamResponse:
    ctx = node(request)
    session = session_of(request)
    news, texts = await run_sync(ctx, _page_data, ctx, session.staff)
    triage = _triage(session.staff)
    today = ctx.clock().date().isoformat()

    def t(message: str, **kw: object) -> str:
        return translate(request, message, **kw)

    rows: list[dict[str, Any]] = []
    for n in news:
        rows.append({
            "id": n.report_id, "number": number_of(n.report_id),
            "in_triage": n.assigned_at is None,
            "assigned": n.newly_assigned, "replies": n.replies,
            "last_reply": format_day(request, n.last_reply_at // 3600)
            if n.last_reply_at else "",
            "consent_day": format_day(request, n.consent_changed_hour)
            if n.consent_changed_hour is not None else "",
            "withdrawn": ", ".join(t(labels.CONSENTS[c]) for c in n.withdrawn),
            "tasks": [{"id": task_id, "due": _day(request, due), "overdue": due < today,
                       "text": texts.get(task_id, "")} for task_id, due in n.due_tasks]})
    notice, session.flash = session.flash, None
    return page(request, "staff/inbox.html", session, rows=rows, notice=notice,
                triage=triage)


ROUTES: list[StaffRoute] = [
    StaffRoute("GET", "/inbox", inbox_page, "staff_inbox", Action.VIEW_INBOX),
]
