"""The release plan: which tables a node publishes, over which cells, at what privacy cost.

The plan lives in the node's configuration (`[statistics]` in ``node.toml``) and is
versioned: a node that changes its tables, contribution bound or privacy loss bumps
`version`, and the observatory never adds up tables of different plan versions
(`observatory.statistics.combine`).

Tables, dimensions and cell domains are the protocol's plan schema (`protocol.statistics`),
which the observatory checks releases against. Domains are fixed and public, never derived
from the data (a domain read off the data would itself reveal that some survivor's incident
exists): months come from the period being released, regions from the federation codes
(`protocol.regions`) the node's configured regions map to, plus ``unknown``, and every other
dimension from the shared coding vocabulary (`protocol.vocabulary`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from protocol.statistics import (
    DEFAULT_TABLES,
    FIXED_DOMAINS,
    Dimension,
    TableLayout,
    month_bounds,
    months,
)
from protocol.vocabulary import UNKNOWN


class TablePlan(TableLayout):
    """One histogram (a cell per combination of its dimensions' values), and what releasing
    it costs."""

    epsilon: float = Field(gt=0, le=10, allow_inf_nan=False,
                           description="privacy loss of this table in one release")


def _default_tables() -> tuple[TablePlan, ...]:
    """The protocol's default tables, each at a loss of 0.2."""
    return tuple(TablePlan(name=t.name, dimensions=t.dimensions, epsilon=0.2)
                 for t in DEFAULT_TABLES)


class StatisticsPlan(BaseModel):
    """What a node releases, and what it may spend.

    Privacy unit: one report, with its links to incidents. Each report vouches for at most
    `contributions` incidents over its whole lifetime, on the full link graph, and only then
    are the reports without statistics consent left out (node/statistics/bounding.py); an
    incident counts once, in every table, if a consenting report vouches for it. Adding or
    removing one report therefore changes at most `contributions` records of every table,
    which is the `d_in` given to OpenDP, and at most `contributions` records across all
    periods together.

    Cost: a release spends the sum of its tables' epsilons (basic composition of pure
    epsilon-DP, Dwork and Roth 2014, Theorem 3.16). The ledger refuses a release that would
    take the period's spend above `budget_per_period`, and leaves out of a release every
    report whose own lifetime loss would pass `lifetime_loss`: that is the most one report
    can lose through all of this node's releases, which every page that speaks of privacy
    states.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    version: int = Field(1, ge=1, le=1_000_000)
    mechanism: Literal["discrete_laplace"] = Field(
        "discrete_laplace",
        description="noise on counts; the discrete Gaussian under zCDP only pays off when each "
                    "report adds at most one record per cell, which this plan does not bound")
    contributions: int = Field(2, ge=1, le=100,
                               description="most incidents one report adds, over its whole "
                                           "lifetime and every period")
    period: Literal["calendar_year"] = "calendar_year"
    budget_per_period: float = Field(2.0, gt=0, le=100, allow_inf_nan=False,
                                     description="most epsilon spent on one period's incidents")
    lifetime_loss: float = Field(2.0, gt=0, le=100, allow_inf_nan=False,
                                 description="most epsilon one report can lose through all "
                                             "of this node's releases, ever")
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
        if math.fsum(t.epsilon for t in self.tables) > self.lifetime_loss:
            raise ValueError("statistics: the tables' epsilons add up to more than "
                             "lifetime_loss, so a report could never count fully")
        return self

    def table(self, name: str) -> TablePlan | None:
        return next((t for t in self.tables if t.name == name), None)


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
    def first(self) -> str:
        """The first month, as a release names it ("2025-01")."""
        return f"{self.year:04d}-{self.first_month:02d}"

    @property
    def last(self) -> str:
        """The last month, as a release names it."""
        return f"{self.year:04d}-{self.last_month:02d}"

    @property
    def months(self) -> tuple[str, ...]:
        return months(self.first, self.last)

    @property
    def month_ordinals(self) -> tuple[int, int]:
        """[first, last] as year * 12 + month - 1, how `columns` encodes a date's month."""
        return (self.year * 12 + self.first_month - 1, self.year * 12 + self.last_month - 1)

    def bounds(self) -> tuple[int, int]:
        """Unix times (UTC) of the first instant of the period and of the one after it."""
        return month_bounds(self.first, self.last)


# A node's own region code -> the federation's code it counts as (`NodeConfig.region_map`).
# A plain sequence of codes stands for the map of each code to itself.
Regions = Sequence[str] | Mapping[str, str]


def region_map(regions: Regions) -> Mapping[str, str]:
    """`regions` as a map from the codes incidents are coded with to the codes counted."""
    return regions if isinstance(regions, Mapping) else {c: c for c in regions}


def region_domain(regions: Regions) -> tuple[str, ...]:
    """The codes the configured regions count as, in configuration order (several regions of
    a node may lie in one subdivision: one cell), then "unknown"."""
    out: list[str] = []
    for code in region_map(regions).values():
        if code != UNKNOWN and code not in out:
            out.append(code)
    return (*out, UNKNOWN)


def domain(dimension: Dimension, period: ReleasePeriod,
           region_codes: Regions) -> tuple[str, ...]:
    """The public, fixed values of one dimension for this release."""
    if dimension == "month":
        return period.months
    if dimension == "region":
        return region_domain(region_codes)
    return FIXED_DOMAINS[dimension]

