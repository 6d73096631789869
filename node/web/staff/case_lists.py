"""Finding cases: the triage queue, the case list and search (issue 15). Thin handlers over
`node.backoffice.case_listing.list_page` (which checks access again) and the person's
in-memory index (`node.backoffice.search.index_for`).

Filters and sort are in the address of a list page (codes only: a status, a region code, a
staff id). Search words never are: the form is posted (with its CSRF token) and the
results page links to nothing that carries them -- its other pages and sorts are buttons
of the same posted form -- so that they stay out of the browser's history, the server's
logs and any Referer."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from functools import partial
from typing import Any
from urllib.parse import urlencode

from aiohttp import web

from node import errors
from node.accounts import INTAKE_KEY, UnlockedStaff
from node.backoffice.access import Action, allowed, require_node_key
from node.backoffice.case_listing import (
    CONSENT_NAMES,
    LEVELS,
    QUEUE_STATUSES,
    SORTS,
    UNASSIGNED,
    CaseFacts,
    CasePage,
    ListQuery,
    Scope,
    Sort,
    facts_of,
    list_page,
)
from node.backoffice.case_numbers import number_of
from node.backoffice.ledger import STATUSES
from node.backoffice.search import CaseIndex, index_for
from node.context import NodeContext, run_sync
from node.i18n import N_
from node.web import labels
from node.web.appkeys import node
from node.web.failures import error_text
from node.web.formatting import format_day
from node.web.rendering import translate
from node.web.staff.coding import region_names
from node.web.staff.common import StaffRoute, checked_form, page, session_of
from node.web.staff.sessions import StaffSession

QUERY_CHARS = 200

SORT_LABELS = {"urgency": N_("Most urgent first"), "received": N_("Newest first"),
               "updated": N_("Recently updated first")}
URGENCY_LABELS = {"pep": N_("PEP window open"), "ec": N_("Emergency contraception window open"),
                  "check": N_("Date unclear"), "routine": N_("Not time-critical")}

# The person's index lives in their session (`StaffSession.cache`), in memory only, as a
# future: it may still be being built in the background.
SEARCH_INDEX = "search"
INDEX_LOCK = "search_lock"


def _t(request: web.Request, message: str, **kw: object) -> str:
    return translate(request, message, **kw)


def _region_names(ctx: NodeContext) -> dict[str, str]:
    """What a region is searched by besides its code: its names in every language."""
    return {r.code: " ".join(dict.fromkeys((r.name, *r.names.values())))
            for r in ctx.config.regions}


def prepare_index(ctx: NodeContext, session: StaffSession) -> None:
    """Start building the person's index in the background, in a worker thread: as they
    sign in -- "built in memory after unlock" (issue 3) -- so that it is ready, or nearly,
    by their first search, and no page waits while every case they may read is decrypted
    (seconds for 10,000 cases: BENCHMARKS.md, bench_backoffice). Also called by the list
    pages and the search form, for a session that has none."""
    if SEARCH_INDEX in session.cache or not allowed(session.staff.member, Action.SEARCH):
        return
    building = asyncio.get_running_loop().run_in_executor(
        ctx.executor, partial(index_for, ctx.cases, session.staff,
                              region_names=_region_names(ctx)))
    # A failed build is retried by the next page; it is not an unhandled error.
    building.add_done_callback(lambda f: f.cancelled() or f.exception())
    session.cache[SEARCH_INDEX] = building


async def current_index(ctx: NodeContext, session: StaffSession) -> CaseIndex:
    """The session's index, brought up to date with what the person may read now (only
    new cases, notes and messages are decrypted; a case no longer readable means a new
    index). One at a time per session: the index is updated in place."""
    prepare_index(ctx, session)
    async with session.cache.setdefault(INDEX_LOCK, asyncio.Lock()):
        pending: asyncio.Future[CaseIndex] = session.cache[SEARCH_INDEX]
        current = None
        await asyncio.wait([pending])
        if not pending.cancelled() and pending.exception() is None:
            current = pending.result()
        index = await run_sync(ctx, partial(index_for, ctx.cases, session.staff, current,
                                            region_names=_region_names(ctx)))
        if index is not current:
            done: asyncio.Future[CaseIndex] = asyncio.get_running_loop().create_future()
            done.set_result(index)
            session.cache[SEARCH_INDEX] = done
        return index


def _index_ready(ctx: NodeContext, session: StaffSession) -> bool:
    """Whether the person's index has been built (else it starts being built, and this
    page decrypts only the cases it shows or sorts)."""
    prepare_index(ctx, session)
    pending: asyncio.Future[CaseIndex] | None = session.cache.get(SEARCH_INDEX)
    return pending is not None and pending.done()


def _rows(request: web.Request, ctx: NodeContext, found: CasePage) -> list[dict[str, Any]]:
    # Labels and days repeat from row to row: each is translated or formatted once per page.
    t: Callable[[str], str] = functools.cache(partial(_t, request))
    day: Callable[[int], str] = functools.cache(lambda d: format_day(request, d * 24))
    regions = region_names(request, ctx)
    return [{
        "id": c.id, "number": number_of(c.id), "received": day(c.received_hour // 24),
        "updated": day(c.updated_hour // 24), "urgency": c.urgency,
        "status": t(labels.STATUS_FOR_STAFF[c.status]),
        "assignees": ", ".join(c.assignees),
        "region": regions.get(c.facts.region or "", c.facts.region or ""),
        "summary": c.facts.summary,
        "needs": ", ".join(t(labels.NEEDS[n]) for n in c.facts.needs if n in labels.NEEDS),
        "consent": ", ".join(t(labels.CONSENTS[n]) for n in c.consent),
        "synthetic": c.synthetic} for c in found.rows]


def _choices(request: web.Request, ctx: NodeContext, staff: UnlockedStaff, scope: Scope,
             caseworkers: list[tuple[str, str]]) -> dict[str, Any]:
    """The options of each filter and of the sort, as (value, label)."""
    t = partial(_t, request)
    statuses = QUEUE_STATUSES if scope == "queue" else STATUSES
    return {
        "statuses": [(s, t(labels.STATUS_FOR_STAFF[s])) for s in statuses],
        "assignees": [(UNASSIGNED, t(N_("Nobody"))), *caseworkers]
        if staff.has_role("coordinator") else [],
        "regions": list(region_names(request, ctx).items()),
        "levels": [(v, t(URGENCY_LABELS[v])) for v in LEVELS],
        "consents": [(n, t(labels.CONSENTS[n])) for n in CONSENT_NAMES],
        "sorts": [(s, t(SORT_LABELS[s])) for s in SORTS]}


async def _listing(request: web.Request, values: Any, scope: Scope,
                   only: set[str] | None = None, index: CaseIndex | None = None
                   ) -> tuple[CasePage, dict[str, Any]]:
    """A page of a list and its filters' choices, from the person's index."""
    ctx = node(request)
    session = session_of(request)
    staff = session.staff
    if scope == "queue":  # before the index is built: say at once what key is missing
        await run_sync(ctx, lambda: require_node_key(ctx.db.read(), staff, INTAKE_KEY))
    caseworkers = [(m.id, m.username)
                   for m in await run_sync(ctx, ctx.case_access.caseworkers)]
    # the caseworker's list and the queue: most urgent first (issue 15); a coordinator's
    # list of every case: newest first
    default: Sort = ("received" if scope == "cases" and staff.has_role("coordinator")
                     else "urgency")
    query = ListQuery.parse(
        {k: str(v) for k, v in values.items()},
        statuses=QUEUE_STATUSES if scope == "queue" else STATUSES,
        regions=[r.code for r in ctx.config.regions], assignees=[i for i, _ in caseworkers],
        default_sort=default)
    if index is None and _index_ready(ctx, session):
        index = await current_index(ctx, session)
    facts = index.facts if index is not None else {}

    def fill(ids: list[str]) -> dict[str, CaseFacts]:
        return {v.id: facts_of(v.record) for v, _ in ctx.cases.readable(staff, set(ids))}

    found = await run_sync(ctx, lambda: list_page(
        ctx.db.read(), staff, facts, query, ctx.clock(), scope=scope, only=only, fill=fill))
    return found, {"query": query, "choices": _choices(request, ctx, staff, scope, caseworkers),
                   "rows": _rows(request, ctx, found), "found": found}


def _link(path: str, query: ListQuery, **changes: Any) -> str:
    params = query.params(**changes)
    return path + ("?" + urlencode(params) if params else "")


async def queue(request: web.Request) -> web.StreamResponse:
    ctx = node(request)
    session = session_of(request)
    found, shown = await _listing(request, request.query, "queue")
    due = await run_sync(ctx, ctx.retention.due)
    return page(request, "staff/queue.html", session, due=due, action="/staff/queue",
                previous=_page_link("/staff/queue", found, found.previous_offset),
                next=_page_link("/staff/queue", found, found.next_offset), **shown)


async def case_list(request: web.Request) -> web.StreamResponse:
    ctx = node(request)
    session = session_of(request)
    found, shown = await _listing(request, request.query, "cases")
    return page(request, "staff/cases.html", session, action="/staff/cases",
                missing_key=await run_sync(ctx, _missing_intake_key, ctx, session.staff, request),
                previous=_page_link("/staff/cases", found, found.previous_offset),
                next=_page_link("/staff/cases", found, found.next_offset), **shown)


def _page_link(path: str, found: CasePage, offset: int | None) -> str | None:
    return None if offset is None else _link(path, found.query, offset=offset)


def _missing_intake_key(ctx: NodeContext, staff: UnlockedStaff, request: web.Request) -> str:
    """For a coordinator without the intake key, who sees only the cases assigned to
    them: what is missing and who can give it (else "")."""
    if not staff.has_role("coordinator"):
        return ""
    try:
        require_node_key(ctx.db.read(), staff, INTAKE_KEY)
    except errors.NodeError as exc:
        return error_text(request, exc)
    return ""


async def search_form(request: web.Request) -> web.StreamResponse:
    """The empty form. Words put in the address (an old bookmark, a typed URL) are neither
    searched nor shown again."""
    ctx = node(request)
    session = session_of(request)
    prepare_index(ctx, session)  # the person is about to type
    return page(request, "staff/search.html", session, words="", searched=False)


async def search(request: web.Request) -> web.StreamResponse:
    """Search, posted: the words, and the filters, sort and page of the results."""
    form = await checked_form(request)
    session = session_of(request)
    words = str(form.get("q", ""))[:QUERY_CHARS]
    if not words.strip():
        return page(request, "staff/search.html", session, words="", searched=False)
    ctx = node(request)
    index = await current_index(ctx, session)
    matches = index.search(words)
    values = {k: str(v) for k, v in form.items() if k not in ("q", "csrf")}
    _, shown = await _listing(request, values, "cases", only=matches, index=index)
    return page(request, "staff/search.html", session, words=words, searched=True, **shown)


ROUTES: list[StaffRoute] = [
    StaffRoute("GET", "/queue", queue, "staff_queue", Action.VIEW_QUEUE),
    StaffRoute("GET", "/cases", case_list, "staff_cases", Action.LIST_CASES),
    StaffRoute("GET", "/search", search_form, "staff_search", Action.SEARCH),
    StaffRoute("POST", "/search", search, "staff_search_results", Action.SEARCH),
]
