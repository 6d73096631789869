"""A node's differentially private statistics release, as it crosses to the observatory
(issue 6), and the plan schema both sides count it over. Only noisy counts and their public
parameters: the schema has no place for a record, a narrative or an identifier of a survivor
(raw data never leaves its node).

A release holds several tables (histograms). Each table's counts are row-major over its
fixed, public cell domains (last dimension fastest), noisy and unclamped -- a count may be
negative, and clamping before summing would bias every total upwards.

The node builds `StatisticsRelease` itself (node/statistics/release.py), keeps it sealed
while it waits for review, signs and sends it; the observatory verifies it against its
published plan (observatory/statistics/schema.py). What both must agree on is here:

* the dimensions a table may have, and the public domain of each: the coding vocabularies
  (`protocol.vocabulary`) for the fixed ones; the months of the release for ``month``;
  for ``region``, the codes of the federation's region vocabulary (`protocol.regions`,
  first-level ISO 3166-2 subdivisions) that the node's configuration maps its own regions
  to, plus ``unknown``; the release names the vocabulary (`REGION_VOCABULARY`), so that
  counts keyed by two vocabularies are never added;
* the default tables (a node's default plan, the observatory's default published plan);
* the months of a release and the instants that bound them;
* the variance of the discrete Laplace noise a table declares (the observatory checks it).

Domains are fixed and public, never read off the data: a domain derived from the data would
itself reveal that some survivor's incident exists.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from itertools import product
from types import MappingProxyType
from typing import Annotated, Final, Literal, Self, get_args

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from protocol.encoding import MAX_SAFE_INT
from protocol.message import Message, RandomId, Record, UnixTime
from protocol.regions import VOCABULARY, is_region
from protocol.vocabulary import AFFILIATIONS, AGE_GROUPS, CATEGORIES, CONTEXTS, SEXES, UNKNOWN

MAX_TABLES = 20
MAX_CELLS = 100_000  # in all the tables of one release
_EPS_TOLERANCE = 1e-9

# ---------------------------------------------------------------------- the plan schema

Dimension = Literal["category", "month", "region", "perpetrator_affiliation", "survivor_sex",
                    "survivor_age_group", "context"]
DIMENSIONS: Final[tuple[Dimension, ...]] = get_args(Dimension)
# Dimensions whose domain is a coding vocabulary, the same for every node and release.
FixedDimension = Literal["category", "perpetrator_affiliation", "survivor_sex",
                         "survivor_age_group", "context"]
FIXED_DIMENSIONS: Final[tuple[FixedDimension, ...]] = get_args(FixedDimension)
FIXED_DOMAINS: Final[Mapping[FixedDimension, tuple[str, ...]]] = MappingProxyType({
    "category": CATEGORIES,
    "perpetrator_affiliation": AFFILIATIONS,
    "survivor_sex": SEXES,
    "survivor_age_group": AGE_GROUPS,
    "context": CONTEXTS,
})
# Dimensions whose domain depends on the release: its months, and the regions a node works
# in -- the codes of the federation's region vocabulary its configuration maps its own
# regions to, in configuration order, then "unknown". Each is a public, fixed subset of the
# vocabulary (configuration, never read off the data); listing every subdivision of a
# country would put noise on cells of provinces where the node has no presence.
PerNodeDimension = Literal["region", "month"]
PER_NODE_DIMENSIONS: Final[tuple[PerNodeDimension, ...]] = get_args(PerNodeDimension)
# The region vocabulary of this protocol's releases (`protocol.regions`). Releases made
# before the federation shared one were keyed by each node's own codes: `NODE_REGIONS`.
REGION_VOCABULARY: Final[str] = VOCABULARY
NODE_REGIONS: Final = "node"
# A node's own region code (its configuration's pattern): what its reporters choose and its
# staff code, never sent; `node.toml` maps each to a code of `REGION_VOCABULARY`.
REGION_CODE = r"^[A-Za-z0-9_.-]{1,32}$"
RegionCode = Annotated[str, StringConstraints(pattern=REGION_CODE)]


def region_domain_valid(values: tuple[str, ...]) -> bool:
    """Whether a release's region domain is made of `REGION_VOCABULARY` codes and ends with
    "unknown" (a node's plan always adds it: a coded incident may not name its region)."""
    return bool(values) and values[-1] == UNKNOWN and all(is_region(v) for v in values)
TableName = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,47}$")]


class TableLayout(BaseModel):
    """A table of a plan: its name and its dimensions, in order (counts are row-major over
    them). Configuration, not a message: it is read from TOML, so lists become tuples."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: TableName
    dimensions: tuple[Dimension, ...] = Field(min_length=1, max_length=4)

    @model_validator(mode="after")
    def _distinct(self) -> Self:
        if len(set(self.dimensions)) != len(self.dimensions):
            raise ValueError(f"table {self.name}: a dimension appears twice")
        return self


# A node's default plan and the observatory's default published plan.
DEFAULT_TABLES: Final[tuple[TableLayout, ...]] = (
    TableLayout(name="category_month_region", dimensions=("category", "month", "region")),
    TableLayout(name="affiliation_month_region",
                dimensions=("perpetrator_affiliation", "month", "region")),
    TableLayout(name="sex_age_category",
                dimensions=("survivor_sex", "survivor_age_group", "category")),
    TableLayout(name="context_category", dimensions=("context", "category")),
    TableLayout(name="category_month", dimensions=("category", "month")),
)


def months(first: str, last: str) -> tuple[str, ...]:
    """The month domain of a release: '2025-03', '2025-05' -> ('2025-03', '2025-04',
    '2025-05'). Both months lie in one year (the budget period)."""
    year, a, b = int(first[:4]), int(first[5:]), int(last[5:])
    return tuple(f"{year:04d}-{m:02d}" for m in range(a, b + 1))


def month_bounds(first: str, last: str) -> tuple[int, int]:
    """Unix times (UTC) of the first instant of `first` and of the month after `last`."""
    year, a, b = int(first[:4]), int(first[5:]), int(last[5:])
    start = datetime(year, a, 1, tzinfo=UTC)
    end = (datetime(year + 1, 1, 1, tzinfo=UTC) if b == 12
           else datetime(year, b + 1, 1, tzinfo=UTC))
    return int(start.timestamp()), int(end.timestamp())


def discrete_laplace_variance(scale: float) -> float:
    """Var = 2p / (1 - p)^2 with p = exp(-1/scale): the two-sided geometric distribution,
    the discrete Laplace noise a table declares (Canonne, Kamath and Steinke 2020)."""
    p = math.exp(-1.0 / scale)
    return 2.0 * p / (1.0 - p) ** 2


# ---------------------------------------------------------------------- the message

Label = Annotated[str, StringConstraints(min_length=1, max_length=64,
                                         pattern=r"^[^\x00-\x1f\x7f]+$")]
Count = Annotated[int, Field(ge=-MAX_SAFE_INT, le=MAX_SAFE_INT)]
Positive = Annotated[float, Field(gt=0, le=1e6, allow_inf_nan=False)]
Mechanism = Literal["discrete_laplace", "discrete_gaussian"]
MonthText = Annotated[str, StringConstraints(pattern=r"^[0-9]{4}-(0[1-9]|1[0-2])$")]


class StatisticsTable(Record):
    """One noisy histogram and the public parameters of its noise."""

    name: Label
    dimensions: tuple[Label, ...] = Field(min_length=1, max_length=4)
    domains: tuple[tuple[Label, ...], ...] = Field(min_length=1, max_length=4)
    counts: tuple[Count, ...] = Field(max_length=MAX_CELLS)
    mechanism: Mechanism
    scale: Positive
    variance: Annotated[float, Field(ge=0, le=1e12, allow_inf_nan=False)]  # of every cell
    # each cell's noise is within +/- this with probability >= 95 %
    accuracy_95: Annotated[int, Field(ge=0, le=MAX_SAFE_INT)]
    epsilon: Positive

    @model_validator(mode="after")
    def _shape(self) -> Self:
        if len(self.domains) != len(self.dimensions):
            raise ValueError("one domain per dimension")
        if any(not d or len(set(d)) != len(d) for d in self.domains):
            raise ValueError("each domain lists distinct values")
        if len(self.counts) != math.prod(len(d) for d in self.domains):
            raise ValueError("one count per cell of the domains")
        return self

    def cell_keys(self) -> Iterator[tuple[str, ...]]:
        """Cell keys in the order of `counts` (row-major: the last dimension fastest)."""
        return product(*self.domains)

    def cells(self) -> Iterator[tuple[tuple[str, ...], int]]:
        return zip(self.cell_keys(), self.counts, strict=True)


class StatisticsRelease(Message):
    """A signed DP release of one node for one budget period."""

    TYPE = "statistics.release"
    VERSION = 1

    release_id: RandomId
    plan_version: Annotated[int, Field(ge=1, le=MAX_SAFE_INT)]
    period: Annotated[str, StringConstraints(pattern=r"^[0-9]{4}$")]  # the budget year
    first_month: MonthText
    last_month: MonthText
    period_start: UnixTime  # the first instant of the counted months (UTC)
    period_end: UnixTime    # the first instant after them
    privacy_unit: Literal["report"]
    # what the region cells are keyed by: `REGION_VOCABULARY` (absent in releases made
    # before the federation shared one, whose regions are the node's own codes)
    region_vocabulary: Annotated[str, StringConstraints(pattern=r"^[a-z0-9:-]{1,40}$")] = (
        NODE_REGIONS)
    # the most incidents one report adds: to this release, and to all the node's releases
    # of every period together (the node bounds each report over its lifetime)
    contributions: Annotated[int, Field(ge=1, le=1000)]
    mechanism: Mechanism
    epsilon: Positive  # this release's privacy loss: the sum of its tables'
    delta: Annotated[float, Field(ge=0, lt=1, allow_inf_nan=False)] = 0.0
    budget_per_period: Positive
    # the loss spent on this period: this release and every draft before it included
    spent_in_period: Annotated[float, Field(ge=0, le=1e6, allow_inf_nan=False)]
    created_hour: Annotated[int, Field(ge=0, le=MAX_SAFE_INT)]  # when the noise was drawn
    tables: tuple[StatisticsTable, ...] = Field(min_length=1, max_length=MAX_TABLES)

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.period_end <= self.period_start:
            raise ValueError("the period ends after it starts")
        if not self.first_month <= self.last_month or self.first_month[:4] != self.period:
            raise ValueError("the months lie in the budget year, first before last")
        if len({t.name for t in self.tables}) != len(self.tables):
            raise ValueError("table names are distinct")
        if sum(len(t.counts) for t in self.tables) > MAX_CELLS:
            raise ValueError(f"at most {MAX_CELLS} cells in a release")
        total = sum(t.epsilon for t in self.tables)
        if abs(total - self.epsilon) > _EPS_TOLERANCE * max(1.0, total):
            raise ValueError("the release's epsilon is the sum of its tables'")
        if self.spent_in_period > self.budget_per_period * (1 + _EPS_TOLERANCE):
            raise ValueError("a release never exceeds its period's budget")
        if self.spent_in_period + _EPS_TOLERANCE < self.epsilon:
            raise ValueError("the period's spending includes this release")
        return self

