"""The release plan: which tables a node publishes, over which cells, at what privacy cost.

The plan lives in the node's configuration (`[statistics]` in ``node.toml``) and is
versioned: the observatory only combines releases made under the same plan version, and a
node that changes its tables, contribution bound or privacy loss bumps `version`.

Cell domains are fixed and public, never derived from the data (a domain read off the data
would itself reveal that some survivor's incident exists): months come from the period being
released, regions from the node's configured region codes plus ``unknown``, and every other
dimension from the coding model's closed lists (node/backoffice/incidents.py).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Annotated, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from node.backoffice.incidents import AGE_GROUPS, CATEGORIES, CONTEXTS, SEXES
from node.intake.models import AFFILIATIONS

Dimension = Literal["category", "month", "region", "perpetrator_affiliation", "survivor_sex",
                    "survivor_age_group", "context"]
DIMENSIONS: tuple[Dimension, ...] = ("category", "month", "region", "perpetrator_affiliation",
                                     "survivor_sex", "survivor_age_group", "context")
UNKNOWN = "unknown"
# The protocol's statistics message carries at most this many cells per table
# (protocol/drafts.py, StatisticsRelease.cells).
MAX_CELLS = 10_000
TableName = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,47}$")]

# Closed lists from the coding model. "unknown" is already a member of each of them; a coding
# without a perpetrator affiliation counts as "unknown".
FIXED_DOMAINS: dict[Dimension, tuple[str, ...]] = {
    "category": CATEGORIES,
    "perpetrator_affiliation": AFFILIATIONS,
    "survivor_sex": SEXES,
    "survivor_age_group": AGE_GROUPS,
    "context": CONTEXTS,
}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TablePlan(_Strict):
    """One histogram: a cell per combination of its dimensions' values."""

    name: TableName
    dimensions: tuple[Dimension, ...] = Field(min_length=1, max_length=4)
    epsilon: float = Field(gt=0, le=10, allow_inf_nan=False,
                           description="privacy loss of this table in one release")

    @model_validator(mode="after")
    def _distinct(self) -> Self:
        if len(set(self.dimensions)) != len(self.dimensions):
            raise ValueError(f"table {self.name}: a dimension appears twice")
        return self


def _default_tables() -> tuple[TablePlan, ...]:
    return (
        TablePlan(name="category_month_region", dimensions=("category", "month", "region"),
                  epsilon=0.2),
        TablePlan(name="affiliation_month_region",
                  dimensions=("perpetrator_affiliation", "month", "region"), epsilon=0.2),
        TablePlan(name="sex_age_category",
                  dimensions=("survivor_sex", "survivor_age_group", "category"), epsilon=0.2),
        TablePlan(name="context_category", dimensions=("context", "category"), epsilon=0.2),
        TablePlan(name="category_month", dimensions=("category", "month"), epsilon=0.2),
    )


class StatisticsPlan(_Strict):
    """What a node releases, and what it may spend.

    Privacy unit: one report. Each report vouches for at most `contributions` incidents per
    period (its first ones in a fixed order that no other report can change, see
    node/statistics/columns.py); an incident counts once, in every table, if any of its
    reports vouches for it. Adding or removing one report therefore changes at most
    `contributions` records of every table, which is the `d_in` given to OpenDP.

    Cost: a release spends the sum of its tables' epsilons (basic composition of pure
    epsilon-DP, Dwork and Roth 2014, Theorem 3.16). The ledger refuses a release that would
    take the period's spend above `budget_per_period`.
    """

    version: int = Field(1, ge=1, le=1_000_000)
    mechanism: Literal["discrete_laplace"] = Field(
        "discrete_laplace",
        description="noise on counts; the discrete Gaussian under zCDP only pays off when each "
                    "report adds at most one record per cell, which this plan does not bound")
    contributions: int = Field(2, ge=1, le=100,
                               description="most incidents one report adds per period")
    period: Literal["calendar_year"] = "calendar_year"
    budget_per_period: float = Field(2.0, gt=0, le=100, allow_inf_nan=False,
                                     description="most epsilon spent on one period's incidents")
    tables: tuple[TablePlan, ...] = Field(default_factory=_default_tables, min_length=1,
                                          max_length=20)
    schedule: Literal["none", "quarterly", "half_yearly", "yearly"] = Field(
        "none", description="prepare a release of the current year on this rhythm; a person "
                            "still reviews it before it leaves (node/statistics/schedule.py)")

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        names = [t.name for t in self.tables]
        if len(set(names)) != len(names):
            raise ValueError("statistics.tables: each name must be unique")
        if math.fsum(t.epsilon for t in self.tables) > self.budget_per_period:
            raise ValueError("statistics: the tables' epsilons add up to more than "
                             "budget_per_period, so no full release could ever be made")
        return self

    def table(self, name: str) -> TablePlan | None:
        return next((t for t in self.tables if t.name == name), None)

    def epsilon_of(self, names: Sequence[str]) -> float:
        """What releasing these tables costs, as planned (OpenDP's own map decides)."""
        return math.fsum(t.epsilon for t in self.tables if t.name in names)


# ---------------------------------------------------------------------- periods and cells


@dataclass(frozen=True, order=True)
class ReleasePeriod:
    """The months a release counts: `first_month`..`last_month` of one calendar year.

    An incident belongs to the month of its `date_from` (else `date_to`); the budget period
    is that calendar year, so the budget bounds what is learned about one year's incidents.
    Undated incidents belong to no period and are never counted.
    """

    year: int
    first_month: int = 1
    last_month: int = 12

    def __post_init__(self) -> None:
        if not 1970 <= self.year <= 9999:
            raise ValueError("year out of range")
        if not 1 <= self.first_month <= self.last_month <= 12:
            raise ValueError("months must satisfy 1 <= first_month <= last_month <= 12")

    @property
    def key(self) -> str:
        """The budget period this release spends from (the ledger's `period` column)."""
        return f"{self.year:04d}"

    @property
    def months(self) -> tuple[str, ...]:
        return tuple(f"{self.year:04d}-{m:02d}"
                     for m in range(self.first_month, self.last_month + 1))

    @property
    def month_ordinals(self) -> tuple[int, int]:
        """[first, last] as year * 12 + month - 1, the encoding of `columns.month_ordinal`."""
        return (self.year * 12 + self.first_month - 1, self.year * 12 + self.last_month - 1)

    def bounds(self) -> tuple[int, int]:
        """Unix times (UTC) of the first instant of the period and of the one after it."""
        start = datetime(self.year, self.first_month, 1, tzinfo=UTC)
        end = (datetime(self.year + 1, 1, 1, tzinfo=UTC) if self.last_month == 12
               else datetime(self.year, self.last_month + 1, 1, tzinfo=UTC))
        return int(start.timestamp()), int(end.timestamp())

    def contains(self, day: date) -> bool:
        return day.year == self.year and self.first_month <= day.month <= self.last_month


def region_domain(region_codes: Sequence[str]) -> tuple[str, ...]:
    """The configured region codes, in configuration order, then "unknown"."""
    out: list[str] = []
    for code in region_codes:
        if code != UNKNOWN and code not in out:
            out.append(code)
    return (*out, UNKNOWN)


def domain(dimension: Dimension, period: ReleasePeriod,
           region_codes: Sequence[str]) -> tuple[str, ...]:
    """The public, fixed values of one dimension for this release."""
    if dimension == "month":
        return period.months
    if dimension == "region":
        return region_domain(region_codes)
    return FIXED_DOMAINS[dimension]


def cell_count(table: TablePlan, period: ReleasePeriod, region_codes: Sequence[str]) -> int:
    return math.prod(len(domain(d, period, region_codes)) for d in table.dimensions)
