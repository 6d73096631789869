"""A node's differentially private statistics release, as it crosses to the observatory
(issue 6). Only noisy counts and their public parameters: the schema has no place for a
record, a narrative or an identifier of a survivor (ARCHITECTURE.md, invariant 3).

A release holds several tables (histograms). Each table's counts are row-major over its
fixed, public cell domains (last dimension fastest), noisy and unclamped -- a count may be
negative, and clamping before summing would bias every total upwards.
"""

from __future__ import annotations

import math
from typing import Annotated, Literal, Self

from pydantic import Field, StringConstraints, model_validator

from protocol.encoding import MAX_SAFE_INT
from protocol.message import Message, RandomId, Record, UnixTime

MAX_TABLES = 20
MAX_CELLS = 100_000  # in all the tables of one release
_EPS_TOLERANCE = 1e-9

Label = Annotated[str, StringConstraints(min_length=1, max_length=64,
                                         pattern=r"^[^\x00-\x1f\x7f]+$")]
Count = Annotated[int, Field(ge=-MAX_SAFE_INT, le=MAX_SAFE_INT)]
Positive = Annotated[float, Field(gt=0, le=1e6, allow_inf_nan=False)]


class StatisticsTable(Record):
    """One noisy histogram and the public parameters of its noise."""

    name: Label
    dimensions: tuple[Label, ...] = Field(min_length=1, max_length=4)
    domains: tuple[tuple[Label, ...], ...] = Field(min_length=1, max_length=4)
    counts: tuple[Count, ...] = Field(max_length=MAX_CELLS)
    mechanism: Literal["discrete_laplace", "discrete_gaussian"]
    scale: Positive
    variance: Annotated[float, Field(ge=0, le=1e12, allow_inf_nan=False)]
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


class StatisticsRelease(Message):
    """A signed DP release of one node for one budget period."""

    TYPE = "statistics.release"
    VERSION = 1

    release_id: RandomId
    plan_version: Annotated[int, Field(ge=1, le=MAX_SAFE_INT)]
    period: Annotated[str, StringConstraints(pattern=r"^[0-9]{4}$")]  # the budget year
    first_month: Annotated[str, StringConstraints(pattern=r"^[0-9]{4}-(0[1-9]|1[0-2])$")]
    last_month: Annotated[str, StringConstraints(pattern=r"^[0-9]{4}-(0[1-9]|1[0-2])$")]
    period_start: UnixTime
    period_end: UnixTime
    privacy_unit: Literal["report"]
    contributions: Annotated[int, Field(ge=1, le=1000)]
    mechanism: Literal["discrete_laplace", "discrete_gaussian"]
    epsilon: Positive  # this release's privacy loss: the sum of its tables'
    delta: Annotated[float, Field(ge=0, lt=1, allow_inf_nan=False)] = 0.0
    budget_per_period: Positive
    spent_in_period: Annotated[float, Field(ge=0, le=1e6, allow_inf_nan=False)]
    created_hour: Annotated[int, Field(ge=0, le=MAX_SAFE_INT)]
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
