"""Combine nodes' noisy counts into estimates with 95 % intervals. Pure: no I/O, numpy only.

Model. Node i publishes, for each cell c of a table, y_ic = x_ic + e_ic, where x_ic is its
true count and e_ic independent, zero-mean noise of published variance v_ic (discrete
Laplace: v = 2p / (1 - p)^2, p = exp(-1/scale)). The federation-wide count of a cell is
x_c = sum_i x_ic, so:

* estimate   = sum_i y_ic, unbiased, and *never clamped*: a negative noisy count is
  information, and clamping each cell at zero would bias every sum upwards;
* variance   = sum_i v_ic (independent noises);
* interval   = estimate +/- w * sqrt(variance), with w the 97.5 % quantile of the
  standardised noise. For a sum of many nodes' noise w -> 1.96 (central limit theorem);
  for a cell only one or two nodes report, Laplace tails are heavier (a single Laplace needs
  ln(20) / sqrt(2) = 2.12). We use the Cornish-Fisher expansion with the sum's excess
  kurtosis g2 = sum_i k4_i / variance^2 (Cornish and Fisher 1938; Abramowitz and Stegun
  26.2.49): w = z + (z^3 - 3z) g2 / 24, z = 1.96. Discrete Laplace noise has excess
  kurtosis -> 3 at large scale, so a single node gets w ~ 2.17 and 1,000 nodes ~ 1.96.
* marginals and totals sum cells' *unclamped* estimates, variances and fourth cumulants;
* `display` values are rounded and clamped at zero, for charts and tables only.

Several tables of one release count the same incidents with independent noise, so a
marginal (e.g. per category) present in several tables is pooled by inverse-variance
weighting when the same nodes contribute to each (`pooled`).

Each node contributes its latest release per period (`latest`): two releases of the same
period count overlapping incidents and must never be added. Tables of different plan
versions are never added either: `combine` groups by plan version as by dimensions, and
`dashboard` shows, per period, the version most nodes published under.

Exact intervals for a single noise term. A cell only one node reports carries one discrete
Laplace draw, integer-valued, for which the normal-style interval above under-covers at
small scales (92.7 % at scale 1). There the interval is exact instead: the smallest integer
a with P(|e| > a) = 2 p^(a+1) / (1 + p) <= alpha, so it covers with probability >= 95 %
whatever the true count (`exact_half_width`).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

Z95 = 1.959963984540054  # the 97.5 % quantile of the standard normal
MAX_EXCESS_KURTOSIS = 6.0  # the Cornish-Fisher term is only trusted this far
MIN_POOLED_VARIANCE = 1e-9  # noiseless (or nearly) tables are used alone, never weighted
Array = npt.NDArray[np.float64]
Mechanism = str  # "discrete_laplace", "laplace", "discrete_gaussian", "gaussian"


# ---------------------------------------------------------------------- noise moments


def _discrete_laplace_p(variance: Array) -> Array:
    """Solve variance = 2p / (1 - p)^2 for p in [0, 1), in the form without cancellation:
    p = v / ((v + 1) + sqrt(2v + 1))."""
    v = np.maximum(np.asarray(variance, dtype=np.float64), 0.0)
    return np.asarray(v / ((v + 1.0) + np.sqrt(2.0 * v + 1.0)), dtype=np.float64)


def fourth_cumulant(mechanism: Mechanism, variance: Array) -> Array:
    """k4 = E[e^4] - 3 Var^2 of one node's noise, from its published variance.

    Two-sided geometric (discrete Laplace): E[e^4] = 2p (1 + 11p + 11p^2 + p^3) /
    ((1 + p)(1 - p)^4), so the excess kurtosis tends to 3 as the scale grows. Laplace:
    excess kurtosis 3. Gaussian noise: 0."""
    v = np.maximum(np.asarray(variance, dtype=np.float64), 0.0)
    if mechanism == "discrete_laplace":
        p = _discrete_laplace_p(v)
        m4 = 2 * p * (1 + 11 * p + 11 * p**2 + p**3) / ((1 + p) * (1 - p) ** 4)
        return np.asarray(np.maximum(m4 - 3.0 * v**2, 0.0), dtype=np.float64)
    if mechanism == "laplace":
        return np.asarray(3.0 * v**2, dtype=np.float64)
    return np.zeros_like(v)


def exact_half_width(variance: Array, z: float = Z95) -> Array:
    """Half-width of the exact interval of ONE discrete Laplace draw: the smallest integer a
    with P(|e| > a) = 2 p^(a+1) / (1 + p) <= alpha, alpha = P(|N(0,1)| > z)."""
    alpha = math.erfc(z / math.sqrt(2.0))
    p = _discrete_laplace_p(variance)
    out = np.zeros_like(p)
    positive = p > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        a = np.ceil(np.log(alpha * (1.0 + p[positive]) / 2.0) / np.log(p[positive]) - 1.0
                    - 1e-12)
    out[positive] = np.maximum(a, 0.0)
    return np.asarray(out, dtype=np.float64)


def interval_half_width(variance: Array, k4: Array, terms: npt.NDArray[Any] | None,
                        z: float = Z95) -> Array:
    """`exact_half_width` where a cell is one discrete Laplace draw (`terms == 1`), else
    `half_width`. `terms` is None when the noise is not (only) discrete Laplace."""
    h = half_width(variance, k4, z)
    if terms is None:
        return h
    single = np.asarray(terms) == 1
    if single.any():
        h = np.where(single, exact_half_width(np.asarray(variance, dtype=np.float64), z), h)
    return np.asarray(h, dtype=np.float64)


def half_width(variance: Array, k4: Array, z: float = Z95) -> Array:
    """Half-width of the two-sided interval of a sum of independent noises."""
    v = np.asarray(variance, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        g2 = np.where(v > 0, np.asarray(k4, dtype=np.float64) / v**2, 0.0)
    g2 = np.clip(np.nan_to_num(g2), 0.0, MAX_EXCESS_KURTOSIS)
    w = z + (z**3 - 3 * z) * g2 / 24.0
    return np.asarray(w * np.sqrt(np.maximum(v, 0.0)), dtype=np.float64)


# ---------------------------------------------------------------------- inputs


@dataclass(frozen=True)
class NodeTable:
    """One table of one node's release: counts row-major over `domains` (last fastest)."""

    table: str
    dimensions: tuple[str, ...]
    domains: tuple[tuple[str, ...], ...]
    counts: Sequence[float] | npt.NDArray[Any]
    variance: float | Sequence[float] | npt.NDArray[Any]
    mechanism: Mechanism = "discrete_laplace"
    region_vocabulary: str = ""  # what region values are keyed by ("" if no region)

    def __post_init__(self) -> None:
        if len(self.dimensions) != len(self.domains) or not self.dimensions:
            raise ValueError(f"{self.table}: one domain per dimension")
        if len(set(self.dimensions)) != len(self.dimensions):
            raise ValueError(f"{self.table}: a dimension appears twice")
        if any(len(set(d)) != len(d) or not d for d in self.domains):
            raise ValueError(f"{self.table}: a domain is empty or repeats a value")
        n = math.prod(len(d) for d in self.domains)
        counts = np.asarray(self.counts, dtype=np.float64).reshape(-1)
        if counts.shape != (n,) or not np.isfinite(counts).all():
            raise ValueError(f"{self.table}: {n} finite counts expected")
        var = np.broadcast_to(np.asarray(self.variance, dtype=np.float64), (n,))
        if not (np.isfinite(var).all() and (var >= 0).all()):
            raise ValueError(f"{self.table}: variances must be finite and >= 0")
        object.__setattr__(self, "counts", counts)
        object.__setattr__(self, "variance", var)


@dataclass(frozen=True)
class NodeRelease:
    node: str
    period: str
    release_id: str
    tables: tuple[NodeTable, ...]
    epsilon: float = 0.0
    plan_version: int = 1


def latest(releases: Iterable[NodeRelease]) -> list[NodeRelease]:
    """The last release given for each (node, period): pass them in publication order."""
    last: dict[tuple[str, str], NodeRelease] = {}
    for r in releases:
        last.pop((r.node, r.period), None)
        last[(r.node, r.period)] = r
    return list(last.values())


# ---------------------------------------------------------------------- results


@dataclass(frozen=True)
class CombinedTable:
    """Federation-wide estimates of one table and period; arrays shaped like `domains`."""

    period: str
    table: str
    dimensions: tuple[str, ...]
    domains: tuple[tuple[str, ...], ...]
    estimate: Array   # unclamped sum of noisy counts
    variance: Array
    k4: Array         # fourth cumulant of the summed noise (for the interval)
    nodes: npt.NDArray[np.int64]  # how many nodes reported each cell
    node_ids: frozenset[str] = field(default_factory=frozenset)
    plan_version: int = 1
    terms: npt.NDArray[np.int64] | None = None  # discrete Laplace draws summed per cell;
    #                                             None unless every draw is discrete Laplace
    region_vocabulary: str = ""  # what the region values are keyed by ("" if no region)

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(len(d) for d in self.domains)

    def interval(self, z: float = Z95) -> tuple[Array, Array]:
        h = interval_half_width(self.variance, self.k4, self.terms, z)
        return self.estimate - h, self.estimate + h

    def display(self) -> npt.NDArray[np.int64]:
        """Rounded and clamped at zero: for showing, never for adding up."""
        return np.asarray(np.maximum(np.rint(self.estimate), 0), dtype=np.int64)

    def marginal(self, keep: Sequence[str]) -> CombinedTable:
        """Sums over every other dimension, from the unclamped estimates."""
        if len(set(keep)) != len(keep):
            raise ValueError("a dimension appears twice")
        missing = [d for d in keep if d not in self.dimensions]
        if missing:
            raise KeyError(f"{self.table} has no dimension {missing[0]}")
        axes = tuple(i for i, d in enumerate(self.dimensions) if d not in keep)
        order = [self.dimensions.index(d) for d in keep]
        kept = sorted(order)
        perm = [kept.index(i) for i in order]

        def fold(a: npt.NDArray[Any], how: str = "sum") -> npt.NDArray[Any]:
            folded = (a.sum(axis=axes) if how == "sum" else a.max(axis=axes)) if axes else a
            return np.transpose(np.asarray(folded), perm)

        return CombinedTable(
            self.period, self.table, tuple(keep), tuple(self.domains[i] for i in order),
            fold(self.estimate), fold(self.variance), fold(self.k4),
            # a node's domain covers whole rows, so it reports a marginal cell's parts or none
            fold(self.nodes, "max"), self.node_ids, self.plan_version,
            None if self.terms is None else fold(self.terms),
            self.region_vocabulary if "region" in keep else "")

    def total(self) -> tuple[float, float, float]:
        """(estimate, lower, upper) of the sum of all cells."""
        m = self.marginal(())
        lo, hi = m.interval()
        return float(m.estimate), float(lo), float(hi)

    def rows(self, z: float = Z95) -> list[dict[str, Any]]:
        """JSON-ready cells: key, unclamped estimate, display value, interval, variance."""
        lo, hi = self.interval(z)
        shown = self.display()
        out = []
        for idx in np.ndindex(*self.shape):
            out.append({
                "key": [self.domains[j][i] for j, i in enumerate(idx)],
                "estimate": float(self.estimate[idx]), "display": int(shown[idx]),
                "lower": float(lo[idx]), "upper": float(hi[idx]),
                "variance": float(self.variance[idx]), "nodes": int(self.nodes[idx]),
            })
        return out


# ---------------------------------------------------------------------- combination


class _Axis:
    """A dimension's values across nodes: first-seen order, or sorted (months)."""

    def __init__(self, sort: bool) -> None:
        self.sort = sort
        self.index: dict[str, int] = {}
        self._maps: dict[tuple[str, ...], npt.NDArray[np.int64]] = {}

    def add(self, values: tuple[str, ...]) -> None:
        for v in values:
            if v not in self.index:
                self.index[v] = len(self.index)

    def finish(self) -> tuple[str, ...]:
        labels = sorted(self.index) if self.sort else list(self.index)
        self.index = {v: i for i, v in enumerate(labels)}
        self._maps.clear()
        return tuple(labels)

    def map(self, values: tuple[str, ...]) -> npt.NDArray[np.int64]:
        found = self._maps.get(values)
        if found is None:
            found = np.fromiter((self.index[v] for v in values), dtype=np.int64,
                                count=len(values))
            self._maps[values] = found
        return found


def _k4(mechanism: Mechanism, variance: Array, memo: dict[tuple[str, float], float]) -> Array:
    """`fourth_cumulant`, computed once per (mechanism, variance) when a table's cells share
    one variance (every table of the node's plan does): thousands of nodes, few scales."""
    if variance.size == 0:
        return np.zeros_like(variance)
    first = float(variance.flat[0])
    if not np.all(variance == first):
        return fourth_cumulant(mechanism, variance)
    k4 = memo.get((mechanism, first))
    if k4 is None:
        k4 = float(fourth_cumulant(mechanism, np.array(first)))
        memo[(mechanism, first)] = k4
    return np.full(variance.shape, k4)


def combine(releases: Iterable[NodeRelease], *, sort_dimensions: Sequence[str] = ("month",)
            ) -> list[CombinedTable]:
    """Combine the latest release of each node and period, table by table.

    Tables are matched by (period, name, dimensions, plan version) and region vocabulary:
    a node whose plan gives a table name other dimensions, that publishes under another plan
    version, or whose regions are keyed by another vocabulary, is combined separately,
    never mixed."""
    groups: dict[tuple[str, str, tuple[str, ...], int, str],
                 list[tuple[str, NodeTable]]] = {}
    k4_memo: dict[tuple[str, float], float] = {}
    for r in latest(releases):
        for t in r.tables:
            groups.setdefault((r.period, t.table, t.dimensions, r.plan_version, _vocabulary(t)),
                              []).append((r.node, t))
    out = []
    for (period, name, dims, version, vocabulary), members in sorted(groups.items()):
        axes = [_Axis(d in sort_dimensions) for d in dims]
        for _, t in members:
            for axis, values in zip(axes, t.domains, strict=True):
                axis.add(values)
        domains = tuple(axis.finish() for axis in axes)
        shape = tuple(len(d) for d in domains)
        size = math.prod(shape)
        flats, counts, variances, k4s = [], [], [], []
        for _, t in members:
            flat = np.zeros(1, dtype=np.int64)
            for axis, values, n in zip(axes, t.domains, shape, strict=True):
                flat = (flat[:, None] * n + axis.map(values)[None, :]).reshape(-1)
            var = np.asarray(t.variance, dtype=np.float64)
            flats.append(flat)
            counts.append(np.asarray(t.counts, dtype=np.float64))
            variances.append(var)
            k4s.append(_k4(t.mechanism, var, k4_memo))
        index = np.concatenate(flats)

        def add(values: list[Array], index: npt.NDArray[np.int64] = index,
                size: int = size, shape: tuple[int, ...] = shape) -> Array:
            summed = np.bincount(index, weights=np.concatenate(values), minlength=size)
            return np.asarray(summed, dtype=np.float64).reshape(shape)

        reported = np.bincount(index, minlength=size).astype(np.int64).reshape(shape)
        discrete = all(t.mechanism == "discrete_laplace" for _, t in members)
        out.append(CombinedTable(
            period, name, dims, domains, add(counts), add(variances), add(k4s), reported,
            frozenset(node for node, _ in members), version,
            reported.copy() if discrete else None, vocabulary))
    return out


def _vocabulary(table: NodeTable) -> str:
    """The region vocabulary a table's cells are keyed by; "" for a table without regions,
    whose cells mean the same under any."""
    return table.region_vocabulary if "region" in table.dimensions else ""


@dataclass(frozen=True)
class Pooled:
    """A marginal estimated from one or more tables (inverse-variance weighted)."""

    dimensions: tuple[str, ...]
    domains: tuple[tuple[str, ...], ...]
    estimate: Array
    variance: Array
    k4: Array
    tables: tuple[str, ...]
    terms: npt.NDArray[np.int64] | None = None  # as `CombinedTable.terms`; None when pooled

    def interval(self, z: float = Z95) -> tuple[Array, Array]:
        h = interval_half_width(self.variance, self.k4, self.terms, z)
        return self.estimate - h, self.estimate + h

    def columns(self, z: float = Z95) -> dict[str, Any]:
        """JSON-ready, column-wise: each list row-major over `domains` (last fastest).
        `estimate` is unclamped (sum it); `display` is rounded and clamped at zero."""
        lo, hi = self.interval(z)
        return {
            "dimensions": list(self.dimensions), "domains": [list(d) for d in self.domains],
            "tables": list(self.tables),
            "estimate": self.estimate.ravel().tolist(),
            "display": np.maximum(np.rint(self.estimate), 0).astype(np.int64).ravel().tolist(),
            "lower": lo.ravel().tolist(), "upper": hi.ravel().tolist(),
            "variance": self.variance.ravel().tolist(),
        }


def pooled(tables: Iterable[CombinedTable], keep: Sequence[str]) -> Pooled | None:
    """The `keep` marginal from every table of one period that has those dimensions, the
    same domains for them, and the same contributing nodes as the most precise such table;
    pooled with weights 1/variance (independent noise, same true counts)."""
    keep = tuple(keep)
    candidates = [t.marginal(keep) for t in tables if all(d in t.dimensions for d in keep)]
    if not candidates:
        return None
    best = min(candidates, key=lambda m: float(np.sum(m.variance)))
    same = [m for m in candidates
            if m.domains == best.domains and m.node_ids == best.node_ids
            and bool(np.all(m.variance >= MIN_POOLED_VARIANCE))]
    if len(same) < 2 or not np.all(best.variance >= MIN_POOLED_VARIANCE):
        return Pooled(keep, best.domains, best.estimate, best.variance, best.k4, (best.table,),
                      best.terms)
    weights = [1.0 / m.variance for m in same]
    total = np.sum(weights, axis=0)
    estimate = np.sum([w * m.estimate for w, m in zip(weights, same, strict=True)],
                      axis=0) / total
    k4 = np.sum([(w / total) ** 4 * m.k4 for w, m in zip(weights, same, strict=True)],
                axis=0)
    return Pooled(keep, best.domains, np.asarray(estimate, dtype=np.float64),
                  np.asarray(1.0 / total, dtype=np.float64), np.asarray(k4, dtype=np.float64),
                  tuple(m.table for m in same))


# ---------------------------------------------------------------------- dashboard data

DASHBOARD_VIEWS: Mapping[str, tuple[str, ...]] = {
    "total": (),
    "by_month": ("month",),
    "by_month_region": ("month", "region"),
    "by_category": ("category",),
    "by_affiliation": ("perpetrator_affiliation",),
    "by_region": ("region",),
}


def dashboard(combined: Iterable[CombinedTable], period: str,
              views: Mapping[str, tuple[str, ...]] = DASHBOARD_VIEWS,
              region_vocabulary: str | None = None) -> dict[str, Any]:
    """JSON-ready figures of one period: each view's estimates and intervals column-wise
    (`Pooled.columns`), the contributing node count, and the tables each view came from.
    With `region_vocabulary`, views by region read only tables keyed by it."""
    tables = [t for t in combined if t.period == period]
    versions: dict[int, set[str]] = {}
    for t in tables:
        versions.setdefault(t.plan_version, set()).update(t.node_ids)
    if len(versions) > 1:  # never mixed: the version most nodes published under
        shown = max(versions, key=lambda v: (len(versions[v]), v))
        tables = [t for t in tables if t.plan_version == shown]
    out: dict[str, Any] = {"period": period,
                           "nodes": len(frozenset().union(*(t.node_ids for t in tables)))}
    for name, keep in views.items():
        p = pooled(_keyed_by(tables, region_vocabulary) if "region" in keep else tables, keep)
        out[name] = None if p is None else p.columns()
    return out


def _keyed_by(tables: list[CombinedTable], vocabulary: str | None) -> list[CombinedTable]:
    """The tables whose regions are keyed by `vocabulary` (all of them for None)."""
    return tables if vocabulary is None else [t for t in tables
                                              if t.region_vocabulary == vocabulary]
