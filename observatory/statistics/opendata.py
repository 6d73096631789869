"""Open data: every published table as JSON (``/data/statistics.json``, the same document at
``GET /api/v1/statistics``) and CSV (``/data/statistics.csv``).

Every table of every period, overall (``scope = "all"``) and per country, with per cell:
the estimate (the sum of the nodes' noisy counts, *unclamped*: sum these for totals), the
95 % interval, the value shown on the site (rounded, clamped at zero), the variance and
the number of nodes that reported the cell; per table, the contributing node count and each
node's privacy parameters (JSON) or their range (CSV). Plus the published plan schema and
the privacy loss every node spent per period.

JSON arrays are column-wise and row-major over ``domains`` (last dimension fastest), like
the nodes' releases. The pydantic models below describe the document for the OpenAPI
document; the serialisation itself writes plain JSON table by table, and both files are
written once per publication into the data directory's ``published/`` and served from
there (`Files`).

Regions are keyed by the federation's region vocabulary (`protocol.regions`: first-level
ISO 3166-2 codes such as ``CD-NK``, and ``unknown``), named per table
(``region_vocabulary``); the JSON carries the name and country of every code it uses
(``regions``). The open data stays compact because of what it leaves out, not by
summarising: a region axis holds only the subdivisions some node reports (never the
vocabulary's 3,590 codes), and the CSV, one row per cell, has no row for a cell no node
reported (a node that counted fewer months or other regions than another leaves such cells;
their estimate would be a meaningless 0 with variance 0). The JSON keeps the full
row-major arrays, where such a cell is a few bytes of zeros and ``cell_nodes`` says 0.
Every reported cell is in both files. Before the shared geography, 1,000 nodes with 20
regions of their own each made 20,001 region values and 798 MB of CSV per publication;
bench/bench_opendata.py measures the same federation keyed by subdivisions (BENCHMARKS.md).
"""

from __future__ import annotations

import itertools
import json
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal, TextIO

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from observatory.statistics.combine import Z95, CombinedTable
from observatory.statistics.publication import ALL, Publication, Scope
from observatory.statistics.schema import StatisticsConfig
from protocol import regions as geography
from protocol.statistics import FIXED_DOMAINS, REGION_VOCABULARY

CONFIDENCE = 0.95
DECIMALS = 3


class _Out(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class TablePlanOut(_Out):
    name: str
    dimensions: list[str]


class PlanOut(_Out):
    tables: list[TablePlanOut]
    fixed_domains: dict[str, list[str]] = Field(
        description="The public values of each fixed dimension, in the order nodes count them")
    per_node_domains: dict[str, str] = Field(
        description="Dimensions whose values each node declares, and the rule they follow")
    region_vocabulary: str = Field(
        description="The region codes releases are accepted in: first-level ISO 3166-2 "
                    "subdivisions (scheme and a digest of the code list)")
    max_epsilon_per_period: float = Field(
        description="Most privacy loss one node may spend on one period")


class ParamsOut(_Out):
    node_id: str
    release_id: str
    plan_version: int
    privacy_unit: Literal["report"]
    contributions: int = Field(description="Most incidents one report adds, over its lifetime "
                                           "(all periods together)")
    mechanism: str
    epsilon: float = Field(description="This table's privacy loss in that node's release")
    scale: float
    variance: float = Field(description="Variance of each cell's noise")


class TableOut(_Out):
    period: str = Field(description="The budget period: a calendar year")
    scope: Literal["all", "country"]
    country: str | None = Field(description="ISO 3166-1 alpha-2, for scope country")
    table: str
    dimensions: list[str]
    domains: list[list[str]] = Field(
        description="Values of each dimension; regions are ISO 3166-2 codes or unknown "
                    "(<country>/<node's own code> in tables of region_vocabulary 'node')")
    region_vocabulary: str | None = Field(
        description="What the region values are keyed by; null for a table without region")
    nodes: int = Field(description="Nodes whose release contributes to the table")
    estimate: list[float] = Field(description="Sum of the nodes' noisy counts, unclamped")
    lower: list[float] = Field(description="Lower end of the 95 % interval")
    upper: list[float] = Field(description="Upper end of the 95 % interval")
    display: list[int] = Field(description="The estimate rounded and clamped at zero")
    variance: list[float]
    cell_nodes: list[int] = Field(description="Nodes that reported each cell")
    privacy: list[ParamsOut]


class LossOut(_Out):
    node_id: str
    organisation_name: str
    country: str
    period: str
    releases: int = Field(description="Releases accepted for the period")
    epsilon_spent: float = Field(description="Their privacy losses, added up")
    budget_per_period: float = Field(description="The node's declared budget")
    counted: bool = Field(description="False if the member was revoked for a compromised "
                                      "key or misbehaviour")
    release_in_use: str = Field(description="The release the estimates use")


class RegionOut(_Out):
    country: str = Field(description="ISO 3166-1 alpha-2")
    name: str = Field(description="The subdivision's name in ISO 3166-2")
    kind: str = Field(description="The standard's word for it: Province, State, Oblast...")


class StatisticsOut(_Out):
    observatory: str
    confidence: float = Field(description="Of every interval")
    releases: int = Field(description="Accepted releases, in use or replaced")
    plan: PlanOut
    periods: list[str]
    tables: list[TableOut]
    regions: dict[str, RegionOut] = Field(
        description="Every ISO 3166-2 code the tables use, with its country and name")
    privacy_loss: list[LossOut]


PER_NODE_RULES = {
    "region": "first-level ISO 3166-2 codes of the region vocabulary, those the node works "
              "in, distinct, then unknown",
    "month": "exactly the release's months, first_month to last_month",
}


def plan_out(plan: StatisticsConfig) -> dict[str, Any]:
    return {
        "tables": [{"name": t.name, "dimensions": list(t.dimensions)} for t in plan.tables],
        "fixed_domains": {d: list(values) for d, values in FIXED_DOMAINS.items()},
        "per_node_domains": dict(PER_NODE_RULES),
        "region_vocabulary": REGION_VOCABULARY,
        "max_epsilon_per_period": plan.max_epsilon_per_period,
    }


def regions_out(pub: Publication) -> dict[str, dict[str, str]]:
    """Country, name and kind of every subdivision code the publication's tables use."""
    used: set[str] = set()
    for t, _ in _blocks(pub):
        if t.region_vocabulary == REGION_VOCABULARY:
            used.update(t.domains[t.dimensions.index("region")])
    out = {}
    for code in sorted(used):
        sub = geography.subdivision(code)
        if sub is not None:
            out[code] = {"country": sub.country, "name": sub.name, "kind": sub.kind}
    return out


def _rounded(values: np.ndarray) -> list[float]:
    out: list[float] = np.round(values.ravel(), DECIMALS).tolist()
    return out


def _estimates(values: np.ndarray) -> list[int] | list[float]:
    """Sums of integer counts are integers: written as such."""
    flat = values.ravel()
    if np.all(flat == np.rint(flat)):
        ints: list[int] = flat.astype(np.int64).tolist()
        return ints
    return _rounded(flat)


def _scopes(pub: Publication) -> list[tuple[Scope, str | None]]:
    return [(pub.overall, None), *((s, c) for c, s in pub.countries.items())]


def _blocks(pub: Publication) -> Iterator[tuple[CombinedTable, str | None]]:
    """Every published table: by period (newest first), overall then country by country."""
    for period in pub.periods:
        for scope, country in _scopes(pub):
            for t in scope.in_period(period):
                yield t, country


def table_out(pub: Publication, t: CombinedTable, country: str | None) -> dict[str, Any]:
    lo, hi = t.interval(Z95)
    return {
        "period": t.period, "scope": "all" if country is None else "country",
        "country": country, "table": t.table, "dimensions": list(t.dimensions),
        "domains": [list(d) for d in t.domains],
        "region_vocabulary": t.region_vocabulary or None, "nodes": len(t.node_ids),
        "estimate": _estimates(t.estimate), "lower": _rounded(lo), "upper": _rounded(hi),
        "display": t.display().ravel().tolist(), "variance": _rounded(t.variance),
        "cell_nodes": t.nodes.ravel().tolist(),
        "privacy": [{"node_id": p.node_id, "release_id": p.release_id,
                     "plan_version": p.plan_version, "privacy_unit": p.privacy_unit,
                     "contributions": p.contributions, "mechanism": p.mechanism,
                     "epsilon": p.epsilon, "scale": p.scale, "variance": p.variance}
                    for p in pub.params(t)],
    }


def _losses(pub: Publication) -> list[dict[str, Any]]:
    return [{"node_id": n.node_id, "organisation_name": n.organisation_name,
             "country": n.country, "period": n.period, "releases": n.releases,
             "epsilon_spent": n.epsilon_spent, "budget_per_period": n.budget_per_period,
             "counted": n.counted, "release_in_use": n.release_in_use} for n in pub.losses]


def write_json(pub: Publication, name: str, out: TextIO) -> None:
    """The open-data document (shaped as `StatisticsOut`), written table by table: a large
    federation's document is hundreds of megabytes, never held in memory at once."""
    def dumps(value: Any) -> str:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))

    out.write(f'{{"observatory":{dumps(name)},"confidence":{CONFIDENCE},'
              f'"releases":{pub.releases},"plan":{dumps(plan_out(pub.plan))},'
              f'"periods":{dumps(list(pub.periods))},"tables":[')
    for i, (t, country) in enumerate(_blocks(pub)):
        out.write(("," if i else "") + dumps(table_out(pub, t, country)))
    out.write(f'],"regions":{dumps(regions_out(pub))},"privacy_loss":{dumps(_losses(pub))}}}')


# ---------------------------------------------------------------------- CSV

CSV_VALUES = ("estimate", "lower", "upper", "display", "variance", "nodes", "table_nodes",
              "mechanism", "contributions_max", "epsilon_min", "epsilon_max")


def csv_text(value: str) -> str:
    """One RFC 4180 field; spreadsheet formulas neutralised (OWASP, "CSV injection")."""
    if value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        value = "'" + value
    if any(c in value for c in ',"\r\n'):
        value = '"' + value.replace('"', '""') + '"'
    return value


def write_csv(pub: Publication, out: TextIO) -> None:
    """One row per reported cell of every published table (RFC 4180, CRLF): a cell no node
    reported has no row (module docstring). Dimension columns are every dimension of the
    plan, empty where a table does not have it."""
    dims = pub.plan.dimensions()
    out.write(",".join(("period", "scope", "country", "table", *dims, *CSV_VALUES)) + "\r\n")
    for t, country in _blocks(pub):
        params = pub.params(t)
        eps = [p.epsilon for p in params]
        prefix = (f"{t.period},{ALL if country is None else 'country'},{country or ''},"
                  f"{csv_text(t.table)},")
        suffix = (f",{len(t.node_ids)},{csv_text('/'.join(sorted({p.mechanism for p in params})))}"
                  f",{max(p.contributions for p in params)},{min(eps):.6g},{max(eps):.6g}\r\n")
        # The key columns in the plan's dimension order, from each cell's values in the
        # table's own (row-major) order: one format string per table.
        fields = ",".join(f"{{{t.dimensions.index(d)}}}" if d in t.dimensions else ""
                          for d in dims)
        lists = [[csv_text(v) for v in values] for values in t.domains]
        lo, hi = t.interval(Z95)
        rows = itertools.compress(
            zip(itertools.product(*lists), _estimates(t.estimate), _rounded(lo),
                _rounded(hi), t.display().ravel().tolist(), _rounded(t.variance),
                t.nodes.ravel().tolist(), strict=True),
            reported(t))
        out.writelines(f"{prefix}{fields.format(*key)},{est},{low},{high},{shown},{var},"
                       f"{nodes}{suffix}"
                       for key, est, low, high, shown, var, nodes in rows)


def reported(t: CombinedTable) -> list[bool]:
    """Per cell, row-major: whether some node reported it (the CSV's rows)."""
    flags: list[bool] = (t.nodes.ravel() > 0).tolist()
    return flags


# ---------------------------------------------------------------------- the files


class Files:
    """The downloads of the current publication, written once into `directory` (the data
    directory's ``published/``) and served from disk: at a thousand nodes the CSV is
    hundreds of megabytes, too much to keep in memory or to rebuild per request. They are
    public by design; files of older publications are removed."""

    KINDS = ("csv", "json")

    def __init__(self, directory: Path, name: str) -> None:
        self.directory = directory
        self.name = name
        self._lock = threading.Lock()

    def path(self, pub: Publication, kind: str) -> Path:
        """The file of `kind` for `pub`, written first if it does not exist yet."""
        if kind not in self.KINDS:
            raise ValueError(kind)
        stamp = "-".join(str(n) for n in pub.fingerprint)
        target = self.directory / f"statistics-{stamp}.{kind}"
        if target.exists():
            return target
        with self._lock:
            if target.exists():
                return target
            self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
            tmp = target.with_suffix(f".{kind}.tmp")
            with tmp.open("w", encoding="utf-8", newline="") as fh:
                if kind == "csv":
                    write_csv(pub, fh)
                else:
                    write_json(pub, self.name, fh)
            os.replace(tmp, target)
            for old in self.directory.glob(f"statistics-*.{kind}"):
                if old != target:
                    old.unlink(missing_ok=True)
        return target
