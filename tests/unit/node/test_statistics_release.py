"""Release computation: cell indices, bounded contributions, and real noise of the declared
scale (issue 6, "Tests that must exist")."""

from __future__ import annotations

import math
import random
import secrets
from collections.abc import Sequence
from datetime import date
from itertools import chain

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from node.backoffice.codings import IncidentRow
from node.backoffice.incidents import IncidentCoding
from node.statistics import release as rel
from node.statistics.columns import IncidentColumns, encode, link_arrays, ranks, vouch
from node.statistics.plan import ReleasePeriod, StatisticsPlan, TablePlan, domain
from protocol.statistics import DIMENSIONS, StatisticsRelease, discrete_laplace_variance
from protocol.vocabulary import CATEGORIES

REGIONS = ["R1", "R2"]
PERIOD = ReleasePeriod(2025, 1, 3)


def row(coding: IncidentCoding, *reports: str, incident_id: str | None = None) -> IncidentRow:
    return IncidentRow(incident_id or secrets.token_hex(12), coding,
                       list(reports) or [secrets.token_hex(16)], True)


def coding(**kw: object) -> IncidentCoding:
    kw.setdefault("category", "rape")
    kw.setdefault("date_from", date(2025, 1, 15))
    return IncidentCoding(**kw)  # type: ignore[arg-type]


def true_counts(columns: IncidentColumns, table: TablePlan) -> np.ndarray:
    """The exact counts, which are never released."""
    cells, size = columns.cells(table)
    return np.bincount(cells, minlength=size)


def vouched(incident_ids: Sequence[str], report_ids: Sequence[Sequence[str]],
            k: int) -> np.ndarray:
    """Which incidents are counted, from their ids and their reports' ids (the node reads
    report numbers from its rows the same way: the rank of each report id)."""
    lengths = np.array([len(r) for r in report_ids], dtype=np.int64)
    return vouch(link_arrays(incident_ids, lengths, ranks(list(chain(*report_ids))), k), k)


def mechs(plan: StatisticsPlan, period: ReleasePeriod = PERIOD) -> list[rel.TableMechanism]:
    dims = {d for t in plan.tables for d in t.dimensions}
    return rel.mechanisms(plan, plan.tables, {d: domain(d, period, REGIONS) for d in dims})


def test_cells_from_codings() -> None:
    rows = [
        row(coding(region="R2", perpetrator_affiliation="militia")),
        row(coding(category="sexual_slavery", date_from=None, date_to=date(2025, 3, 2))),
        row(coding(region="GONE", date_from=date(2025, 2, 1), date_to=date(2025, 6, 1))),
        row(coding(date_from=None)),                      # undated: never counted
        row(coding(date_from=date(2025, 4, 1))),          # outside the period
        row(coding(date_from=date(2024, 1, 1))),          # another year
    ]
    cols = encode(rows, PERIOD, REGIONS, 2, list(DIMENSIONS))
    assert (cols.in_period, cols.counted) == (3, 3)
    table = TablePlan(name="t", dimensions=("category", "month", "region"), epsilon=1)
    counts = true_counts(cols, table).reshape(6, 3, 3)
    rape, slavery = CATEGORIES.index("rape"), CATEGORIES.index("sexual_slavery")
    assert counts[rape, 0, 1] == 1            # January, R2
    assert counts[slavery, 2, 2] == 1         # March (from date_to), no region -> unknown
    assert counts[rape, 1, 2] == 1            # February, a region not configured -> unknown
    assert counts.sum() == 3
    aff = encode(rows, PERIOD, REGIONS, 2, ["perpetrator_affiliation"])
    assert sorted(aff.values["perpetrator_affiliation"].tolist()) == [2, 5, 5]  # militia, unknown


def test_each_report_adds_at_most_k_incidents_and_shared_incidents_count_once() -> None:
    survivor, witness = secrets.token_hex(16), secrets.token_hex(16)
    many = [row(coding(), survivor) for _ in range(5)]
    shared = row(coding(category="forced_pregnancy"), survivor, witness)
    cols = encode([*many, shared], PERIOD, REGIONS, 2, ["category"])
    assert cols.in_period == 6
    # the survivor vouches for the first 2 of their 6 by id; the witness for the shared one
    expected = set(sorted(r.id for r in [*many, shared])[:2]) | {shared.id}
    assert cols.counted == len(expected)
    mask = vouched([r.id for r in [*many, shared]], [r.report_ids for r in [*many, shared]], 2)
    assert {r.id for r, m in zip([*many, shared], mask, strict=True) if m} == expected
    # the same rows in another order give the same result
    again = encode([shared, *reversed(many)], PERIOD, REGIONS, 2, ["category"])
    assert again.counted == cols.counted


def _counted(links: dict[str, list[str]], k: int) -> set[str]:
    ids = sorted(links)
    mask = vouched(ids, [links[i] for i in ids], k)
    return {i for i, m in zip(ids, mask, strict=True) if m}


hexid = st.binary(min_size=12, max_size=12).map(bytes.hex)
graphs = st.dictionaries(hexid, st.lists(st.sampled_from([f"{i:032x}" for i in range(8)]),
                                         min_size=1, max_size=4, unique=True),
                         max_size=30)


@settings(max_examples=300, deadline=None)
@given(graphs, st.integers(1, 4))
def test_removing_one_report_changes_at_most_k_records(links: dict[str, list[str]],
                                                        k: int) -> None:
    """The sensitivity the plan declares to OpenDP: one report's removal (its links go; an
    incident no report describes any more goes with them) changes <= k counted records."""
    before = _counted(links, k)
    reports = {r for rs in links.values() for r in rs}
    for gone in reports:
        after_links = {i: [r for r in rs if r != gone] for i, rs in links.items()}
        after_links = {i: rs for i, rs in after_links.items() if rs}
        after = _counted(after_links, k)
        assert len(before ^ after) <= k
    for report in reports:  # and no report has more than k counted incidents it alone vouches
        mine = sorted(i for i, rs in links.items() if report in rs)
        if len(mine) <= k:
            assert set(mine) <= before


@settings(max_examples=300, deadline=None)
@given(graphs, st.integers(1, 4))
def test_vouching_matches_a_plain_reference(links: dict[str, list[str]], k: int) -> None:
    """The numpy implementation against the rule in words: each report vouches for its first
    k incidents by id; an incident counts if any of its reports vouches for it."""
    by_report: dict[str, list[str]] = {}
    for incident in sorted(links):
        for report in links[incident]:
            by_report.setdefault(report, []).append(incident)
    expected = {i for incidents in by_report.values() for i in incidents[:k]}
    assert _counted(links, k) == expected
    # the order of the rows does not matter
    shuffled = sorted(links, key=lambda i: i[::-1])
    mask = vouched(shuffled, [links[i] for i in shuffled], k)
    assert {i for i, m in zip(shuffled, mask, strict=True) if m} == expected


def test_mechanism_certifies_at_most_the_planned_epsilon() -> None:
    for k, eps in ((3, 0.3), (7, 0.7), (3, 0.7), (1, 0.1), (2, 0.2)):
        table = TablePlan(name="t", dimensions=("category",), epsilon=eps)
        m = rel.mechanism(table, 6, k)
        assert m.epsilon <= eps
        assert m.epsilon == pytest.approx(eps, rel=1e-12)
        assert m.scale == pytest.approx(k / eps, rel=1e-12)


def test_variance_and_accuracy_formulas() -> None:
    assert discrete_laplace_variance(10.0) == pytest.approx(199.83, abs=0.01)
    # P[|noise| > a] = 2 p^(a+1) / (1 + p) for the two-sided geometric distribution
    for scale in (0.5, 2.0, 10.0, 37.5):
        a = rel.accuracy(scale)
        p = math.exp(-1 / scale)
        assert 2 * p ** (a + 1) / (1 + p) <= 0.05 < 2 * p ** a / (1 + p)


def test_noise_is_real_and_of_the_declared_scale() -> None:
    """Over many releases of fixed data, each cell's empirical variance matches the declared
    variance and the mean error is near zero."""
    rng = random.Random(6)
    rows = [row(coding(category=rng.choice(CATEGORIES), context=rng.choice(
        ["unknown", "international_armed_conflict"]),
        date_from=date(2025, rng.randint(1, 3), 1))) for _ in range(300)]
    plan = StatisticsPlan(contributions=2, budget_per_period=1.0, tables=(
        TablePlan(name="context_category", dimensions=("context", "category"), epsilon=0.5),
        TablePlan(name="category_month", dimensions=("category", "month"), epsilon=0.5)))
    cols = encode(rows, PERIOD, REGIONS, plan.contributions, ["context", "category", "month"])
    ms = mechs(plan)
    truth = {t.name: true_counts(cols, t).astype(float) for t in plan.tables}
    n = 2000
    errors = {t.name: np.empty((n, len(truth[t.name]))) for t in plan.tables}
    for i in range(n):
        for t in rel.compute(cols, ms):
            errors[t.name][i] = np.array(t.counts) - truth[t.name]
    for t in rel.compute(cols, ms):
        declared = t.variance
        assert t.scale == 4.0 and declared == pytest.approx(31.8, abs=0.1)
        err = errors[t.name]
        assert np.all(err == np.rint(err))             # exact integers
        assert np.count_nonzero(err) > 0.8 * err.size  # real noise, not a no-op
        per_cell = err.var(axis=0, ddof=1)
        # sample variance of Laplace-like noise: relative sd ~ sqrt(5 / n) = 5 %; allow 5 sd
        assert np.all(np.abs(per_cell / declared - 1) < 0.25), per_cell / declared
        assert abs(err.var(ddof=1) / declared - 1) < 0.05
        se = math.sqrt(declared / n)
        assert np.all(np.abs(err.mean(axis=0)) < 5 * se)
        assert abs(err.mean()) < 5 * math.sqrt(declared / err.size)
        # the declared 95 % accuracy holds
        assert np.mean(np.abs(err) <= t.accuracy_95) >= 0.94


def test_release_cells_round_trip() -> None:
    plan = StatisticsPlan()
    cols = encode([row(coding(region="R1"))], PERIOD, REGIONS, 2, list(DIMENSIONS))
    tables = rel.compute(cols, mechs(plan))
    release = rel.build("ab" * 16, plan, PERIOD, tables, spent_in_period=1.0,
                        created_hour=480_000)
    again = StatisticsRelease.model_validate_json(release.model_dump_json())
    assert again == release
    assert StatisticsRelease.from_json_object(release.to_json_object()) == release
    t = next(t for t in again.tables if t.name == "category_month_region")
    keys = list(t.cell_keys())
    assert len(keys) == len(t.counts) == 6 * 3 * 3
    assert keys[0] == ("rape", "2025-01", "R1") and keys[-1][1:] == ("2025-03", "unknown")
    assert keys[1] == ("rape", "2025-01", "R2") and keys[3] == ("rape", "2025-02", "R1")
    assert dict(t.cells())[("rape", "2025-01", "R1")] == t.counts[0]
    assert release.epsilon == pytest.approx(1.0)
    assert (release.first_month, release.last_month) == ("2025-01", "2025-03")
    assert "coding" not in release.model_dump_json() and "report" not in str(
        release.model_dump(exclude={"privacy_unit"}))
