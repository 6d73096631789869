"""The observatory's published plan schema, and the check of a release against it. Pure.

What the observatory accepts is configuration (``[statistics]`` in ``observatory.toml``),
published with the open data (``plan`` in ``/api/v1/statistics``), so that every node can
know in advance what will be refused:

* tables by name, each with its dimensions in order (the counts are row-major over them);
* for each *fixed* dimension, its public domain, value by value and in order: the coding
  model's closed lists (violation category under the Rome Statute, perpetrator affiliation,
  survivor sex and age group, context), copied from the node's plan
  (``node/statistics/plan.py``; a test compares them, the observatory never imports
  ``node``);
* two *per-node* dimensions: ``region`` (the node's own codes, at most 32 characters each of
  letters, digits, ``_ . -``, the node's configuration pattern, plus ``unknown``, which
  must be present) and ``month`` (exactly the release's months, first to last).

A domain read off the data would reveal that some survivor's incident exists; a fixed domain
cannot, which is why a table with other values is refused rather than mapped.

The noise is checked against its declared parameters: a discrete Laplace table's variance
is 2p / (1 - p)^2 with p = exp(-1/scale), and the privacy loss it declares is at least what
that scale costs for the release's contribution bound, epsilon >= contributions / scale
(the discrete Laplace mechanism's privacy map, Canonne, Kamath and Steinke 2020). A node
that declared less noise than it drew would only make our intervals too wide; one that
declared a smaller variance or loss than its scale implies would make them too narrow, or
understate what its survivors' reports gave away, and is refused.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from protocol.statistics import StatisticsRelease, StatisticsTable

UNKNOWN = "unknown"
# The closed lists of the node's coding model (node/backoffice/incidents.py and
# node/intake/models.py), in the node's order: a release's counts are row-major over them.
CATEGORIES = ("rape", "sexual_slavery", "enforced_prostitution", "forced_pregnancy",
              "enforced_sterilization", "other_sexual_violence")
AFFILIATIONS = ("state_forces", "non_state_armed_group", "militia", "peacekeepers",
                "civilian", "unknown")
SEXES = ("female", "male", "other", "unknown")
AGE_GROUPS = ("0-11", "12-17", "18-24", "25-59", "60+", "unknown")
CONTEXTS = ("international_armed_conflict", "non_international_armed_conflict",
            "widespread_or_systematic_attack", "unknown")

FixedDimension = Literal["category", "perpetrator_affiliation", "survivor_sex",
                         "survivor_age_group", "context"]
PerNodeDimension = Literal["region", "month"]
Dimension = FixedDimension | PerNodeDimension
FIXED_DIMENSIONS: tuple[FixedDimension, ...] = (
    "category", "perpetrator_affiliation", "survivor_sex", "survivor_age_group", "context")
PER_NODE_DIMENSIONS: tuple[PerNodeDimension, ...] = ("region", "month")
# Every dimension, in the order of the open data's CSV columns.
DIMENSIONS: tuple[str, ...] = ("month", "region", "category", "perpetrator_affiliation",
                               "survivor_sex", "survivor_age_group", "context")

# The node's region code pattern (node/config.py, `Code`).
REGION_CODE = re.compile(r"^[A-Za-z0-9_.-]{1,32}$")
DomainValue = Annotated[str, StringConstraints(min_length=1, max_length=64,
                                         pattern=r"^[a-z0-9][a-z0-9_+-]{0,63}$")]
TableName = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,47}$")]

# Relative tolerance for declared floats (variance, epsilon): both sides compute them in
# IEEE doubles from the same scale; anything beyond rounding is a different claim.
REL_TOLERANCE = 1e-6
EPS_TOLERANCE = 1e-9


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TableSchema(_Strict):
    """One accepted table: its name and its dimensions, in order."""

    name: TableName
    dimensions: tuple[Dimension, ...] = Field(min_length=1, max_length=4)

    @model_validator(mode="after")
    def _distinct(self) -> Self:
        if len(set(self.dimensions)) != len(self.dimensions):
            raise ValueError(f"table {self.name}: a dimension appears twice")
        return self


def _default_tables() -> tuple[TableSchema, ...]:
    """The node's default plan (node/statistics/plan.py, `_default_tables`)."""
    return (
        TableSchema(name="category_month_region", dimensions=("category", "month", "region")),
        TableSchema(name="affiliation_month_region",
                    dimensions=("perpetrator_affiliation", "month", "region")),
        TableSchema(name="sex_age_category",
                    dimensions=("survivor_sex", "survivor_age_group", "category")),
        TableSchema(name="context_category", dimensions=("context", "category")),
        TableSchema(name="category_month", dimensions=("category", "month")),
    )


class FixedDomains(_Strict):
    """The public values of each fixed dimension, in the order nodes count them."""

    category: tuple[DomainValue, ...] = Field(CATEGORIES, min_length=1, max_length=64)
    perpetrator_affiliation: tuple[DomainValue, ...] = Field(AFFILIATIONS, min_length=1,
                                                       max_length=64)
    survivor_sex: tuple[DomainValue, ...] = Field(SEXES, min_length=1, max_length=64)
    survivor_age_group: tuple[DomainValue, ...] = Field(AGE_GROUPS, min_length=1, max_length=64)
    context: tuple[DomainValue, ...] = Field(CONTEXTS, min_length=1, max_length=64)

    @model_validator(mode="after")
    def _distinct(self) -> Self:
        for name in FIXED_DIMENSIONS:
            values = getattr(self, name)
            if len(set(values)) != len(values):
                raise ValueError(f"domains.{name}: a value appears twice")
        return self

    def of(self, dimension: FixedDimension) -> tuple[str, ...]:
        values: tuple[str, ...] = getattr(self, dimension)
        return values


class StatisticsConfig(_Strict):
    """``[statistics]``: the published plan schema, the privacy limit, public caching."""

    max_epsilon_per_period: float = Field(
        2.0, gt=0, le=100, allow_inf_nan=False,
        description="most privacy loss (epsilon) one node may spend on one period, across "
                    "all its accepted releases")
    cache_seconds: int = Field(
        300, ge=0, le=3600,
        description="Cache-Control max-age of the public pages and downloads (0: no-store)")
    tables: tuple[TableSchema, ...] = Field(default_factory=_default_tables, min_length=1,
                                            max_length=20)
    domains: FixedDomains = Field(default_factory=lambda: FixedDomains())

    @model_validator(mode="after")
    def _unique(self) -> Self:
        names = [t.name for t in self.tables]
        if len(set(names)) != len(names):
            raise ValueError("statistics.tables: each name must be unique")
        return self

    def table(self, name: str) -> TableSchema | None:
        return next((t for t in self.tables if t.name == name), None)

    def dimensions(self) -> tuple[str, ...]:
        """Every dimension some accepted table uses, in `DIMENSIONS` order."""
        used = {d for t in self.tables for d in t.dimensions}
        return tuple(d for d in DIMENSIONS if d in used)


# ---------------------------------------------------------------------- the check


@dataclass(frozen=True)
class Refusal:
    """Why a release is refused: a stable reason code and a short English detail for the
    node's staff (both travel in the signed `DeliveryAck`)."""

    reason: str
    detail: str


def months(first: str, last: str) -> tuple[str, ...]:
    """'2025-03', '2025-05' -> ('2025-03', '2025-04', '2025-05') (same year)."""
    year, a, b = int(first[:4]), int(first[5:]), int(last[5:])
    return tuple(f"{year:04d}-{m:02d}" for m in range(a, b + 1))


def month_bounds(first: str, last: str) -> tuple[int, int]:
    """Unix times (UTC) of the first instant of `first` and of the month after `last`."""
    year, a, b = int(first[:4]), int(first[5:]), int(last[5:])
    start = datetime(year, a, 1, tzinfo=UTC)
    end = datetime(year + 1, 1, 1, tzinfo=UTC) if b == 12 else datetime(year, b + 1, 1,
                                                                        tzinfo=UTC)
    return int(start.timestamp()), int(end.timestamp())


def discrete_laplace_variance(scale: float) -> float:
    p = math.exp(-1.0 / scale)
    return 2.0 * p / (1.0 - p) ** 2


def _close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=REL_TOLERANCE, abs_tol=1e-12)


def _noise(release: StatisticsRelease, table: StatisticsTable) -> Refusal | None:
    if table.mechanism != release.mechanism:
        return Refusal("noise_mismatch", f"table {table.name}: mechanism differs from the "
                                         "release's")
    if not _close(table.variance, discrete_laplace_variance(table.scale)):
        return Refusal("noise_mismatch", f"table {table.name}: variance does not match the "
                                         "discrete Laplace scale")
    if table.epsilon < release.contributions / table.scale * (1 - EPS_TOLERANCE):
        return Refusal("noise_mismatch", f"table {table.name}: epsilon is below "
                                         "contributions / scale")
    return None


def _domains(schema: StatisticsConfig, release: StatisticsRelease, table: StatisticsTable,
             expected_months: tuple[str, ...]) -> Refusal | None:
    for dimension, values in zip(table.dimensions, table.domains, strict=True):
        if dimension == "month":
            if values != expected_months:
                return Refusal("domain_mismatch", f"table {table.name}: months must be "
                                                  f"{release.first_month}..{release.last_month}")
        elif dimension == "region":
            if UNKNOWN not in values or not all(REGION_CODE.fullmatch(v) for v in values):
                return Refusal("domain_mismatch", f"table {table.name}: region codes are 1-32 "
                                                  "letters, digits, _ . - and include unknown")
        elif values != schema.domains.of(dimension):  # type: ignore[arg-type]
            return Refusal("domain_mismatch", f"table {table.name}: the {dimension} domain is "
                                              "not the published one")
    return None


def check(release: StatisticsRelease, schema: StatisticsConfig, now: int) -> Refusal | None:
    """Why `release` does not conform to the published plan schema, or None.

    The budget is checked separately (`observatory.statistics.ingest`): it depends on what
    was accepted before."""
    if release.mechanism != "discrete_laplace":
        return Refusal("unsupported_mechanism", "only discrete Laplace releases are combined")
    if (release.period_start, release.period_end) != month_bounds(release.first_month,
                                                                  release.last_month):
        return Refusal("period_mismatch", "period_start and period_end must bound the months")
    if release.period_start > now:
        return Refusal("period_in_future", "the release counts months that have not started")
    expected_months = months(release.first_month, release.last_month)
    regions: tuple[str, ...] | None = None
    for table in release.tables:
        planned = schema.table(table.name)
        if planned is None:
            return Refusal("unknown_table", f"table {table.name} is not in the observatory's "
                                            "plan")
        if table.dimensions != planned.dimensions:
            return Refusal("dimensions_mismatch", f"table {table.name} must have dimensions "
                                                  f"{', '.join(planned.dimensions)}")
        refusal = _domains(schema, release, table, expected_months) or _noise(release, table)
        if refusal is not None:
            return refusal
        if "region" in table.dimensions:
            mine = table.domains[table.dimensions.index("region")]
            if regions is not None and mine != regions:
                return Refusal("domain_mismatch", "every table of a release has the same "
                                                  "region codes")
            regions = mine
    return None
