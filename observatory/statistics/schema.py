"""The observatory's published plan schema, and the check of a release against it. Pure.

What the observatory accepts is configuration (``[statistics]`` in ``observatory.toml``),
published with the open data (``plan`` in ``/api/v1/statistics``), so that every node can
know in advance what will be refused:

* tables by name, each with its dimensions in order (the counts are row-major over them),
  by default the protocol's default tables (`protocol.statistics.DEFAULT_TABLES`);
* for each *fixed* dimension, its public domain, value by value and in order: the shared
  coding vocabulary (`protocol.vocabulary`: violation category under the Rome Statute,
  perpetrator affiliation, survivor sex and age group, context), which nodes count over;
* two *per-node* dimensions: ``region`` (codes of the federation's region vocabulary,
  `protocol.regions`, first-level ISO 3166-2 subdivisions: the ones the node works in, then
  ``unknown``; the release names the vocabulary, which must be the published one) and
  ``month`` (exactly the release's months, first to last).

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
from dataclasses import dataclass
from typing import Any, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from protocol.statistics import (
    DEFAULT_TABLES,
    FIXED_DOMAINS,
    REGION_VOCABULARY,
    StatisticsRelease,
    StatisticsTable,
    TableLayout,
    discrete_laplace_variance,
    month_bounds,
    months,
    region_domain_valid,
)

# Every dimension, in the order of the open data's CSV columns.
COLUMN_ORDER: tuple[str, ...] = ("month", "region", "category", "perpetrator_affiliation",
                                 "survivor_sex", "survivor_age_group", "context")

# Relative tolerance for declared floats (variance, epsilon): both sides compute them in
# IEEE doubles from the same scale; anything beyond rounding is a different claim.
REL_TOLERANCE = 1e-6
EPS_TOLERANCE = 1e-9


class StatisticsConfig(BaseModel):
    """``[statistics]``: the published plan schema, the privacy limit, public caching."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    max_epsilon_per_period: float = Field(
        2.0, gt=0, le=100, allow_inf_nan=False,
        description="most privacy loss (epsilon) one node may spend on one period, across "
                    "all its accepted releases")
    cache_seconds: int = Field(
        300, ge=0, le=3600,
        description="Cache-Control max-age of the public pages and downloads (0: no-store)")
    tables: tuple[TableLayout, ...] = Field(default=DEFAULT_TABLES, min_length=1,
                                            max_length=20)

    @model_validator(mode="before")
    @classmethod
    def _fixed_domains(cls, data: Any) -> Any:
        """The fixed domains used to be configured (``[statistics.domains]``), as a copy of
        the nodes' lists. They are the protocol's vocabulary now; a configuration that still
        lists them loads if it lists exactly those values, in order."""
        if not isinstance(data, dict) or "domains" not in data:
            return data
        data = dict(data)
        listed = data.pop("domains")
        if not isinstance(listed, dict) or any(
                tuple(values) != FIXED_DOMAINS.get(name)
                for name, values in listed.items()):
            raise ValueError("statistics.domains: the fixed domains are the protocol's "
                             "coding vocabulary and cannot be changed here; remove "
                             "[statistics.domains]")
        return data

    @model_validator(mode="after")
    def _unique(self) -> Self:
        names = [t.name for t in self.tables]
        if len(set(names)) != len(names):
            raise ValueError("statistics.tables: each name must be unique")
        return self

    def table(self, name: str) -> TableLayout | None:
        return next((t for t in self.tables if t.name == name), None)

    def dimensions(self) -> tuple[str, ...]:
        """Every dimension some accepted table uses, in `COLUMN_ORDER`."""
        used = {d for t in self.tables for d in t.dimensions}
        return tuple(d for d in COLUMN_ORDER if d in used)


# ---------------------------------------------------------------------- the check


@dataclass(frozen=True)
class Refusal:
    """Why a release is refused: a stable reason code and a short English detail for the
    node's staff (both travel in the signed `DeliveryAck`)."""

    reason: str
    detail: str


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


def _regions(release: StatisticsRelease, table: StatisticsTable,
             values: tuple[str, ...]) -> Refusal | None:
    """Region cells are keyed by the published vocabulary's codes, then "unknown"."""
    if release.region_vocabulary != REGION_VOCABULARY:
        return Refusal("domain_mismatch", f"table {table.name}: region cells must be keyed by "
                                          f"the region vocabulary {REGION_VOCABULARY} "
                                          "(first-level ISO 3166-2 codes), not "
                                          f"{release.region_vocabulary}")
    if not region_domain_valid(values):
        return Refusal("domain_mismatch", f"table {table.name}: region codes are first-level "
                                          "ISO 3166-2 codes, distinct, then unknown")
    return None


def _domains(release: StatisticsRelease, planned: TableLayout, table: StatisticsTable,
             expected_months: tuple[str, ...]) -> Refusal | None:
    for dimension, values in zip(planned.dimensions, table.domains, strict=True):
        if dimension == "month":
            if values != expected_months:
                return Refusal("domain_mismatch", f"table {table.name}: months must be "
                                                  f"{release.first_month}..{release.last_month}")
        elif dimension == "region":
            refusal = _regions(release, table, values)
            if refusal is not None:
                return refusal
        elif values != FIXED_DOMAINS[dimension]:
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
        refusal = (_domains(release, planned, table, expected_months)
                   or _noise(release, table))
        if refusal is not None:
            return refusal
        if "region" in table.dimensions:
            mine = table.domains[table.dimensions.index("region")]
            if regions is not None and mine != regions:
                return Refusal("domain_mismatch", "every table of a release has the same "
                                                  "region codes")
            regions = mine
    return None
