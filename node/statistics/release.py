"""Differentially private histograms of coded incidents, computed with OpenDP.

Each table of the plan is one OpenDP measurement: ``make_count_by_categories`` over the
table's fixed cells (``null_category=False``: the default appends a cell nobody asked for),
chained with ``then_laplace``, which on integer counts is the discrete Laplace mechanism
(exact integers, sampled from OpenDP's cryptographically secure generator; Canonne, Kamath
and Steinke 2020, "The Discrete Gaussian for Differential Privacy", and OpenDP's proofs).

The scale of each table is `contributions / epsilon`, nudged upwards until OpenDP's own
privacy map certifies at most the planned epsilon for ``d_in = contributions`` (float rounding
can put ``k / (k / e)`` a hair above ``e``). What the ledger charges is that map's output.

Nothing here touches the database or the clock: `compute` takes the counted incidents and
returns the noisy tables, and `build` the protocol's `StatisticsRelease` that the node keeps
sealed for review, then signs and sends: there is no second model of a release. Noise is
drawn only in `_draw`, so a test can prove that a refused release drew none.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

# The opendp modules used, not `opendp.prelude`: the prelude also imports opendp's
# scikit-learn, polars and numpy extras, about a second at every node process start.
from opendp import accuracy as dp_accuracy
from opendp import domains as dp_domains
from opendp import measurements, metrics, mod, transformations
from opendp import typing as dp_typing

from node.statistics.columns import IncidentColumns, Index
from node.statistics.plan import ReleasePeriod, StatisticsPlan, TablePlan
from protocol.statistics import (
    REGION_VOCABULARY,
    Dimension,
    StatisticsRelease,
    StatisticsTable,
    discrete_laplace_variance,
)

mod.enable_features("contrib")

ALPHA = 0.05  # accuracy is reported at 95 %
_NUDGES = 64


# ---------------------------------------------------------------------- noise arithmetic


def accuracy(scale: float, alpha: float = ALPHA) -> int:
    """Integer half-width a' with P[|noise| > a'] <= alpha. OpenDP gives a real `a` with
    P[|noise| >= a] <= alpha; for integer noise that is |noise| <= ceil(a) - 1."""
    a = float(dp_accuracy.discrete_laplacian_scale_to_accuracy(float(scale), alpha))
    return max(0, math.ceil(a) - 1)


def _histogram(n_cells: int) -> mod.Transformation:
    return transformations.make_count_by_categories(
        dp_domains.vector_domain(dp_domains.atom_domain(T=dp_typing.i32)),
        metrics.symmetric_distance(),
        categories=list(range(n_cells)), null_category=False)


def _loss(measurement: mod.Measurement, d_in: int) -> float:
    """OpenDP's privacy map: the epsilon this measurement certifies for `d_in` records."""
    return float(measurement.map(d_in))  # type: ignore[no-untyped-call]


@dataclass(frozen=True)
class TableMechanism:
    table: TablePlan
    measurement: mod.Measurement
    scale: float
    epsilon: float  # OpenDP's privacy map at d_in = contributions: what the ledger charges
    n_cells: int


def mechanism(table: TablePlan, n_cells: int, contributions: int) -> TableMechanism:
    """The OpenDP measurement of one table, certified to spend at most `table.epsilon`."""
    histogram = _histogram(n_cells)

    def chain(scale: float) -> mod.Measurement:
        measurement: mod.Measurement = histogram >> measurements.then_laplace(scale)
        return measurement

    scale = contributions / table.epsilon
    for _ in range(_NUDGES):
        measurement = chain(scale)
        loss = _loss(measurement, contributions)
        if loss <= table.epsilon:
            return TableMechanism(table, measurement, scale, loss, n_cells)
        scale = math.nextafter(scale, math.inf)
    scale = float(mod.binary_search_param(chain, d_in=contributions, d_out=table.epsilon))
    measurement = chain(scale)
    return TableMechanism(table, measurement, scale, _loss(measurement, contributions), n_cells)


def mechanisms(plan: StatisticsPlan, tables: Sequence[TablePlan],
               domains: dict[Dimension, tuple[str, ...]]) -> list[TableMechanism]:
    return [mechanism(t, math.prod(len(domains[d]) for d in t.dimensions), plan.contributions)
            for t in tables]


def release_epsilon(mechs: Sequence[TableMechanism]) -> float:
    """Basic composition of pure epsilon-DP: the losses add (Dwork and Roth 2014, Thm 3.16)."""
    return math.fsum(m.epsilon for m in mechs)


def report_loss(mechs: Sequence[TableMechanism]) -> Callable[[int], float]:
    """What a release costs one report that adds `records` incidents to it: OpenDP's privacy
    map of every table at ``d_in = records``, added up. At ``records = contributions`` it is
    the release's epsilon; fewer records cost proportionally less (the per-report ledger,
    node/statistics/bounding.py)."""
    def loss(records: int) -> float:
        if records <= 0:
            return 0.0
        return math.fsum(_loss(m.measurement, records) for m in mechs)
    return loss


def _draw(measurement: mod.Measurement, cells: Index) -> list[int]:
    """The one place noise is drawn (tests spy on it)."""
    return list(measurement(cells))


def compute(columns: IncidentColumns, mechs: Sequence[TableMechanism]
            ) -> tuple[StatisticsTable, ...]:
    """Draw every table's noisy counts. Call only after the budget was checked and charged."""
    out = []
    for m in mechs:
        cells, size = columns.cells(m.table)
        if size != m.n_cells:
            raise ValueError(f"table {m.table.name}: cell domain changed since planning")
        counts = _draw(m.measurement, np.ascontiguousarray(cells, dtype=np.int32))
        if len(counts) != size:
            raise ValueError(f"table {m.table.name}: OpenDP returned {len(counts)} cells")
        out.append(StatisticsTable(
            name=m.table.name, dimensions=m.table.dimensions,
            domains=tuple(columns.domains[d] for d in m.table.dimensions),
            counts=tuple(int(c) for c in counts), mechanism="discrete_laplace", scale=m.scale,
            variance=discrete_laplace_variance(m.scale), accuracy_95=accuracy(m.scale),
            epsilon=m.epsilon))
    return tuple(out)


def build(release_id: str, plan: StatisticsPlan, period: ReleasePeriod,
          tables: tuple[StatisticsTable, ...], *, spent_in_period: float,
          created_hour: int) -> StatisticsRelease:
    """The release message: the noisy tables and the public parameters of their noise and
    budget, nothing else."""
    start, end = period.bounds()
    return StatisticsRelease(
        release_id=release_id, plan_version=plan.version, period=period.key,
        first_month=period.first, last_month=period.last, period_start=start,
        period_end=end, privacy_unit="report", region_vocabulary=REGION_VOCABULARY,
        contributions=plan.contributions,
        mechanism=plan.mechanism, epsilon=math.fsum(t.epsilon for t in tables),
        budget_per_period=plan.budget_per_period, spent_in_period=spent_in_period,
        created_hour=created_hour, tables=tables)
