"""Patterns for "widespread or systematic" (issue 17): the analysts' page over incident
codings, and their CSV export.

Codings only, under the same rules as the list of codings (`codings.open_codings`: the
analysis key, incidents whose reports consent to statistics): no narrative, no file, no
name. The free-text field of a coding (`unit_named`: often the reporter's own words) is
left out of what analysts see and export; a coordinator, who may read the reports, gets
it in the export.

What the page shows, server-rendered (SVG and tables, no script):
- filters over the codings (category, region, affiliation, context, a period of months);
- incidents per month, as bars;
- clusters: incidents sharing a month, a region, a perpetrator affiliation and a modus
  operandi (category and context), largest first -- many incidents in one cluster is what
  "widespread" looks like;
- repeated patterns: the same affiliation and category across several months or regions --
  what "systematic" looks like;
- a cross-tab of any two dimensions, shaded by count.
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

from aiohttp import web

from node.backoffice.access import Action
from node.backoffice.codings import IncidentRow, open_codings
from node.context import NodeContext, run_sync
from node.i18n import N_
from node.web.appkeys import node
from node.web.language import lang_of
from node.web.rendering import translate
from node.web.staff.common import StaffRoute, page, session_of
from protocol import vocabulary as vocab

DIMENSIONS = {
    "category": N_("Category (Rome Statute)"),
    "region": N_("Region"),
    "affiliation": N_("Perpetrator affiliation"),
    "context": N_("Context"),
    "month": N_("Month"),
    "year": N_("Year"),
    "sex": N_("Survivor sex"),
    "age": N_("Survivor age group"),
}
FILTERS = ("category", "region", "affiliation", "context")
MIN_CLUSTER = 2        # a cluster is at least this many incidents
SHOWN_CLUSTERS = 20
MIN_REPEAT = 2         # months (or regions) a pattern recurs in before it is shown
CSV_COLUMNS = ("incident", "category", "provision", "date_from", "date_to", "region",
               "subdivision", "perpetrator_affiliation", "perpetrator_count", "survivor_sex",
               "survivor_age_group", "context", "reports")
NOT_KNOWN = "—"


def _month(r: IncidentRow) -> str:
    d = r.coding.date_from or r.coding.date_to
    return d.strftime("%Y-%m") if d else NOT_KNOWN


def value_of(r: IncidentRow, dimension: str) -> str:
    """A coding's code in one dimension ("—" when not known)."""
    c = r.coding
    return {
        "category": c.category, "region": c.region or NOT_KNOWN,
        "affiliation": c.perpetrator_affiliation or NOT_KNOWN, "context": c.context,
        "month": _month(r), "year": _month(r)[:4] if _month(r) != NOT_KNOWN else NOT_KNOWN,
        "sex": c.survivor_sex, "age": c.survivor_age_group,
    }[dimension]


def labeller(request: web.Request, ctx: NodeContext) -> Callable[[str, str], str]:
    """(dimension, code) -> what a person reads, in their language."""
    t = partial(translate, request)
    lang = lang_of(request)
    regions = {r.code: r.label(lang) for r in ctx.config.regions}
    tables: Mapping[str, Mapping[str, str]] = {
        "category": vocab.CATEGORY_LABELS, "affiliation": vocab.AFFILIATION_LABELS,
        "context": vocab.CONTEXT_LABELS, "sex": vocab.SEX_LABELS,
        "age": vocab.AGE_GROUP_LABELS}

    def label(dimension: str, code: str) -> str:
        if code == NOT_KNOWN:
            return t(vocab.NOT_KNOWN)
        if dimension == "region":
            return regions.get(code, code)
        table = tables.get(dimension)
        return t(table[code]) if table and code in table else code
    return label


@dataclass(frozen=True)
class Filters:
    values: dict[str, str]
    since: str   # YYYY-MM or ""
    until: str

    @classmethod
    def of(cls, query: Mapping[str, str]) -> Filters:
        def month(v: str) -> str:
            v = v.strip()[:7]
            return v if len(v) == 7 and v[:4].isdigit() and v[4] == "-" and v[5:].isdigit() \
                else ""
        return cls({f: str(query.get(f, ""))[:64] for f in FILTERS if query.get(f)},
                   month(str(query.get("since", ""))), month(str(query.get("until", ""))))

    def keep(self, r: IncidentRow) -> bool:
        if any(value_of(r, f) != v for f, v in self.values.items()):
            return False
        m = _month(r)
        if (self.since or self.until) and m == NOT_KNOWN:
            return False
        return not ((self.since and m < self.since) or (self.until and m > self.until))


Cluster = tuple[str, str, str, str, str]  # month, region, affiliation, category, context


def clusters(rows: Sequence[IncidentRow]) -> list[tuple[Cluster, int]]:
    """Incidents sharing month, region, affiliation, category and context: largest first."""
    count: Counter[Cluster] = Counter(
        (value_of(r, "month"), value_of(r, "region"), value_of(r, "affiliation"),
         value_of(r, "category"), value_of(r, "context")) for r in rows)
    found = [(k, n) for k, n in count.items() if n >= MIN_CLUSTER]
    found.sort(key=lambda kn: (-kn[1], kn[0]))
    return found[:SHOWN_CLUSTERS]


def repeated(rows: Sequence[IncidentRow]) -> list[dict[str, Any]]:
    """Affiliation x category recurring across months or regions (known ones only)."""
    months: dict[tuple[str, str], set[str]] = {}
    regions: dict[tuple[str, str], set[str]] = {}
    total: Counter[tuple[str, str]] = Counter()
    for r in rows:
        key = (value_of(r, "affiliation"), value_of(r, "category"))
        total[key] += 1
        if value_of(r, "month") != NOT_KNOWN:
            months.setdefault(key, set()).add(value_of(r, "month"))
        if value_of(r, "region") != NOT_KNOWN:
            regions.setdefault(key, set()).add(value_of(r, "region"))
    out: list[dict[str, Any]] = [{"affiliation": k[0], "category": k[1], "incidents": n,
            "months": len(months.get(k, ())), "regions": len(regions.get(k, ())),
            "first": min(months.get(k, {""})), "last": max(months.get(k, {""}))}
           for k, n in total.items()
           if len(months.get(k, ())) >= MIN_REPEAT or len(regions.get(k, ())) >= MIN_REPEAT]
    out.sort(key=lambda d: (-d["incidents"], d["affiliation"], d["category"]))
    return out


def crosstab(rows: Sequence[IncidentRow], across: str, down: str
             ) -> tuple[list[str], list[str], dict[tuple[str, str], int]]:
    cells = Counter((value_of(r, down), value_of(r, across)) for r in rows)
    return (sorted({value_of(r, down) for r in rows}),
            sorted({value_of(r, across) for r in rows}), dict(cells))


def month_bars(rows: Sequence[IncidentRow]) -> list[tuple[str, int]]:
    count = Counter(value_of(r, "month") for r in rows if value_of(r, "month") != NOT_KNOWN)
    if not count:
        return []
    first, last = min(count), max(count)
    out: list[tuple[str, int]] = []
    y, m = int(first[:4]), int(first[5:])
    while f"{y:04d}-{m:02d}" <= last and len(out) < 240:
        key = f"{y:04d}-{m:02d}"
        out.append((key, count.get(key, 0)))
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out


async def _rows(request: web.Request) -> list[IncidentRow]:
    ctx = node(request)
    found = await run_sync(ctx, open_codings, ctx.db, session_of(request).staff)
    return list(found)


def _dimension(query: Mapping[str, str], name: str, default: str) -> str:
    value = str(query.get(name, default))
    return value if value in DIMENSIONS else default


async def patterns(request: web.Request) -> web.StreamResponse:
    ctx = node(request)
    session = session_of(request)
    filters = Filters.of(request.query)
    everything = await _rows(request)
    rows = [r for r in everything if filters.keep(r)]
    label = labeller(request, ctx)
    t = partial(translate, request)
    across = _dimension(request.query, "across", "affiliation")
    down = _dimension(request.query, "down", "region")
    downs, acrosses, cells = crosstab(rows, across, down)
    bars = month_bars(rows)
    top = max((n for _, n in bars), default=0)
    peak = max(cells.values(), default=0)
    options = {f: [(code, label(f, code)) for code in
                   sorted({value_of(r, f) for r in everything} - {NOT_KNOWN})]
               for f in FILTERS}
    return page(
        request, "staff/patterns.html", session, total=len(rows), filters=filters,
        options=options, dimensions=[(d, t(lbl)) for d, lbl in DIMENSIONS.items()],
        filter_labels={f: t(DIMENSIONS[f]) for f in FILTERS},
        across=across, down=down,
        bars=[{"month": m, "n": n, "h": round(100 * n / top) if top else 0} for m, n in bars],
        clusters=[{"month": k[0], "region": label("region", k[1]),
                   "affiliation": label("affiliation", k[2]),
                   "category": label("category", k[3]), "context": label("context", k[4]),
                   "n": n} for k, n in clusters(rows)],
        repeated=[d | {"affiliation": label("affiliation", d["affiliation"]),
                       "category": label("category", d["category"])} for d in repeated(rows)],
        table={"downs": [(d, label(down, d)) for d in downs],
               "acrosses": [(a, label(across, a)) for a in acrosses],
               "cells": {f"{d}|{a}": n for (d, a), n in cells.items()}, "peak": peak},
        query=request.query_string)


def _safe(value: str) -> str:
    # a spreadsheet runs a cell that starts with one of these as a formula (CSV injection)
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


async def patterns_csv(request: web.Request) -> web.StreamResponse:
    """The filtered codings as CSV: codes, no narrative; the free-text unit named only for
    someone who may read the reports (a coordinator), never for an analyst."""
    ctx = node(request)
    staff = session_of(request).staff
    filters = Filters.of(request.query)
    rows = [r for r in await _rows(request) if filters.keep(r)]
    free_text = staff.has_role("coordinator")
    subdivision = {r.code: r.subdivision or "" for r in ctx.config.regions}
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow([*CSV_COLUMNS, *(["unit_named"] if free_text else [])])
    for r in rows:
        c = r.coding
        writer.writerow([
            r.id, c.category, c.provision(), c.date_from.isoformat() if c.date_from else "",
            c.date_to.isoformat() if c.date_to else "", c.region or "",
            subdivision.get(c.region or "", ""), c.perpetrator_affiliation or "",
            c.perpetrator_count or "", c.survivor_sex, c.survivor_age_group, c.context,
            len(r.report_ids), *([_safe(c.unit_named or "")] if free_text else [])])
    return web.Response(text=buf.getvalue(), content_type="text/csv", headers={
        "Content-Disposition": 'attachment; filename="codings.csv"'})


ROUTES: list[StaffRoute] = [
    StaffRoute("GET", "/patterns", patterns, "staff_patterns", Action.VIEW_CODINGS),
    StaffRoute("GET", "/patterns.csv", patterns_csv, "staff_patterns_csv",
               Action.VIEW_CODINGS),
]
