"""Lists of cases: the triage queue, the case list and search results, filtered, sorted
and paged (issue 15).

A page is put together from two sources, neither of which decrypts a report:

- the clear columns of `reports` (status, hours, consent flags, synthetic) and the
  assignments (`case_key_wraps`), read again for every page, so that a status change or
  an assignment shows at once;
- what the person's in-memory index (`search.CaseIndex`, built from the cases they may
  read after they unlock, never written) keeps of each case for its row: `CaseFacts`.

Urgency depends on now (the PEP and emergency-contraception windows close while a case
waits, `node/backoffice/urgency.py`), so it is computed at each page from the incident date
kept in `CaseFacts`, for every listed case when the page sorts or filters by it.

Nothing stops at a fixed number of rows: every page says how many cases match and links
to the next one. Filters with an unknown value (a stale link, a region removed from
`node.toml`) are ignored rather than refused, and the page says which filters it applied.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Literal, get_args

from node import accounts
from node.accounts import UnlockedStaff
from node.backoffice.access import Action, require, require_node_key
from node.backoffice.ledger import STATUSES
from node.backoffice.urgency import EC_HOURS, RANK, Level, Urgency, assess, latest_incident_time
from node.intake.models import CONSENT_NAMES as _ALL_CONSENTS

Sort = Literal["urgency", "received", "updated"]
Scope = Literal["queue", "cases"]
SORTS: tuple[Sort, ...] = get_args(Sort)
LEVELS: tuple[Level, ...] = tuple(RANK)
QUEUE_STATUSES = ("new", "in_triage")
PAGE_SIZE = 50
UNASSIGNED = "none"  # the assignee filter's value for "assigned to nobody"
SUMMARY_CHARS = 120
# The consents a list shows and filters by: the columns of its index (migration 22).
# Matching (issue 18) is shown and asked on the case page, not in lists.
CONSENT_NAMES = tuple(n for n in _ALL_CONSENTS if n != "matching")
_CHUNK = 500  # ids per "IN (...)" query, well under SQLite's 32,766 variables


@dataclass(frozen=True, slots=True)
class CaseFacts:
    """What a case's list row needs from its encrypted report: kept in the person's index
    in memory (a report never changes once submitted), never written. With slots, one
    object per case for the cyclic garbage collector to walk, not two (an instance and its
    `__dict__`): `search.SearchIndex` says why that matters."""

    region: str | None = None
    incident: tuple[int | None, int | None, int | None] = (None, None, None)  # y, m, d
    summary: str = ""
    needs: tuple[str, ...] = ()
    latest: float | None = None  # the incident's latest possible moment (POSIX seconds)

    def urgency(self, received_hour: int, now: datetime) -> Urgency:
        # Most cases are long past both windows: said without building dates (a list
        # sorted by urgency assesses every case it may show, 10,000 at each page). Once
        # routine, a case stays routine: both tests only grow with time.
        elapsed = now.timestamp() - (received_hour * 3600 if self.latest is None
                                     else self.latest)
        if elapsed > _SETTLED_S:
            return ROUTINE
        y, m, d = self.incident
        return assess({"incident_year": y, "incident_month": m, "incident_day": d},
                      received_hour, now)


# Past this, `assess` says "routine" whatever the date's precision (node/backoffice/urgency.py).
_SETTLED_S = EC_HOURS * 3600
ROUTINE = Urgency("routine")


UNKNOWN = CaseFacts()  # a case that arrived after the index was last brought up to date


def facts_of(record: Mapping[str, Any]) -> CaseFacts:
    narrative = str(record.get("narrative") or "")
    latest = latest_incident_time(dict(record))
    return CaseFacts(
        latest=latest.timestamp() if latest is not None else None,
        region=record.get("region") or None,
        incident=(record.get("incident_year"), record.get("incident_month"),
                  record.get("incident_day")),
        summary=narrative[:SUMMARY_CHARS] + ("…" if len(narrative) > SUMMARY_CHARS else ""),
        needs=tuple(record.get("needs") or ()))


@dataclass(frozen=True)
class ListQuery:
    """Filters, sort and position of a list page. `parse` keeps only known values."""

    status: str | None = None
    assignee: str | None = None  # a staff id, or UNASSIGNED
    region: str | None = None
    urgency: Level | None = None
    consent: str | None = None  # a consent the reporter gave
    sort: Sort = "urgency"
    offset: int = 0

    @classmethod
    def parse(cls, values: Mapping[str, str], *, statuses: Collection[str] = STATUSES,
              regions: Collection[str] = (), assignees: Collection[str] = (),
              default_sort: Sort = "urgency") -> ListQuery:
        def pick(name: str, allowed: Collection[str]) -> str | None:
            value = values.get(name) or ""
            return value if value in allowed else None

        try:
            offset = max(0, int(values.get("offset") or 0))
        except ValueError:
            offset = 0
        level = pick("urgency", LEVELS)
        sort = pick("sort", SORTS)
        return cls(status=pick("status", statuses),
                   assignee=pick("assignee", {*assignees, UNASSIGNED}),
                   region=pick("region", regions),
                   urgency=next((v for v in LEVELS if v == level), None),
                   consent=pick("consent", CONSENT_NAMES),
                   sort=next((s for s in SORTS if s == sort), default_sort), offset=offset)

    def params(self, **changes: Any) -> dict[str, str]:
        """The query as form fields (for the links of other pages), without empty ones."""
        q = replace(self, **changes)
        pairs = {"status": q.status, "assignee": q.assignee, "region": q.region,
                 "urgency": q.urgency, "consent": q.consent, "sort": q.sort,
                 "offset": str(q.offset) if q.offset else None}
        return {k: v for k, v in pairs.items() if v}

    @property
    def filtered(self) -> bool:
        return any((self.status, self.assignee, self.region, self.urgency, self.consent))


@dataclass(frozen=True)
class ListedCase:
    id: str
    received_hour: int
    updated_hour: int
    status: str
    consent: tuple[str, ...]  # the consents given, in CONSENT_NAMES order
    synthetic: bool
    urgency: Urgency
    facts: CaseFacts
    assignees: tuple[str, ...] = ()  # usernames, first assigned first


@dataclass(frozen=True)
class CasePage:
    rows: list[ListedCase]
    total: int  # every case that matches the filters, not only this page's
    query: ListQuery
    limit: int
    assignees: dict[str, str] = field(default_factory=dict)  # staff id -> username

    @property
    def first(self) -> int:
        return self.query.offset + 1 if self.rows else 0

    @property
    def last(self) -> int:
        return self.query.offset + len(self.rows)

    @property
    def previous_offset(self) -> int | None:
        return max(0, self.query.offset - self.limit) if self.query.offset > 0 else None

    @property
    def next_offset(self) -> int | None:
        following = self.query.offset + self.limit
        return following if following < self.total else None


def reads_every_case(staff: UnlockedStaff) -> bool:
    """Coordinators holding the intake key read every case; anyone else (a caseworker, a
    coordinator not yet given the key) only the cases assigned to them."""
    return staff.has_role("coordinator") and staff.intake_key is not None


Fill = Callable[[list[str]], Mapping[str, CaseFacts]]


def list_page(conn: sqlite3.Connection, staff: UnlockedStaff, facts: Mapping[str, CaseFacts],
              query: ListQuery, now: datetime, *, scope: Scope = "cases",
              only: Collection[str] | None = None, limit: int = PAGE_SIZE,
              fill: Fill | None = None) -> CasePage:
    """One page of the cases this person may read that match `query` (and are among
    `only`, for search results), sorted as it asks.

    `facts` is what the person's index holds; `fill` decrypts the facts of cases it
    lacks (a case that has just arrived, or every case while the index is still being
    built after sign-in). Only the cases the page needs are filled: every candidate when
    it filters by region or sorts or filters by urgency, else only the rows shown -- so
    that the first page after signing in does not wait for the whole index."""
    if scope == "queue":
        require(staff.member, Action.VIEW_QUEUE)
        require_node_key(conn, staff, accounts.INTAKE_KEY)
    else:
        require(staff.member, Action.LIST_CASES)
    where: list[str] = []
    args: list[Any] = []
    if not reads_every_case(staff):
        where.append("id IN (SELECT report_id FROM case_key_wraps WHERE staff_id = ?)")
        args.append(staff.member.id)
    if scope == "queue":
        where.append("status IN ('new', 'in_triage')")
    if query.status:
        where.append("status = ?")
        args.append(query.status)
    if query.consent in CONSENT_NAMES:  # a constant of ours, never input
        where.append(f"consent_{query.consent} = 1")
    if query.assignee == UNASSIGNED:
        where.append("id NOT IN (SELECT report_id FROM case_key_wraps)")
    elif query.assignee:
        where.append("id IN (SELECT report_id FROM case_key_wraps WHERE staff_id = ?)")
        args.append(query.assignee)
    clause = (" WHERE " + " AND ".join(where)) if where else ""
    consents = ", ".join(f"consent_{n}" for n in CONSENT_NAMES)
    rows = conn.execute(
        f"SELECT id, received_hour, updated_hour, status, synthetic, {consents}"  # noqa: S608
        f" FROM reports{clause}", args).fetchall()
    if only is not None:
        wanted = only if isinstance(only, set | frozenset) else set(only)
        rows = [r for r in rows if r[0] in wanted]
    needs_all = bool(query.region or query.urgency or query.sort == "urgency")
    if needs_all:
        facts = _filled(facts, [r[0] for r in rows], fill)
    if query.region:
        rows = [r for r in rows if facts.get(r[0], UNKNOWN).region == query.region]
    urgencies: dict[str, Urgency] = {}
    if query.urgency or query.sort == "urgency":
        for r in rows:
            urgencies[r[0]] = facts.get(r[0], UNKNOWN).urgency(r[1], now)
        if query.urgency:
            rows = [r for r in rows if urgencies[r[0]].level == query.urgency]
    if query.sort == "urgency":
        def by_urgency(r: Any) -> tuple[int, int, int, str]:
            u = urgencies[r[0]]
            return (u.rank, u.hours_left if u.hours_left is not None else 0, -r[1], r[0])
        rows.sort(key=by_urgency)
    elif query.sort == "updated":
        rows.sort(key=lambda r: (-r[2], -r[1], r[0]))
    else:
        rows.sort(key=lambda r: (-r[1], r[0]))
    total = len(rows)
    shown = rows[query.offset:query.offset + limit]
    if not needs_all:
        facts = _filled(facts, [r[0] for r in shown], fill)
    who = _assignees(conn, [r[0] for r in shown])
    names = accounts.usernames(conn, [s for ids in who.values() for s in ids])
    listed = []
    for r in shown:
        f = facts.get(r[0], UNKNOWN)
        listed.append(ListedCase(
            id=r[0], received_hour=r[1], updated_hour=r[2], status=r[3],
            synthetic=bool(r[4]),
            consent=tuple(n for i, n in enumerate(CONSENT_NAMES) if r[5 + i]),
            urgency=urgencies.get(r[0]) or f.urgency(r[1], now), facts=f,
            assignees=tuple(names[s] for s in who.get(r[0], ()) if s in names)))
    return CasePage(listed, total, query, limit, names)


def _filled(facts: Mapping[str, CaseFacts], ids: list[str], fill: Fill | None
            ) -> Mapping[str, CaseFacts]:
    missing = [i for i in ids if i not in facts]
    if not missing or fill is None:
        return facts
    return {**facts, **fill(missing)} if len(missing) < len(ids) else fill(missing)


def _assignees(conn: sqlite3.Connection, report_ids: list[str]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for i in range(0, len(report_ids), _CHUNK):
        chunk = report_ids[i:i + _CHUNK]
        for report_id, staff_id in conn.execute(
                "SELECT report_id, staff_id FROM case_key_wraps WHERE report_id IN"  # noqa: S608
                f" ({', '.join('?' * len(chunk))}) ORDER BY assigned_at, staff_id", chunk):
            out.setdefault(report_id, []).append(staff_id)
    return out
