"""What the observatory publishes: accepted releases combined per period and table,
overall and per country, with 95 % intervals (`observatory.statistics.combine`), and the
privacy loss each node spent per period.

* Each node counts with its latest release per period (`combine.latest`): a newer release
  replaces the older one in the estimates (two releases of one period count overlapping
  incidents and must never be added). Newer means drawn later (``created_hour``), else more
  of the period's budget spent (a node's ledger only grows), else received later.
* A country's estimates combine only the releases of that country's members.
* Regions are keyed by the federation's region vocabulary (`protocol.regions`, first-level
  ISO 3166-2 codes such as ``CD-NK``), so two organisations' counts for one province are
  added. Releases accepted before the federation shared one were keyed by each node's own
  codes: those are qualified by the member's country (``CD/north``) and combined apart
  (`combine` never mixes vocabularies); the page's views by region read only the shared one.
* Releases of members revoked for a compromised key or misbehaviour stay stored but no
  longer count (`store.UNTRUSTED_REVOCATIONS`).

`PublicationCache` keeps the combined data in memory and rebuilds it when the database's
fingerprint changes: a release accepted, a member approved or revoked (also by the CLI, in
another process). The rebuild is the figure measured by ``bench/bench_statistics.py``.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from observatory.statistics import store
from observatory.statistics.combine import (
    CombinedTable,
    NodeRelease,
    NodeTable,
    combine,
    dashboard,
)
from observatory.statistics.schema import StatisticsConfig
from observatory.storage.database import Database
from protocol.statistics import NODE_REGIONS, REGION_VOCABULARY

ALL = "all"  # the scope of the federation-wide estimates
T = TypeVar("T")


def qualify(country: str, code: str) -> str:
    return f"{country}/{code}"


def split_region(label: str) -> tuple[str, str]:
    """'CD/north' -> ('CD', 'north')."""
    country, _, code = label.partition("/")
    return country, code


def region_values(r: store.StoredRelease, values: tuple[str, ...]) -> tuple[str, ...]:
    """A release's region values as published: shared codes as they are; a node's own codes
    (releases from before the shared geography) qualified by its country."""
    if r.region_vocabulary != NODE_REGIONS:
        return values
    return tuple(qualify(r.country, v) for v in values)


def node_release(r: store.StoredRelease) -> NodeRelease:
    tables = []
    for t in r.tables:
        domains = tuple(region_values(r, values) if d == "region"
                        else values for d, values in zip(t.dimensions, t.domains, strict=True))
        tables.append(NodeTable(t.name, t.dimensions, domains, t.counts, t.variance,
                                t.mechanism, r.region_vocabulary))
    return NodeRelease(r.node_id, r.period, r.release_id, tuple(tables), r.epsilon,
                       r.plan_version)


@dataclass(frozen=True)
class TableParams:
    """The privacy parameters one node's table contributed with."""

    node_id: str
    release_id: str
    plan_version: int
    privacy_unit: str
    contributions: int
    mechanism: str
    epsilon: float
    scale: float
    variance: float


@dataclass(frozen=True)
class NodeLoss:
    """One row of the methodology's table: a node's privacy loss on one period."""

    node_id: str
    organisation_name: str
    country: str
    period: str
    releases: int
    epsilon_spent: float  # published releases, or more: the node's declared spend, which
    #                       includes the drafts it computed and discarded
    budget_per_period: float  # as declared in its latest release
    counted: bool
    release_in_use: str


class _Memo:
    """Values computed once on first use, thread-safe (one computation at a time)."""

    def __init__(self) -> None:
        self._values: dict[Any, Any] = {}
        self._lock = threading.Lock()

    def get(self, key: Any, make: Callable[[], T], limit: int = 512) -> T:
        try:
            value: T = self._values[key]
            return value
        except KeyError:
            pass
        with self._lock:
            if key not in self._values:
                if len(self._values) >= limit:
                    self._values.clear()
                self._values[key] = make()
            value = self._values[key]
            return value


@dataclass
class Scope:
    """The estimates of one scope: the whole federation, or one country."""

    key: str  # ALL or an ISO 3166-1 alpha-2 code
    tables: tuple[CombinedTable, ...]
    _views: _Memo = field(default_factory=_Memo, repr=False)

    @property
    def periods(self) -> tuple[str, ...]:
        """Newest first."""
        return tuple(sorted({t.period for t in self.tables}, reverse=True))

    def in_period(self, period: str) -> list[CombinedTable]:
        return [t for t in self.tables if t.period == period]

    def view(self, period: str) -> dict[str, Any]:
        """`combine.dashboard` of one period: totals, by month, month x region, category,
        affiliation and region, each with intervals (pooled across tables)."""
        return self._views.get(period, lambda: dashboard(
            self.tables, period, region_vocabulary=REGION_VOCABULARY))


@dataclass
class Publication:
    fingerprint: tuple[int, int, int]
    plan: StatisticsConfig
    releases: int  # accepted releases, in use or replaced
    overall: Scope
    countries: Mapping[str, Scope]
    losses: tuple[NodeLoss, ...]
    in_use: Mapping[tuple[str, str], store.StoredRelease]  # (period, node) -> release
    build_seconds: float = 0.0
    memo: _Memo = field(default_factory=_Memo, repr=False)  # open data, rendered pages

    @property
    def periods(self) -> tuple[str, ...]:
        return self.overall.periods

    def scope(self, key: str) -> Scope | None:
        return self.overall if key == ALL else self.countries.get(key)

    def params(self, table: CombinedTable) -> list[TableParams]:
        """Each contributing node's parameters for `table`, by node id."""
        out = []
        for node in sorted(table.node_ids):
            r = self.in_use[(table.period, node)]
            t = next(t for t in r.tables if t.name == table.table)
            out.append(TableParams(node, r.release_id, r.plan_version, "report",
                                   r.contributions, t.mechanism, t.epsilon, t.scale,
                                   t.variance))
        return out

    def nodes_in(self, period: str, country: str | None = None) -> int:
        return sum(1 for (p, _), r in self.in_use.items()
                   if p == period and (country is None or r.country == country))


def _losses(releases: Iterable[store.StoredRelease],
            in_use: Mapping[tuple[str, str], store.StoredRelease]) -> tuple[NodeLoss, ...]:
    groups: dict[tuple[str, str], list[store.StoredRelease]] = {}
    for r in releases:
        groups.setdefault((r.node_id, r.period), []).append(r)
    out = []
    for (node, period), rs in groups.items():
        last = rs[-1]
        used = in_use.get((period, node))
        # what the node declares it spent on the period includes the drafts it computed and
        # discarded (they were drawn and seen); what it published here is a lower bound
        spent = max(math.fsum(r.epsilon for r in rs), max(r.spent_in_period for r in rs))
        out.append(NodeLoss(
            node, last.organisation_name, last.country, period, len(rs),
            spent, last.budget_per_period, last.counted,
            used.release_id if used is not None else last.release_id))
    return tuple(sorted(out, key=lambda n: (-int(n.period), n.country,
                                            n.organisation_name.casefold(), n.node_id)))


def build(releases: list[store.StoredRelease], plan: StatisticsConfig,
          fingerprint: tuple[int, int, int] = (0, 0, 0)) -> Publication:
    """Combine `releases` (oldest first, as `store.releases` returns them)."""
    started = time.perf_counter()
    counted = [r for r in releases if r.counted]
    in_use: dict[tuple[str, str], store.StoredRelease] = {}
    for r in counted:  # later ones replace earlier ones, as in `combine.latest`
        in_use[(r.period, r.node_id)] = r
    as_nodes = [node_release(r) for r in counted]
    overall = Scope(ALL, tuple(combine(as_nodes)))
    by_country: dict[str, list[NodeRelease]] = {}
    for r, n in zip(counted, as_nodes, strict=True):
        by_country.setdefault(r.country, []).append(n)
    countries = {c: Scope(c, tuple(combine(rs))) for c, rs in sorted(by_country.items())}
    return Publication(fingerprint, plan, len(releases), overall, countries,
                       _losses(releases, in_use), in_use,
                       build_seconds=time.perf_counter() - started)


class PublicationCache:
    """The current `Publication`, rebuilt when the stored data changes.

    `get` costs two small queries when nothing changed; a rebuild holds a lock so that
    concurrent readers wait for one rebuild instead of each starting their own."""

    def __init__(self, db: Database, plan: StatisticsConfig) -> None:
        self._db = db
        self._plan = plan
        self._current: Publication | None = None
        self._lock = threading.Lock()

    def get(self) -> Publication:
        fp = store.fingerprint(self._db.read())
        current = self._current
        if current is not None and current.fingerprint == fp:
            return current
        with self._lock:
            current = self._current
            if current is not None and current.fingerprint == fp:
                return current
            # The fingerprint is read before the rows: a release stored meanwhile changes
            # it again, and the next `get` rebuilds.
            current = build(store.releases(self._db.read()), self._plan, fp)
            self._current = current
            return current
