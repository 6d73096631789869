"""Issue 6's figures: a node's full release plan from 1,000,000 coded incidents, and the
observatory's combination of 1,000 nodes' releases into dashboard data.

In-process and synthetic (clearly so): the incidents are `IncidentRow`s as
`CaseService.codings` returns them after decryption (decrypting a million codings is the
back office's cost, not the release's, and is not timed here). The node figure is the whole
`encode` (dates, periods, bounded contributions, cell indices) plus OpenDP's noisy
histograms; the observatory figure is `combine` plus `dashboard` over 1,000 nodes x 5
tables (parsing and verifying messages is not included).
"""

from __future__ import annotations

import math
import random
import secrets
import statistics
import time
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import numpy as np

from bench.cpuwatch import load_average
from bench.report import Figure, Section, fmt_ms, table
from node.backoffice.cases import IncidentRow
from node.backoffice.incidents import AGE_GROUPS, CATEGORIES, CONTEXTS, SEXES, IncidentCoding
from node.intake.models import AFFILIATIONS
from node.statistics import release as rel
from node.statistics.columns import bound, extract
from node.statistics.plan import ReleasePeriod, StatisticsPlan, domain
from observatory.statistics.combine import NodeRelease, NodeTable, combine, dashboard

COMMAND = ".venv/bin/python -m bench.run --only statistics"
INCIDENTS = 1_000_000
REPORTS = 700_000          # so that many reports describe several incidents (bounding works)
SHARED = 0.05              # incidents also described by a second report (a witness)
REGIONS = [f"R{i:02d}" for i in range(20)]
NODES = 1_000
RUNS = 3
MAX_NODE_S = 1.0
MAX_OBSERVATORY_S = 2.0


def synthetic_incidents(n: int, seed: int = 6) -> list[IncidentRow]:
    rng = random.Random(seed)
    days = [date(2025, 1, 1) + timedelta(days=d) for d in range(365)]
    reports = [secrets.token_hex(16) for _ in range(REPORTS)]
    regions: list[str | None] = [*REGIONS, None]
    affiliations = [*AFFILIATIONS, None]
    rows = []
    for _ in range(n):
        coding = IncidentCoding.model_construct(  # valid by construction; validation is not timed
            category=rng.choice(CATEGORIES), date_from=rng.choice(days), date_to=None,
            region=rng.choice(regions), perpetrator_affiliation=rng.choice(affiliations),
            unit_named=None, perpetrator_count=None, survivor_sex=rng.choice(SEXES),
            survivor_age_group=rng.choice(AGE_GROUPS), context=rng.choice(CONTEXTS))
        linked = [rng.choice(reports)]
        if rng.random() < SHARED:
            linked.append(rng.choice(reports))
        rows.append(IncidentRow(secrets.token_hex(12), coding, list(dict.fromkeys(linked)), True))
    return rows


@dataclass
class NodeRun:
    plan: float      # OpenDP measurements (scales certified by the privacy map)
    extract: float   # Python objects -> numpy arrays: dates, period, links, value indices
    bound: float     # numpy: contributions bounded, counted records' cell values
    noise: float     # OpenDP: 5 noisy histograms over int32 cell indices
    counted: int
    tables: tuple[rel.TableRelease, ...]

    @property
    def from_arrays(self) -> float:
        return self.plan + self.bound + self.noise

    @property
    def total(self) -> float:
        return self.from_arrays + self.extract


def node_release(rows: list[IncidentRow], plan: StatisticsPlan, period: ReleasePeriod
                 ) -> NodeRun:
    t0 = time.perf_counter()
    dims = list(dict.fromkeys(d for t in plan.tables for d in t.dimensions))
    mechs = rel.mechanisms(plan, plan.tables, {d: domain(d, period, REGIONS) for d in dims})
    t1 = time.perf_counter()
    extracted = extract(rows, period, REGIONS, plan.contributions, dims)
    t2 = time.perf_counter()
    columns = bound(extracted)
    t3 = time.perf_counter()
    tables = rel.compute(columns, mechs)
    t4 = time.perf_counter()
    return NodeRun(t1 - t0, t2 - t1, t3 - t2, t4 - t3, columns.counted, tables)


def synthetic_nodes(template: tuple[rel.TableRelease, ...], seed: int = 7) -> list[NodeRelease]:
    """1,000 nodes with the node plan's tables; each node has its own 20 region codes."""
    rng = np.random.default_rng(seed)
    out = []
    for i in range(NODES):
        tables = []
        for t in template:
            domains = tuple(tuple(f"N{i:04d}-{v}" if d == "region" and v != "unknown" else v
                                  for v in values)
                            for d, values in zip(t.dimensions, t.domains, strict=True))
            n = math.prod(len(v) for v in domains)
            p = math.exp(-1 / t.scale)
            noisy = rng.poisson(3, n) + rng.geometric(1 - p, n) - rng.geometric(1 - p, n)
            tables.append(NodeTable(t.name, t.dimensions, domains, noisy, t.variance))
        out.append(NodeRelease(f"{i:032x}", "2025", secrets.token_hex(16), tuple(tables)))
    return out


def run(workdir: Path) -> Section:
    plan = StatisticsPlan()
    period = ReleasePeriod(2025)
    t0 = time.perf_counter()
    rows = synthetic_incidents(INCIDENTS)
    setup_s = time.perf_counter() - t0

    load_node = load_average()
    node_runs = [node_release(rows, plan, period) for _ in range(RUNS)]
    by_total = sorted(node_runs, key=lambda r: r.total)
    median_run = by_total[len(by_total) // 2]
    median = median_run.total
    median_arrays = statistics.median(r.from_arrays for r in node_runs)
    counted, tables = median_run.counted, median_run.tables
    cells = sum(len(t.counts) for t in tables)

    nodes = synthetic_nodes(tables)
    load_obs = load_average()
    obs_runs = []
    for _ in range(RUNS):
        t0 = time.perf_counter()
        combined = combine(nodes)
        t1 = time.perf_counter()
        data = dashboard(combined, "2025")
        t2 = time.perf_counter()
        obs_runs.append((t1 - t0, t2 - t1))
    obs_totals = [a + b for a, b in obs_runs]
    obs_median = statistics.median(obs_totals)
    combined_cells = sum(int(np.prod(t.shape)) for t in combined)
    dashboard_cells = sum(len(v["estimate"]) for v in data.values() if isinstance(v, dict))

    section = Section(
        title="Differentially private statistics (issue 6)",
        command=COMMAND,
        figures=[
            Figure(f"Full release plan ({len(plan.tables)} tables, {cells:,} cells) from "
                   f"{INCIDENTS:,} coded incidents as numpy arrays (bounding + OpenDP), "
                   f"median of {RUNS}",
                   fmt_ms(median_arrays), f"≤ {MAX_NODE_S:.0f} s", median_arrays <= MAX_NODE_S),
            Figure(f"The same from {INCIDENTS:,} `IncidentRow` objects (reading them into "
                   f"arrays included), median of {RUNS}",
                   fmt_ms(median), f"≤ {MAX_NODE_S:.0f} s", median <= MAX_NODE_S),
            Figure(f"Combine {NODES:,} nodes' releases ({len(plan.tables)} tables each) and "
                   f"compute the dashboard data, median of {RUNS}",
                   fmt_ms(obs_median), f"≤ {MAX_OBSERVATORY_S:.0f} s",
                   obs_median <= MAX_OBSERVATORY_S),
        ],
        details=[
            ("Node: where the time goes (each run)", table(
                ("Run", "OpenDP measurements", "Objects -> arrays (`extract`)",
                 "Bounding (`bound`)", "OpenDP noisy histograms", "From arrays", "Total"),
                [(i + 1, fmt_ms(r.plan), fmt_ms(r.extract), fmt_ms(r.bound), fmt_ms(r.noise),
                  fmt_ms(r.from_arrays), fmt_ms(r.total)) for i, r in enumerate(node_runs)])),
            ("Observatory: where the time goes (each run)", table(
                ("Run", "combine", "dashboard", "Total"),
                [(i + 1, fmt_ms(a), fmt_ms(b), fmt_ms(a + b))
                 for i, (a, b) in enumerate(obs_runs)])),
        ],
        notes=[
            f"Synthetic incidents: {INCIDENTS:,} `IncidentRow`s over {REPORTS:,} reports "
            f"({SHARED:.0%} also linked to a second report), 20 regions, dates across 2025; "
            f"with `contributions = {plan.contributions}`, {counted:,} incidents were counted "
            f"after bounding. Building them took {setup_s:.0f} s (not timed).",
            "Node: the default plan of `node/node.toml.example`; timing starts from the "
            "decrypted codings (`CaseService.codings`), whose decryption is not included.",
            f"Observatory: {NODES:,} nodes with their own region codes (so the region "
            f"dimension has {NODES * len(REGIONS) + 1:,} values), {combined_cells:,} combined "
            f"cells; the dashboard data has {dashboard_cells:,} cells with intervals.",
            f"Load average (1 / 5 / 15 min) before the node runs: {load_node}; before the "
            f"observatory runs: {load_obs}.",
        ],
    )
    return section


if __name__ == "__main__":
    import sys
    out = run(Path(sys.argv[1]) if len(sys.argv) > 1 else Path("."))
    print(out.to_markdown())
