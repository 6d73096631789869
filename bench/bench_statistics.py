"""Issue 6's figures: a node's full release plan from 1,000,000 coded incidents, and the
observatory's combination of 1,000 nodes' releases into dashboard data.

In-process and synthetic (clearly so): the incidents are `IncidentRow`s as
`CaseService.codings` returns them after decryption (decrypting a million codings is the
back office's cost, not the release's, and is not timed here). The node figure is the whole
`encode` (dates, periods, bounded contributions, cell indices) plus OpenDP's noisy
histograms; the first observatory figure is `combine` plus `dashboard` over 1,000 nodes x 5
tables in memory (parsing and verifying messages is not included).

The second observatory figure is the observatory's real path: 1,000 approved members of a
real observatory (SQLite on disk) each have a `StatisticsRelease` accepted by the
federation's `statistics.release` hook (`ReleaseIngest`: plan schema, budget, storage);
then what the running site does when a release arrives is timed: read every release back
(`store.releases`), combine per period and table overall and per country
(`publication.build`), compute the dashboard's views with intervals, and render the
dashboard page (the HTML with its SVG charts and the country table).
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
from crypto import passphrase as pw
from crypto.keys import BoxSecretKey, SigningKey
from node.backoffice.cases import IncidentRow
from node.backoffice.incidents import AGE_GROUPS, CATEGORIES, CONTEXTS, SEXES, IncidentCoding
from node.intake.models import AFFILIATIONS
from node.statistics import release as rel
from node.statistics.columns import bound, extract
from node.statistics.plan import ReleasePeriod, StatisticsPlan, domain
from observatory.config import template_text
from observatory.context import init_observatory, open_observatory
from observatory.statistics import store
from observatory.statistics.combine import NodeRelease, NodeTable, combine, dashboard
from observatory.statistics.ingest import ReleaseIngest
from observatory.statistics.opendata import Files
from observatory.statistics.publication import build
from observatory.web.site_render import SiteRenderer
from protocol.envelope import seal
from protocol.membership import MembershipRequest
from protocol.statistics import StatisticsRelease, StatisticsTable

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


COUNTRIES = 25


@dataclass
class ObservatoryRun:
    load: float       # SQLite -> releases with numpy counts
    combine: float    # publication.build: overall and per-country combination
    views: float      # dashboard views with intervals (overall, and each country's total)
    render: float     # the dashboard page's HTML with its charts

    @property
    def total(self) -> float:
        return self.load + self.combine + self.views + self.render


def synthetic_releases(template: tuple[rel.TableRelease, ...], seed: int = 8
                       ) -> list[StatisticsRelease]:
    """The same 1,000 nodes as `synthetic_nodes`, as the signed message's payload."""
    rng = np.random.default_rng(seed)
    start, end = ReleasePeriod(2025).bounds()
    epsilon = math.fsum(t.epsilon for t in template)
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
            tables.append(StatisticsTable.model_construct(  # valid by construction
                name=t.name, dimensions=t.dimensions, domains=domains,
                counts=tuple(int(c) for c in noisy), mechanism="discrete_laplace",
                scale=t.scale, variance=t.variance, accuracy_95=t.accuracy_95,
                epsilon=t.epsilon))
        out.append(StatisticsRelease.model_construct(
            release_id=secrets.token_hex(16), plan_version=1, period="2025",
            first_month="2025-01", last_month="2025-12", period_start=start, period_end=end,
            privacy_unit="report", contributions=2, mechanism="discrete_laplace",
            epsilon=epsilon, delta=0.0, budget_per_period=2.0, spent_in_period=epsilon,
            created_hour=end // 3600, tables=tuple(tables)))
    return out


@dataclass
class OpenDataRun:
    csv_s: float
    csv_bytes: int
    json_s: float
    json_bytes: int


def observatory_path(workdir: Path, template: tuple[rel.TableRelease, ...]
                     ) -> tuple[list[ObservatoryRun], float, float, int, OpenDataRun]:
    """(timed runs, ingest seconds per release, setup seconds, dashboard bytes, the
    open-data files)."""
    t0 = time.perf_counter()
    root = workdir / "observatory"
    init_observatory(root, "bench observatory passphrase", template_text(),
                     pw.INSECURE_FAST_FOR_TESTS)
    ctx = open_observatory(root)
    try:
        now = int(time.time())
        members = ctx.members
        keys = [SigningKey.generate() for _ in range(NODES)]
        requests = [MembershipRequest(
            node_id=secrets.token_hex(16), organisation_name=f"Synthetic organisation {i}",
            country=f"{chr(65 + i % COUNTRIES)}Z", contact="bench@example.org",
            identity_key=key.verify_key.raw().hex(),
            box_key=BoxSecretKey.generate().public_key.raw().hex())
            for i, key in enumerate(keys)]
        with ctx.db.write() as conn:
            for request in requests:
                members.enroll_in(conn, request, now)
        for request in requests:  # each approval signs a certificate and a membership list
            members.approve(request.node_id, now)
        releases = synthetic_releases(template)
        envelopes = [seal(r, sender=q.node_id, recipient=ctx.identity.node_id,
                          signing_key=k, now=now)
                     for r, q, k in zip(releases, requests, keys, strict=True)]
        setup = time.perf_counter() - t0
        hook = ReleaseIngest(ctx.config.statistics)
        t1 = time.perf_counter()
        for request, envelope, release in zip(requests, envelopes, releases, strict=True):
            member = members.get(request.node_id)
            assert member is not None
            with ctx.db.write() as conn:
                ack = hook(conn, member, envelope, release, now)
            assert ack.status == "accepted", ack
        ingest = (time.perf_counter() - t1) / NODES
        site = SiteRenderer(ctx.config)
        runs, size = [], 0
        for _ in range(RUNS):
            a = time.perf_counter()
            stored = store.releases(ctx.db.read())
            b = time.perf_counter()
            pub = build(stored, ctx.config.statistics, store.fingerprint(ctx.db.read()))
            c = time.perf_counter()
            pub.overall.view("2025")
            for scope in pub.countries.values():
                scope.view("2025")
            d = time.perf_counter()
            html = site.statistics(pub, "en", pub.overall, None)
            e = time.perf_counter()
            size = len(html.encode("utf-8"))
            runs.append(ObservatoryRun(b - a, c - b, d - c, e - d))
        files = Files(root / "published", ctx.config.name)
        a = time.perf_counter()
        csv_path = files.path(pub, "csv")
        b = time.perf_counter()
        json_path = files.path(pub, "json")
        c = time.perf_counter()
        opendata = OpenDataRun(b - a, csv_path.stat().st_size, c - b, json_path.stat().st_size)
        return runs, ingest, setup, size, opendata
    finally:
        ctx.close()


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

    load_path = load_average()
    path_runs, ingest_s, path_setup_s, page_bytes, files = observatory_path(workdir, tables)
    path_median = statistics.median(r.total for r in path_runs)

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
            Figure(f"observatory: combine releases from {NODES:,} nodes and re-render the "
                   f"dashboard data (the running site's path: releases read from SQLite, "
                   f"combined overall and for {COUNTRIES} countries, views with intervals, "
                   f"dashboard page rendered), median of {RUNS}",
                   fmt_ms(path_median), f"≤ {MAX_OBSERVATORY_S:.0f} s",
                   path_median <= MAX_OBSERVATORY_S),
            Figure(f"observatory: accept one release through the federation hook (plan "
                   f"schema, budget, SQLite write), mean over {NODES:,}",
                   fmt_ms(ingest_s)),
            Figure(f"observatory: write the open data of {NODES:,} nodes once per "
                   f"publication: CSV ({files.csv_bytes / 1e6:.0f} MB), JSON "
                   f"({files.json_bytes / 1e6:.0f} MB)",
                   f"{fmt_ms(files.csv_s)} + {fmt_ms(files.json_s)}"),
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
            ("Observatory, the running site's path: where the time goes (each run)", table(
                ("Run", "Read releases (SQLite)", "Combine (overall + countries)",
                 "Dashboard views", "Render the page", "Total"),
                [(i + 1, fmt_ms(r.load), fmt_ms(r.combine), fmt_ms(r.views),
                  fmt_ms(r.render), fmt_ms(r.total)) for i, r in enumerate(path_runs)])),
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
            f"The running site's path: a real observatory in the bench's work directory; "
            f"{NODES:,} members in {COUNTRIES} countries approved (each approval signs a "
            f"certificate and a membership list) and {NODES:,} signed releases built in "
            f"{path_setup_s:.0f} s (not timed); the rendered dashboard is "
            f"{page_bytes / 1024:.0f} KB (8 regional small multiples and 30 region rows "
            f"at most; every cell is in the open data).",
            f"Load average (1 / 5 / 15 min) before the node runs: {load_node}; before the "
            f"observatory runs: {load_obs}; before the running site's path: {load_path}.",
        ],
    )
    return section


if __name__ == "__main__":
    import sys
    out = run(Path(sys.argv[1]) if len(sys.argv) > 1 else Path("."))
    print(out.to_markdown())
