"""The lifetime bound (node/statistics/bounding.py), as properties over any link graph,
multi-year reports and any consent pattern (issue 14):

* removing or adding one report -- consenting or not, linked to anything -- changes each
  release by at most the records that report adds to it, and those add up to at most `k`
  over every period of its lifetime;
* a report that does not consent changes nothing at all;
* over a whole history of releases, with links added and consent changed between them, the
  per-report ledger keeps each report's loss within `lifetime_loss`, and that loss is at
  least what removing the report would change in every release (the ledger never
  under-charges).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from node.backoffice.codings import IncidentRow
from node.backoffice.incidents import IncidentCoding
from node.statistics.bounding import ReportFilter, Selection, select
from node.statistics.columns import Coded, coded
from node.statistics.plan import ReleasePeriod

YEARS = list(range(2019, 2025))
PERIODS = [ReleasePeriod(y) for y in YEARS]
REPORTS = [f"{i:032x}" for i in range(7)]


@dataclass(frozen=True)
class Graph:
    incidents: dict[str, int | None]      # incident id -> year (None: undated)
    links: dict[str, frozenset[str]]       # incident id -> its reports
    consent: dict[str, bool]               # report -> statistics consent

    def without(self, report: str) -> Graph:
        return Graph(self.incidents, {i: r - {report} for i, r in self.links.items()},
                     {r: c for r, c in self.consent.items() if r != report})

    def coded(self) -> Coded:
        rows = [IncidentRow(i, IncidentCoding(
            category="rape", date_from=None if y is None else date(y, 6, 1)),
            sorted(self.links[i]), True) for i, y in self.incidents.items()]
        return coded(rows)


@st.composite
def graphs(draw: st.DrawFn) -> Graph:
    ids = draw(st.lists(st.binary(min_size=8, max_size=8).map(bytes.hex), unique=True,
                        min_size=1, max_size=30))
    incidents = {i: draw(st.none() | st.sampled_from(YEARS)) for i in ids}
    links = {i: frozenset(draw(st.lists(st.sampled_from(REPORTS), max_size=3))) for i in ids}
    consent = {r: draw(st.booleans()) for r in REPORTS}
    return Graph(incidents, links, consent)


def run(graph: Graph, period: ReleasePeriod, k: int, spent: dict[str, float] | None = None,
        lifetime: float = 1e9, eps: float = 1.0) -> tuple[set[str], Selection]:
    c = graph.coded()
    ids = list(c.report_ids or ())
    spent = spent or {}
    chosen = select(c, period, k, ReportFilter(
        consenting=np.array([graph.consent.get(r, False) for r in ids], dtype=bool),
        spent=np.array([spent.get(r, 0.0) for r in ids], dtype=np.float64),
        lifetime=lifetime, loss=lambda records: records * eps / k))
    return {c.ids[i] for i in np.flatnonzero(chosen.counted).tolist()}, chosen


def records_of(chosen: Selection, report: str) -> int:
    ids = list(chosen.reports or ())
    return int(chosen.records[ids.index(report)]) if report in ids else 0


@settings(max_examples=300, deadline=None)
@given(graphs(), st.sampled_from(REPORTS), st.integers(1, 3))
def test_one_report_moves_its_whole_history_by_at_most_k(graph: Graph, report: str,
                                                         k: int) -> None:
    total = 0
    for period in PERIODS:
        with_it, chosen = run(graph, period, k)
        without, _ = run(graph.without(report), period, k)
        changed = len(with_it ^ without)
        # only what it vouches for, and only if it consents
        assert changed <= records_of(chosen, report)
        assert without <= with_it
        if not graph.consent[report]:
            assert changed == 0 and records_of(chosen, report) == 0
        total += records_of(chosen, report)
    assert total <= k  # over every period of its lifetime together


@settings(max_examples=300, deadline=None)
@given(graphs(), st.sampled_from(REPORTS), st.integers(1, 3))
def test_a_consent_change_moves_a_release_by_at_most_k(graph: Graph, report: str,
                                                       k: int) -> None:
    flipped = Graph(graph.incidents, graph.links,
                    {**graph.consent, report: not graph.consent[report]})
    total = 0
    for period in PERIODS:
        a, chosen_a = run(graph, period, k)
        b, chosen_b = run(flipped, period, k)
        assert len(a ^ b) <= max(records_of(chosen_a, report), records_of(chosen_b, report))
        # nobody else's choice depends on this report's consent
        for other in REPORTS:
            if other != report:
                assert records_of(chosen_a, other) == records_of(chosen_b, other)
        total += len(a ^ b)
    assert total <= k


@st.composite
def histories(draw: st.DrawFn) -> tuple[Graph, list[tuple[str, object]]]:
    """A graph, then steps: a release of some year, a new link, or a consent change."""
    graph = draw(graphs())
    ids = list(graph.incidents)
    steps: list[tuple[str, object]] = []
    for _ in range(draw(st.integers(1, 14))):
        kind = draw(st.sampled_from(["release", "release", "link", "consent"]))
        if kind == "release":
            steps.append((kind, draw(st.sampled_from(YEARS))))
        elif kind == "link":
            steps.append((kind, (draw(st.sampled_from(ids)), draw(st.sampled_from(REPORTS)))))
        else:
            steps.append((kind, (draw(st.sampled_from(REPORTS)), draw(st.booleans()))))
    return graph, steps


@settings(max_examples=200, deadline=None)
@given(histories(), st.integers(1, 3), st.sampled_from([0.5, 1.0, 2.0]),
       st.sampled_from([1.0, 2.0, 3.0]))
def test_the_ledger_bounds_every_reports_lifetime_loss(
        history: tuple[Graph, list[tuple[str, object]]], k: int, eps: float,
        lifetime: float) -> None:
    """Releases of any years, links added and consent changed between them: each report's
    charged loss stays within `lifetime`, and every release moved by removing that report
    is paid for by its charge (loss per record = eps / k, the discrete Laplace map)."""
    graph, steps = history
    spent: dict[str, float] = {}
    moved: dict[str, float] = {r: 0.0 for r in REPORTS}
    for kind, arg in steps:
        if kind == "link":
            incident, report = arg  # type: ignore[misc]
            graph = Graph(graph.incidents, {**graph.links,
                                            incident: graph.links[incident] | {report}},
                          graph.consent)
        elif kind == "consent":
            report, value = arg  # type: ignore[misc]
            graph = Graph(graph.incidents, graph.links, {**graph.consent, report: value})
        else:
            period = ReleasePeriod(arg)  # type: ignore[arg-type]
            counted, chosen = run(graph, period, k, spent, lifetime, eps)
            for report in REPORTS:
                # the neighbouring history: the same release without this report, whose
                # absence changes nobody else's charges (they depend on their own links)
                without, _ = run(graph.without(report), period, k,
                                 {r: s for r, s in spent.items() if r != report},
                                 lifetime, eps)
                moved[report] += len(counted ^ without) * eps / k
            for report, loss in chosen.charged().items():
                spent[report] = spent.get(report, 0.0) + loss
    for report in REPORTS:
        assert spent.get(report, 0.0) <= lifetime * (1 + 1e-9)
        assert moved[report] <= spent.get(report, 0.0) + 1e-9


def test_a_multi_year_report_counts_k_incidents_over_its_lifetime() -> None:
    """The case the per-year bound missed: a report describing abuse over six years adds
    `k` records in all, not `k` per year."""
    survivor = REPORTS[0]
    ids = [f"{i:016x}" for i in range(12)]
    graph = Graph({i: YEARS[n // 2] for n, i in enumerate(ids)},
                  {i: frozenset({survivor}) for i in ids}, {survivor: True})
    counted = [run(graph, p, 2)[0] for p in PERIODS]
    assert sum(len(c) for c in counted) == 2
    assert counted[0] == {ids[0], ids[1]}


def test_a_witness_without_consent_neither_adds_nor_removes() -> None:
    """A shared incident counts on the consenting survivor's account; the witness who
    refused changes nothing, however many incidents they share (the old filter removed
    them all, 2m records for m shared incidents)."""
    survivor, witness = REPORTS[:2]
    ids = [f"{i:016x}" for i in range(5)]
    shared = Graph({i: 2024 for i in ids}, {i: frozenset({survivor, witness}) for i in ids},
                   {survivor: True, witness: False})
    counted, chosen = run(shared, ReleasePeriod(2024), 2)
    assert counted == {ids[0], ids[1]}
    assert run(shared.without(witness), ReleasePeriod(2024), 2)[0] == counted
    assert records_of(chosen, witness) == 0 and chosen.charged() == {survivor: 1.0}
