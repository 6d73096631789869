"""Synthetic `StatisticsRelease`s as a node sends them (issue 6), built from `protocol`
alone: known true counts per cell plus discrete Laplace noise of the declared scale (numpy,
tests only; nodes draw theirs with OpenDP). The tables and domains are the protocol's
default plan, which nodes and the observatory both use; regions are keyed by the federation's
vocabulary (ISO 3166-2 codes, by default two provinces of the DR Congo).
"""

from __future__ import annotations

import math
import secrets
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from pydantic import ValidationError

from protocol.statistics import (
    DEFAULT_TABLES,
    FIXED_DOMAINS,
    REGION_VOCABULARY,
    StatisticsRelease,
    StatisticsTable,
    month_bounds,
    months,
)

PLAN: tuple[tuple[str, tuple[str, ...]], ...] = tuple(
    (t.name, t.dimensions) for t in DEFAULT_TABLES)
FIXED: dict[str, tuple[str, ...]] = dict(FIXED_DOMAINS)


def variance(scale: float) -> float:
    p = math.exp(-1 / scale)
    return 2 * p / (1 - p) ** 2


def accuracy(scale: float, alpha: float = 0.05) -> int:
    """Smallest a with P[|noise| > a] <= alpha: P[|X| > a] = 2 p^(a+1) / (1 + p)."""
    p = math.exp(-1 / scale)
    return max(0, math.ceil(math.log(alpha * (1 + p) / 2) / math.log(p) - 1))


def discrete_laplace(rng: np.random.Generator, scale: float, size: int | tuple[int, ...]
                     ) -> np.ndarray:
    p = math.exp(-1 / scale)
    return rng.geometric(1 - p, size) - rng.geometric(1 - p, size)


def domains_of(dimensions: Sequence[str], month_list: tuple[str, ...],
               regions: tuple[str, ...]) -> tuple[tuple[str, ...], ...]:
    return tuple(month_list if d == "month" else regions if d == "region" else FIXED[d]
                 for d in dimensions)


def make_release(*, period: str = "2025", first_month: str | None = None,
                 last_month: str | None = None, regions: Sequence[str] = ("CD-NK", "CD-SK"),
                 truth: Mapping[str, np.ndarray] | None = None, epsilon: float = 0.2,
                 contributions: int = 2, budget: float = 2.0, spent: float | None = None,
                 created_hour: int | None = None, rng: np.random.Generator | None = None,
                 tables: Sequence[tuple[str, tuple[str, ...]]] = PLAN, noise: bool = True,
                 **changes: Any) -> StatisticsRelease:
    """A valid release of `tables`; `truth` gives a table's true counts (default: 0..4),
    `changes` overrides any field of the message (to make it invalid)."""
    rng = rng or np.random.default_rng()
    first = first_month or f"{period}-01"
    last = last_month or f"{period}-06"
    month_list = months(first, last)
    region_domain = (*[r for r in regions if r != "unknown"], "unknown")
    scale = contributions / epsilon
    built = []
    for name, dims in tables:
        domains = domains_of(dims, month_list, region_domain)
        shape = tuple(len(d) for d in domains)
        true = (truth or {}).get(name)
        true = rng.integers(0, 5, shape) if true is None else np.asarray(true).reshape(shape)
        counts = true + (discrete_laplace(rng, scale, shape) if noise else 0)
        built.append(StatisticsTable(
            name=name, dimensions=dims, domains=domains,
            counts=tuple(int(c) for c in np.ravel(counts)), mechanism="discrete_laplace",
            scale=scale, variance=variance(scale), accuracy_95=accuracy(scale),
            epsilon=epsilon))
    total = math.fsum(t.epsilon for t in built)
    start, end = month_bounds(first, last)
    fields: dict[str, Any] = {
        "release_id": secrets.token_hex(16), "plan_version": 1, "period": period,
        "first_month": first, "last_month": last, "period_start": start, "period_end": end,
        "privacy_unit": "report", "region_vocabulary": REGION_VOCABULARY,
        "contributions": contributions,
        "mechanism": "discrete_laplace", "epsilon": total, "delta": 0.0,
        "budget_per_period": budget, "spent_in_period": total if spent is None else spent,
        "created_hour": created_hour if created_hour is not None else start // 3600 + 24 * 200,
        "tables": tuple(built),
    }
    fields.update(changes)
    try:
        return StatisticsRelease(**fields)
    except ValidationError:  # a test wants a release the protocol itself refuses
        return StatisticsRelease.model_construct(**fields)
