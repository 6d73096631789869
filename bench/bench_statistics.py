"""Issue 6's figures: a node's full release plan from 1,000,000 coded incidents, and the
observatory's combination of 1,000 nodes' releases into dashboard data.

The node's figures run on a real node (SQLite in the work directory) holding 1,000,000
synthetic incidents (clearly so) encrypted exactly as `CaseIncidents.code` stores
them: each coding is `IncidentCoding.model_dump_json()` under its own random data key
(XChaCha20-Poly1305, bound to the incident id), and that key sealed to the node's analysis
key (an X25519 sealed box). They are linked to 700,000 reports that consent to statistics
(inserted directly: `open_codings()` reads only their ids and consent).

The whole real path is `StatisticsService.draft`, timed once end to end: `open_codings()`
(every sealed key opened, every coding authenticated and validated, in worker threads; the
arrays read while decoding), then the release and its ledger entry. Decrypting a million
codings cannot fit in one second on two cores (an X25519 operation each), so it is reported
apart, with its cost per incident; the <= 1 s target is held by what comes after it: from
the rows `open_codings()` returns to the five noisy tables (reading the carried arrays, the
period, links and cell indices, the contribution bound, OpenDP), median of 3, and by the
draft's own remainder (the same plus the ledger transaction and the sealed payload).
For reference, the same release from plain `IncidentRow` objects (no carried arrays) and
from numpy arrays.

The first observatory figure is `combine` plus `dashboard` over 1,000 nodes x 5 tables in
memory (parsing and verifying messages is not included).

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
import os
import random
import secrets
import statistics
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from unittest import mock

import numpy as np
import numpy.typing as npt

from bench.bench_opendata import CRSV_COUNTRIES
from bench.cpuwatch import load_average
from bench.report import Figure, Section, fmt_ms, table
from crypto import passphrase as pw
from crypto.keys import BoxPublicKey, BoxSecretKey, DataKey, SigningKey
from node import accounts
from node.accounts import UnlockedStaff
from node.backoffice.codings import IncidentRow, open_codings
from node.backoffice.incidents import IncidentCoding
from node.config import Region
from node.context import NodeContext, open_node
from node.statistics import release as rel
from node.statistics import service as statistics_service
from node.statistics.bounding import select
from node.statistics.columns import ChunkCoder, coded, select_columns
from node.statistics.plan import ReleasePeriod, StatisticsPlan, domain
from node.statistics.service import StatisticsService
from node.storage.database import Database
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
from protocol.regions import subdivisions
from protocol.statistics import REGION_VOCABULARY, StatisticsRelease, StatisticsTable
from protocol.vocabulary import AFFILIATIONS, AGE_GROUPS, CATEGORIES, CONTEXTS, SEXES
from tests.conftest import ADMIN, ADMIN_PASSPHRASE, make_node

COMMAND = ".venv/bin/python -m bench.run --only statistics"
INCIDENTS = 1_000_000
REPORTS = 700_000          # so that many reports describe several incidents (bounding works)
SHARED = 0.05              # incidents also described by a second report (a witness)
REGIONS = [f"R{i:02d}" for i in range(20)]
SEED_BATCH = 10_000        # incidents encrypted per task and inserted per transaction
SAMPLE = 20_000            # incidents whose decoding is timed step by step, one thread
NODES = 1_000
RUNS = 3
MAX_NODE_S = 1.0
MAX_OBSERVATORY_S = 2.0


# ------------------------------------------------------------------ the node's incidents

def _codings(rng: random.Random, n: int) -> Iterator[bytes]:
    days = [date(2025, 1, 1) + timedelta(days=d) for d in range(365)]
    regions: list[str | None] = [*REGIONS, None]
    affiliations = [*AFFILIATIONS, None]
    for _ in range(n):
        yield IncidentCoding.model_construct(  # valid by construction, stored as the node does
            category=rng.choice(CATEGORIES), date_from=rng.choice(days), date_to=None,
            region=rng.choice(regions), perpetrator_affiliation=rng.choice(affiliations),
            unit_named=None, perpetrator_count=None, survivor_sex=rng.choice(SEXES),
            survivor_age_group=rng.choice(AGE_GROUPS), context=rng.choice(CONTEXTS),
        ).model_dump_json().encode()


def _encrypt(analysis: BoxPublicKey, batch: list[tuple[str, bytes]]
             ) -> list[tuple[str, bytes, bytes]]:
    """As `CaseIncidents.code` stores a coding: its own key, sealed to the analysis
    key; the coding encrypted under it, bound to the incident id."""
    out = []
    for incident_id, payload in batch:
        key = DataKey.generate()
        out.append((incident_id, analysis.seal_data_key(key),
                    key.encrypt(payload, b"incident:" + incident_id.encode())))
    return out


def seed_node(workdir: Path) -> tuple[NodeContext, UnlockedStaff]:
    """A real node with INCIDENTS encrypted incidents linked to REPORTS consenting reports."""
    ctx = open_node(make_node(workdir / "node"), staff_params=pw.INSECURE_FAST_FOR_TESTS,
                    receipt_params=pw.INSECURE_FAST_FOR_TESTS)
    staff = accounts.unlock(ctx.db.read(), ADMIN, ADMIN_PASSPHRASE)  # holds the analysis key
    rng = random.Random(6)
    reports = [secrets.token_hex(16) for _ in range(REPORTS)]
    with ctx.db.write() as conn:
        conn.executemany(
            "INSERT INTO reports (id, receipt_index, received_hour, updated_hour, status,"
            " sealed_key, reporter_wrap, body_ct, consent_statistics, synthetic)"
            " VALUES (?, ?, 480000, 480000, 'assigned', x'', x'', x'', 1, 1)",
            ((r, bytes.fromhex(r)) for r in reports))
    payloads = _codings(rng, INCIDENTS)
    ids = [secrets.token_hex(12) for _ in range(INCIDENTS)]
    batches = [list(zip(ids[i:i + SEED_BATCH], payloads, strict=False))
               for i in range(0, INCIDENTS, SEED_BATCH)]
    with ThreadPoolExecutor(len(os.sched_getaffinity(0))) as pool:
        for start, batch in zip(range(0, INCIDENTS, SEED_BATCH),
                                pool.map(lambda b: _encrypt(ctx.keys.analysis_public, b),
                                         batches), strict=True):
            links = []
            for incident_id, _, _ in batch:
                linked = [rng.choice(reports)]
                if rng.random() < SHARED:
                    linked.append(rng.choice(reports))
                # the report's wrap of the incident key is never read by `open_codings()`: random
                # bytes of its size stand in for it
                links += [(incident_id, r, os.urandom(73)) for r in dict.fromkeys(linked)]
            with ctx.db.write() as conn:
                conn.executemany("INSERT INTO incidents (id, created_at, updated_at, sealed_key,"
                                 " coding_ct) VALUES (?, ?, ?, ?, ?)",
                                 ((i, start + j, start + j, k, c)
                                  for j, (i, k, c) in enumerate(batch)))
                conn.executemany("INSERT INTO incident_links (incident_id, report_id,"
                                 " wrapped_key) VALUES (?, ?, ?)", links)
    return ctx, staff


@dataclass
class DecodeSample:
    """Single-thread seconds per incident of each step of `open_codings()`, on SAMPLE incidents."""

    open_key: float   # the sealed data key (X25519 + XSalsa20-Poly1305)
    decrypt: float    # the coding (XChaCha20-Poly1305)
    validate: float   # IncidentCoding.model_validate_json
    columns: float    # ChunkCoder: months and field codes, a chunk at a time


def decode_sample(ctx: NodeContext, key: BoxSecretKey) -> DecodeSample:
    rows = ctx.db.read().execute(
        "SELECT id, sealed_key, coding_ct FROM incidents LIMIT ?", (SAMPLE,)).fetchall()
    t0 = time.perf_counter()
    keys = [key.open_data_key(r["sealed_key"]) for r in rows]
    t1 = time.perf_counter()
    plain = [k.decrypt(r["coding_ct"], b"incident:" + r["id"].encode())
             for k, r in zip(keys, rows, strict=True)]
    t2 = time.perf_counter()
    codings = [IncidentCoding.model_validate_json(p) for p in plain]
    t3 = time.perf_counter()
    coder = ChunkCoder()
    for i in range(0, len(codings), 4096):
        coder(codings[i:i + 4096])
    t4 = time.perf_counter()
    n = len(rows)
    return DecodeSample((t1 - t0) / n, (t2 - t1) / n, (t3 - t2) / n, (t4 - t3) / n)


class TimedCodings:
    """The node's `open_codings`, timed (wall and this process's CPU) where
    `StatisticsService.draft` calls it."""

    def __init__(self) -> None:
        self.wall = self.cpu = 0.0
        self.rows: list[IncidentRow] = []

    def __call__(self, db: Database, staff: UnlockedStaff, *, statistics_only: bool = True
                 ) -> list[IncidentRow]:
        t0, c0 = time.perf_counter(), time.process_time()
        self.rows = open_codings(db, staff, statistics_only=statistics_only)
        self.wall, self.cpu = time.perf_counter() - t0, time.process_time() - c0
        return self.rows


@dataclass
class DraftRun:
    total: float        # StatisticsService.draft, end to end
    codings: float      # of which open_codings(): wall
    codings_cpu: float  # open_codings(): CPU of every thread

    @property
    def rest(self) -> float:
        return self.total - self.codings


def real_draft(ctx: NodeContext, staff: UnlockedStaff, plan: StatisticsPlan,
               period: ReleasePeriod) -> tuple[DraftRun, list[IncidentRow]]:
    timed = TimedCodings()
    config = ctx.config.model_copy(update={
        "statistics": plan, "regions": [Region(code=r, name=r, subdivision=sub)
                                        for r, sub in zip(REGIONS, node_subdivisions(0),
                                                          strict=True)]})
    service = StatisticsService(ctx.db, config, ctx.keys, ctx.audit, ctx.clock)
    with mock.patch.object(statistics_service, "open_codings", timed):
        t0 = time.perf_counter()
        service.draft(staff, period)
        total = time.perf_counter() - t0
    return DraftRun(total, timed.wall, timed.cpu), timed.rows


@dataclass
class NodeRun:
    plan: float      # OpenDP measurements (scales certified by the privacy map)
    extract: float   # rows -> arrays: dates, links, field codes
    bound: float     # numpy: lifetime vouching on the link graph, counted records' cells
    noise: float     # OpenDP: 5 noisy histograms over int32 cell indices
    counted: int
    tables: tuple[StatisticsTable, ...]

    @property
    def from_arrays(self) -> float:
        return self.plan + self.bound + self.noise

    @property
    def total(self) -> float:
        return self.from_arrays + self.extract


def node_release(rows: Sequence[IncidentRow], plan: StatisticsPlan, period: ReleasePeriod
                 ) -> NodeRun:
    t0 = time.perf_counter()
    dims = list(dict.fromkeys(d for t in plan.tables for d in t.dimensions))
    mechs = rel.mechanisms(plan, plan.tables, {d: domain(d, period, REGIONS) for d in dims})
    t1 = time.perf_counter()
    graph = coded(rows)  # the rows' arrays (carried by `open_codings`'s list)
    t2 = time.perf_counter()
    # lifetime vouching on the whole link graph (issue 14), then the period's columns
    chosen = select(graph, period, plan.contributions, None)
    columns = select_columns(graph, period, REGIONS, dims, chosen.counted, chosen.in_period)
    t3 = time.perf_counter()
    tables = rel.compute(columns, mechs)
    t4 = time.perf_counter()
    return NodeRun(t1 - t0, t2 - t1, t3 - t2, t4 - t3, columns.counted, tables)


def node_subdivisions(node: int) -> tuple[str, ...]:
    """The ISO 3166-2 subdivisions node ``node``'s 20 regions map to: up to 20 distinct ones
    of its country (issue 14's shared geography; bench_opendata has the open data)."""
    country = CRSV_COUNTRIES[node % len(CRSV_COUNTRIES)]
    codes = [s.code for s in subdivisions(country)]
    start = node // len(CRSV_COUNTRIES)
    return tuple(codes[(start + j) % len(codes)] for j in range(min(len(REGIONS), len(codes))))


def synthetic_table(rng: np.random.Generator, node: int, t: StatisticsTable
                    ) -> tuple[tuple[tuple[str, ...], ...], npt.NDArray[np.int64]]:
    """Node ``node``'s domains for table ``t`` (the subdivisions of its country its regions
    map to) and noisy counts: Poisson(3) true counts plus discrete Laplace noise of the
    table's scale."""
    domains = tuple((*node_subdivisions(node), "unknown") if d == "region" else values
                    for d, values in zip(t.dimensions, t.domains, strict=True))
    n = math.prod(len(v) for v in domains)
    p = math.exp(-1 / t.scale)
    noisy = rng.poisson(3, n) + rng.geometric(1 - p, n) - rng.geometric(1 - p, n)
    return domains, noisy


def synthetic_nodes(template: tuple[StatisticsTable, ...], seed: int = 7) -> list[NodeRelease]:
    """1,000 nodes with the node plan's tables, in 25 countries, each working in up to 20
    subdivisions of its country."""
    rng = np.random.default_rng(seed)
    out = []
    for i in range(NODES):
        tables = []
        for t in template:
            domains, noisy = synthetic_table(rng, i, t)
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


def synthetic_releases(template: tuple[StatisticsTable, ...], seed: int = 8
                       ) -> list[StatisticsRelease]:
    """The same 1,000 nodes as `synthetic_nodes`, as the signed message's payload."""
    rng = np.random.default_rng(seed)
    start, end = ReleasePeriod(2025).bounds()
    epsilon = math.fsum(t.epsilon for t in template)
    out = []
    for i in range(NODES):
        tables = []
        for t in template:
            domains, noisy = synthetic_table(rng, i, t)
            tables.append(StatisticsTable.model_construct(  # valid by construction
                name=t.name, dimensions=t.dimensions, domains=domains,
                counts=tuple(int(c) for c in noisy), mechanism="discrete_laplace",
                scale=t.scale, variance=t.variance, accuracy_95=t.accuracy_95,
                epsilon=t.epsilon))
        out.append(StatisticsRelease.model_construct(
            release_id=secrets.token_hex(16), plan_version=1, period="2025",
            first_month="2025-01", last_month="2025-12", period_start=start, period_end=end,
            privacy_unit="report", region_vocabulary=REGION_VOCABULARY, contributions=2,
            mechanism="discrete_laplace",
            epsilon=epsilon, delta=0.0, budget_per_period=2.0, spent_in_period=epsilon,
            created_hour=end // 3600, tables=tuple(tables)))
    return out


@dataclass
class OpenDataRun:
    csv_s: float
    csv_bytes: int
    json_s: float
    json_bytes: int


def observatory_path(workdir: Path, template: tuple[StatisticsTable, ...]
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
            country=CRSV_COUNTRIES[i % COUNTRIES], contact="bench@example.org",
            identity_key=key.verify_key.raw().hex(),
            box_key=BoxSecretKey.generate().public_key.raw().hex())
            for i, key in enumerate(keys)]
        # one request at a time: the observatory caps how many may wait (issue 11); each
        # approval signs a certificate and a membership list
        for request in requests:
            with ctx.db.write() as conn:
                enrollment = members.enroll_in(conn, request, now)
            assert enrollment.status == "pending", enrollment.status
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


def _median(runs: list[NodeRun]) -> NodeRun:
    return sorted(runs, key=lambda r: r.total)[len(runs) // 2]


def run(workdir: Path) -> Section:
    plan = StatisticsPlan()
    period = ReleasePeriod(2025)
    t0 = time.perf_counter()
    ctx, staff = seed_node(workdir)
    try:
        setup_s = time.perf_counter() - t0
        load_node = load_average()
        assert staff.analysis_key is not None
        sample = decode_sample(ctx, staff.analysis_key)
        draft, rows = real_draft(ctx, staff, plan, period)
        # From what open_codings() returned: the rows with the arrays read while decoding.
        carried_runs = [node_release(rows, plan, period) for _ in range(RUNS)]
        # The same rows as a plain list: every object read again.
        plain_runs = [node_release(list(rows), plan, period) for _ in range(RUNS)]
    finally:
        ctx.close()
    threads = min(8, len(os.sched_getaffinity(0)))
    median_run = _median(carried_runs)
    median = median_run.total
    median_plain = _median(plain_runs).total
    median_arrays = statistics.median(r.from_arrays for r in carried_runs)
    counted, tables = median_run.counted, median_run.tables
    cells = sum(len(t.counts) for t in tables)
    per_incident = sample.open_key + sample.decrypt + sample.validate + sample.columns
    node_runs = [("open_codings() output", i + 1, r) for i, r in enumerate(carried_runs)] + [
        ("plain `IncidentRow` list", i + 1, r) for i, r in enumerate(plain_runs)]

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
            Figure(f"Full release plan ({len(plan.tables)} tables, {cells:,} cells) from the "
                   f"{INCIDENTS:,} coded incidents `open_codings` returns (decrypted and "
                   f"validated, arrays read while decoding): period, links, cell indices, "
                   f"contribution bound, OpenDP noise; median of {RUNS}",
                   fmt_ms(median), f"≤ {MAX_NODE_S:.0f} s", median <= MAX_NODE_S),
            Figure(f"`StatisticsService.draft` end to end on the node's SQLite with "
                   f"{INCIDENTS:,} encrypted incidents, after `open_codings()`: the release as "
                   f"above plus the ledger transaction and the sealed payload (one run)",
                   fmt_ms(draft.rest), f"≤ {MAX_NODE_S:.0f} s", draft.rest <= MAX_NODE_S),
            Figure(f"`open_codings` for {INCIDENTS:,} encrypted incidents (each "
                   f"sealed key opened, each coding authenticated and validated; "
                   f"{threads} worker threads; inside the same draft, one run): not within "
                   f"1 s on this machine, see the notes",
                   f"{draft.codings:.1f} s (CPU {draft.codings_cpu:.1f} s)"),
            Figure("`StatisticsService.draft`, the whole real path (`open_codings()` included), "
                   "one run", f"{draft.total:.1f} s"),
            Figure(f"For reference: the release from the same {INCIDENTS:,} rows as a plain "
                   f"`IncidentRow` list (no carried arrays: every object read again), "
                   f"median of {RUNS}", fmt_ms(median_plain)),
            Figure(f"For reference: the release from numpy arrays (measurements, bounding, "
                   f"OpenDP), median of {RUNS}", fmt_ms(median_arrays)),
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
            ("Node: the release, where the time goes (each run)", table(
                ("From", "Run", "OpenDP measurements", "Rows -> arrays (`coded`)",
                 "Bounding (`select`)", "OpenDP noisy histograms", "Total"),
                [(src, i, fmt_ms(r.plan), fmt_ms(r.extract), fmt_ms(r.bound),
                  fmt_ms(r.noise), fmt_ms(r.total)) for src, i, r in node_runs])),
            (f"Node: `open_codings()`, one thread, per incident (first {SAMPLE:,} incidents)",
             table(
                ("Open the sealed data key (X25519 sealed box)",
                 "Decrypt the coding (XChaCha20-Poly1305)",
                 "Validate (`IncidentCoding.model_validate_json`)",
                 "Read into arrays (`ChunkCoder`)", "Total"),
                [(f"{sample.open_key * 1e6:.1f} µs", f"{sample.decrypt * 1e6:.1f} µs",
                  f"{sample.validate * 1e6:.1f} µs", f"{sample.columns * 1e6:.2f} µs",
                  f"{per_incident * 1e6:.1f} µs")])),
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
            f"Synthetic incidents on a real node: {INCIDENTS:,} incidents encrypted as "
            f"`code_incident` stores them, linked to {REPORTS:,} consenting reports "
            f"({SHARED:.0%} also linked to a second report), 20 regions, dates across 2025; "
            f"with `contributions = {plan.contributions}`, {counted:,} incidents were counted "
            f"after bounding. Seeding the node took {setup_s:.0f} s (not timed).",
            f"What the ≤ 1 s covers: everything after decryption and validation. "
            f"`open_codings()` opens each incident's own data key, sealed to the analysis key "
            f"with an X25519 sealed box: {sample.open_key * 1e6:.0f} µs of one core per "
            f"incident here, {sample.open_key * INCIDENTS:.0f} s of CPU for a million, so "
            f"decryption alone needs about {sample.open_key * INCIDENTS / threads:.0f} s on "
            f"{threads} cores even perfectly parallel. It is not weakened to fit (no shared "
            f"or cached keys, every coding still authenticated and validated by the full "
            f"model); it runs in {threads} worker threads (libsodium releases the GIL), "
            f"{draft.codings:.1f} s wall for {draft.codings_cpu:.1f} s of CPU. Reading the "
            f"codings into arrays happens there, chunk by chunk while they are in the CPU "
            f"cache ({sample.columns * 1e6:.2f} µs per incident, "
            f"{sample.columns * INCIDENTS:.2f} s of CPU per million, included in "
            f"`open_codings()`'s figure and not in the ≤ 1 s one).",
            "The release from a plain `IncidentRow` list reads every row, coding, date and "
            "link list again (a million scattered objects, memory-bound); the service never "
            "takes that path, since `open_codings()` returns a `CodedIncidents` list carrying its "
            "arrays (dropped if the list is changed).",
            f"Observatory: {NODES:,} nodes in {COUNTRIES} countries, each working in up to "
            f"{len(REGIONS)} ISO 3166-2 subdivisions of its country (issue 14's shared "
            f"geography; before it, each node's own codes made {NODES * len(REGIONS) + 1:,} "
            f"region values), {combined_cells:,} combined cells; the dashboard data has "
            f"{dashboard_cells:,} cells with intervals.",
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
