"""Issue 2's figures: report page weight, intake throughput and latency, time to first byte
of the report page, and what the Argon2id parameters cost.

A real node: `backup-node init` (production Argon2id parameters) and `backup-node serve` in
subprocesses, driven over 127.0.0.1 by `bench/loadgen.py` in a third process.
"""

from __future__ import annotations

import asyncio
import cProfile
import gzip
import json
import os
import pstats
import re
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import aiohttp

from bench.cpuwatch import HEADERS as CPU_HEADERS
from bench.cpuwatch import CpuWatch, PhaseCpu, load_average
from bench.loadgen import synthetic_report
from bench.report import Figure, Section, fmt_bytes, fmt_ms, percentile, table
from crypto import passphrase as pw
from node import config as node_config
from node.web.reporter.report_flow import STEPS
from tests.conftest import NodeProcess, free_port, init_with_cli, test_config

ROOT = Path(__file__).resolve().parent.parent
COMMAND = ".venv/bin/python -m bench.run --only intake"

# Targets, from issue 2 ("Figures"). KB read strictly as 1000 bytes.
MAX_PAGE_BYTES = 30_000
MAX_PAGE_GZIP = 12_000
MIN_REPORTS_PER_S = 10.0
MAX_P99_S = 2.0

CONCURRENCY = 20
REPORTS = 400
REPORTS_WARMUP = 40
NARRATIVE_CHARS = 1024
TTFB_REQUESTS = 5000
TTFB_WARMUP = 100
TTFB_PATHS = ("/en/report/who", "/en/")
DETAIL_LANGUAGES = ("en", "ar")
GZIP_LEVEL = 6
KDF_RUNS = {"staff": 5, "receipt": 9}
PROFILED_SUBMISSIONS = 20

RECEIPT_PAGE = "/{lang}/receipt/report"  # a reporter's own report page (opened with a receipt)
RECORDER_SCRIPT = "/static/voice.js"  # issue 20

# Not network requests: no request leaves the page for these.
NON_NETWORK_SCHEMES = frozenset({"data", "tel", "mailto", "sms"})
URL_ATTRS = frozenset({"src", "href", "action", "formaction", "poster", "data", "srcset",
                       "manifest", "ping", "background", "xlink:href"})
CSS_URL = re.compile(r"""url\(\s*['"]?([^'")\s]+)|@import\s+['"]([^'"]+)""", re.I)
JS_URL = re.compile(r"""https?://[^\s"'`)]+|\bimport\s*\(|importScripts\s*\(""")


def bench_config() -> str:
    """The test suite's configuration with the report rate limit raised out of the way: all
    20 reporters share 127.0.0.1, which would otherwise be one rate-limit bucket."""
    text = test_config()
    raised = text.replace("reports_per_minute = 1000\n", "reports_per_minute = 100000\n")
    if raised == text:
        raise RuntimeError("tests/conftest.py's config changed: reports_per_minute not found")
    return raised


# ------------------------------------------------------------------ 1. page weight

class _References(HTMLParser):
    """Every URL an HTML page refers to, and the subresources it loads."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.urls: list[str] = []
        self.subresources: list[str] = []
        self._in_style = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k.lower(): v or "" for k, v in attrs}
        for name, value in a.items():
            if name == "srcset":
                self.urls += [part.split()[0] for part in value.split(",") if part.strip()]
            elif name in URL_ATTRS:
                self.urls.append(value)
            elif name == "style":
                self.urls += [m[0] or m[1] for m in CSS_URL.findall(value)]
        if tag == "meta" and a.get("http-equiv", "").lower() == "refresh" and "url=" in \
                a.get("content", "").lower():
            self.urls.append(a["content"].split("=", 1)[1].strip())
        if tag == "script" and a.get("src"):
            self.subresources.append(a["src"])
        if tag == "link" and a.get("href") and \
                {"stylesheet", "preload", "modulepreload"} & set(a.get("rel", "").split()):
            self.subresources.append(a["href"])
        if tag in ("img", "iframe", "embed", "audio", "video", "source") and a.get("src") \
                and not (tag in ("audio", "video") and a.get("preload") == "none"):
            # a spoken prompt (<audio preload="none">) is fetched only when played
            self.subresources.append(a["src"])
        self._in_style = tag == "style"

    def handle_endtag(self, tag: str) -> None:
        self._in_style = False

    def handle_data(self, data: str) -> None:
        if self._in_style:
            self.urls += [m[0] or m[1] for m in CSS_URL.findall(data)]


def _external(base: str, url: str) -> bool:
    resolved = urlsplit(urljoin(base, url.strip()))
    if resolved.scheme in NON_NETWORK_SCHEMES:
        return False
    origin = urlsplit(base)
    return (resolved.scheme, resolved.netloc) != (origin.scheme, origin.netloc)


@dataclass
class PageWeight:
    path: str
    status: int
    html: int
    sub: int
    gzip_total: int
    external: list[str]
    header_bytes: int
    subresources: list[str] = field(default_factory=list)

    @property
    def total(self) -> int:
        return self.html + self.sub


async def page_weights(base: str, languages: list[str]) -> tuple[dict[str, list[PageWeight]],
                                                                 dict[str, Any]]:
    """Fetch every public page a reporter sees, in each language, with one client session
    (the report steps need the session cookie the first step sets)."""
    paths = ["/{lang}/", *[f"/{{lang}}/report/{s}" for s in STEPS], "/{lang}/receipt",
             "/{lang}/services"]
    out: dict[str, list[PageWeight]] = {}
    facts: dict[str, Any] = {"encodings": set(), "static_cache": set()}
    sub_cache: dict[str, tuple[bytes, list[str]]] = {}
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as session:
        async def fetch(url: str) -> tuple[int, bytes, int, str]:
            async with session.get(url, allow_redirects=False,
                                   headers={"Accept-Encoding": "gzip, deflate"}) as resp:
                body = await resp.read()
                facts["encodings"].add(resp.headers.get("Content-Encoding", "identity"))
                header_bytes = sum(len(k) + len(v) + 4 for k, v in resp.raw_headers)
                return resp.status, body, header_bytes, resp.headers.get("Cache-Control", "")

        receipt = await _a_receipt(session, base)
        for lang in languages:
            rows = out[lang] = []
            await _open_receipt(session, base, lang, receipt)
            for template in [*paths, RECEIPT_PAGE]:
                path = template.format(lang=lang)
                status, html, header_bytes, _ = await fetch(base + path)
                refs = _References()
                refs.feed(html.decode("utf-8"))
                refs.close()
                page_url = base + path
                external = [u for u in refs.urls if _external(page_url, u)]
                sub_total, gz = 0, len(gzip.compress(html, GZIP_LEVEL))
                for src in refs.subresources:
                    if _external(page_url, src) or src.startswith("data:"):
                        continue  # counted as external above, or inline
                    url = urljoin(page_url, src)
                    if url not in sub_cache:
                        s_status, body, _, cache = await fetch(url)
                        if s_status != 200:
                            raise RuntimeError(f"{url}: HTTP {s_status}")
                        facts["static_cache"].add(cache)
                        sub_cache[url] = (body, [m for m in JS_URL.findall(body.decode())
                                                 if m.startswith(("import", "importScripts"))
                                                 or _external(page_url, m)])
                    body, js_external = sub_cache[url]
                    external += js_external
                    sub_total += len(body)
                    gz += len(gzip.compress(body, GZIP_LEVEL))
                rows.append(PageWeight(path, status, len(html), sub_total, gz, external,
                                       header_bytes, refs.subresources))
    return out, facts


async def _a_receipt(session: aiohttp.ClientSession, base: str) -> dict[str, str]:
    """A report sent through the API, for the receipt page (where additions, recordings
    included, are sent: issue 20)."""
    async with session.post(base + "/api/v1/reports", json={"narrative": "bench"}) as r:
        body = await r.json()
        if r.status != 201:
            raise RuntimeError(f"report refused: HTTP {r.status}")
    return {"receipt": body["receipt_display"], "secret": body["secret_display"]}


async def _open_receipt(session: aiohttp.ClientSession, base: str, lang: str,
                        receipt: dict[str, str]) -> None:
    async with session.get(f"{base}/{lang}/receipt") as r:
        token = re.search(r'name="csrf" value="([^"]+)"', await r.text())
    if token is None:
        raise RuntimeError("no form token on the receipt page")
    async with session.post(f"{base}/{lang}/receipt", data={"csrf": token.group(1), **receipt},
                            allow_redirects=False) as r:
        if r.status != 303:
            raise RuntimeError(f"receipt not opened: HTTP {r.status}")


# ------------------------------------------------------------------ 2, 3. load generator

def loadgen(*args: str, deadline: float) -> dict[str, Any]:
    cmd = [sys.executable, "-m", "bench.loadgen", *args, "--deadline", str(deadline)]
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, timeout=deadline + 30,
                          check=False)
    if done.returncode != 0:
        raise RuntimeError(f"load generator failed: {done.stderr.decode()[-2000:]}")
    result: dict[str, Any] = json.loads(done.stdout)
    return result


# ------------------------------------------------------------------ 4. Argon2id

def kdf_costs() -> list[tuple[pw.KdfParams, list[float]]]:
    out = []
    for params in (pw.STAFF, pw.RECEIPT):
        times = []
        for i in range(KDF_RUNS[params.name]):
            t0 = time.perf_counter()
            pw.derive_key("123456789012345678901", bytes([i]) * pw.SALT_BYTES, params)
            times.append(time.perf_counter() - t0)
        out.append((params, times))
    return out


def profile_submission(root: Path) -> tuple[float, list[tuple[str, float]]]:
    """Where one submission's time goes: cProfile of `IntakeService.submit` in this process,
    sequentially, on the bench node (stopped), with production Argon2id parameters."""
    from crypto.keys import DataKey
    from node.context import open_node
    from node.datadir import DataDir
    from node.intake.models import ReportInput

    ctx = open_node(DataDir(root), workers=1)
    try:
        reports = [ReportInput.model_validate(synthetic_report(n, NARRATIVE_CHARS))
                   for n in range(PROFILED_SUBMISSIONS)]
        ctx.intake.submit(reports[0], DataKey.generate(), [], "api")  # warm
        profiler = cProfile.Profile()
        t0 = time.perf_counter()
        profiler.enable()
        for r in reports:
            ctx.intake.submit(r, DataKey.generate(), [], "api")
        profiler.disable()
        wall = (time.perf_counter() - t0) / len(reports)
    finally:
        ctx.close()
    stats = pstats.Stats(profiler).stats  # type: ignore[attr-defined]

    def cumulative(file_end: str, func: str) -> float:
        return sum(v[3] for (f, _, name), v in stats.items()
                   if name == func and f.replace("\\", "/").endswith(file_end))

    def builtin(func: str) -> float:
        return sum(v[3] for (f, _, name), v in stats.items() if f == "~" and func in name)

    n = len(reports)
    parts = [
        ("Argon2id (RECEIPT) for the reporter's wrap — `passphrase.derive_key`",
         cumulative("crypto/passphrase.py", "derive_key") / n),
        ("Sealing the data key to the intake key — `BoxPublicKey.seal_data_key`",
         cumulative("crypto/keys.py", "seal_data_key") / n),
        ("Encrypting the body — `DataKey.encrypt`", cumulative("crypto/keys.py", "encrypt") / n),
        ("SQLite statements, COMMIT with its fsync included — `Connection.execute`",
         builtin("'execute' of 'sqlite3.Connection'") / n),
        ("  of which `BEGIN IMMEDIATE` and `COMMIT` — `Database.write`",
         cumulative("node/storage/database.py", "write") / n),
        ("Validation and JSON — `IntakeService.validate`, `model_dump`, `json.dumps`",
         (cumulative("node/intake/service.py", "validate") + builtin("model_dump")
          + cumulative("json/__init__.py", "dumps")) / n),
    ]
    return wall, parts


# ------------------------------------------------------------------ the section

def peak_memory(pid: int) -> str:
    """A process's peak resident memory so far (VmHWM), from /proc (Linux)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return f"{int(line.split()[1]) / 1024:.0f} MiB"
    return "unknown"


def serve_pool_size() -> object:
    """How many threads `backup-node serve` gives blocking work (Argon2id, SQLite)."""
    import inspect

    from node.context import open_node

    return inspect.signature(open_node).parameters["workers"].default


def _kb(n: int) -> str:
    return f"{n / 1000:.1f} KB"


def run(workdir: Path) -> Section:
    root = workdir / "node"
    t0 = time.perf_counter()
    init_with_cli(root, bench_config())
    init_s = time.perf_counter() - t0
    languages = list(node_config.load(root / "node.toml").languages)

    kdf = kdf_costs()  # before the server starts: an idle machine
    node = NodeProcess(root, free_port(), workdir / "node.log")
    node.start()
    try:
        weights, facts = asyncio.run(page_weights(node.url, languages))
        assert node.proc is not None
        phases: list[tuple[str, PhaseCpu]] = []
        ttfb = {}
        for path in TTFB_PATHS:
            with CpuWatch(node.proc.pid) as watch:
                ttfb[path] = loadgen("pages", "--base", node.url, "--path", path,
                                     "--concurrency", str(CONCURRENCY),
                                     "--count", str(TTFB_REQUESTS),
                                     "--warmup", str(TTFB_WARMUP), deadline=90)
            phases.append((f"TTFB `{path}` (warm-up included)", watch.result))
        load_before = load_average()
        with CpuWatch(node.proc.pid) as watch:
            intake = loadgen("reports", "--base", node.url, "--concurrency", str(CONCURRENCY),
                             "--count", str(REPORTS), "--warmup", str(REPORTS_WARMUP),
                             "--narrative-chars", str(NARRATIVE_CHARS), deadline=150)
        phases.append(("Intake (warm-up included)", watch.result))
        server_cpu = watch.result.node
        peak_rss = peak_memory(node.proc.pid)
    finally:
        node.stop()
    per_submit, parts = profile_submission(root)

    sec = Section(title="Intake: page weight, throughput, time to first byte, Argon2id "
                        "(issue 2)", command=COMMAND)

    # 1. page weight
    all_pages = [(lang, p) for lang, rows in weights.items() for p in rows]
    bad = [f"{p.path} → {p.status}" for _, p in all_pages if p.status != 200]
    if bad:
        raise RuntimeError(f"pages did not load: {', '.join(bad)}")
    heaviest = max(all_pages, key=lambda lp: lp[1].total)[1]
    heaviest_gz = max(all_pages, key=lambda lp: lp[1].gzip_total)[1]
    recorder = max((p for _, p in all_pages if RECORDER_SCRIPT in p.subresources),
                   key=lambda p: p.total)
    external = [(p.path, u) for _, p in all_pages for u in p.external]
    sec.figures += [
        Figure("Heaviest report page, HTML + CSS + JS, uncompressed",
               fmt_bytes(heaviest.total) + f" — `{heaviest.path}`", "≤ 30 KB",
               heaviest.total <= MAX_PAGE_BYTES),
        Figure("Heaviest report page, gzip -6 (HTML and JS each)",
               fmt_bytes(heaviest_gz.gzip_total) + f" — `{heaviest_gz.path}`", "≤ 12 KB",
               heaviest_gz.gzip_total <= MAX_PAGE_GZIP),
        Figure("Heaviest reporter page with the voice recorder, HTML + CSS + JS (the "
               "recorder's script counted), uncompressed",
               fmt_bytes(recorder.total) + f" — `{recorder.path}`", "≤ 30 KB",
               recorder.total <= MAX_PAGE_BYTES),
        Figure(f"External references, {len(all_pages)} pages in {len(languages)} languages",
               str(len(external)), "0", not external),
    ]

    # 2. intake
    accepted = intake["statuses"].get("201", 0)
    lat = [t[0] for t in intake["timings"]]
    rate = accepted / intake["wall_s"]
    p99 = percentile(lat, 99)
    cpu_per_report = server_cpu / (REPORTS + REPORTS_WARMUP)
    sec.figures += [
        Figure(f"Intake throughput, 1 KB text reports, {CONCURRENCY} concurrent reporters",
               f"{rate:.1f} accepted reports/s ({accepted}/{REPORTS} in "
               f"{intake['wall_s']:.1f} s)", "≥ 10/s on 2 cores", rate >= MIN_REPORTS_PER_S
               and accepted == REPORTS),
        Figure("Intake CPU ceiling (derived: cores ÷ node CPU per report)",
               f"{(os.cpu_count() or 1) / cpu_per_report:.0f} reports/s "
               f"({cpu_per_report * 1000:.0f} ms of node CPU per report)"),
        Figure("Intake latency p50 / p95", f"{fmt_ms(percentile(lat, 50))} / "
               f"{fmt_ms(percentile(lat, 95))}"),
        Figure("Intake latency p99", fmt_ms(p99), "≤ 2 s", p99 <= MAX_P99_S),
    ]

    # 3. TTFB
    for path, res in ttfb.items():
        first = [t[0] for t in res["timings"]]
        sec.figures.append(Figure(
            f"TTFB `{path}`, {CONCURRENCY} concurrent readers, p50 / p99",
            f"{fmt_ms(percentile(first, 50))} / {fmt_ms(percentile(first, 99))}"))

    # 4. Argon2id
    for params, times in kdf:
        sec.figures.append(Figure(
            f"Argon2id `{params.name.upper()}` ({params.opslimit} passes, "
            f"{params.memlimit >> 20} MiB), median of {len(times)}",
            fmt_ms(statistics.median(times))))

    # ---- details
    def page_rows(lang: str) -> list[tuple[object, ...]]:
        return [(f"`{p.path}`", f"{p.html:,}", f"{p.sub:,}", f"{p.total:,}",
                 f"{p.gzip_total:,}", len(p.external)) for p in weights[lang]]

    page_headers = ("Page", "HTML B", "+JS B", "Total B", "gzip total B", "External")
    for lang in DETAIL_LANGUAGES:
        sec.details.append((f"Page weight, `{lang}` (bytes)",
                            table(page_headers, page_rows(lang), range(1, 6))))
    sec.details.append(("Heaviest page per language", table(
        ("Language", "Heaviest page", "Total", "gzip total", "Lightest page total"),
        [(lang, f"`{max(rows, key=lambda p: p.total).path}`",
          _kb(max(p.total for p in rows)), _kb(max(p.gzip_total for p in rows)),
          _kb(min(p.total for p in rows)))
         for lang, rows in weights.items()])))
    if external:
        sec.details.append(("External references found", table(
            ("Page", "Reference"), [(f"`{p}`", f"`{u}`") for p, u in external])))

    statuses = ", ".join(f"{k}: {v}" for k, v in sorted(intake["statuses"].items())) + \
        " (warm-up: " + ", ".join(f"{k}: {v}" for k, v in
                                  sorted(intake["warmup_statuses"].items())) + ")"
    sec.details.append(("Intake run", table(("Quantity", "Value"), [
        ("Reports (measured, after warm-up)", f"{REPORTS} after {REPORTS_WARMUP} warm-up"),
        ("Request body", f"{intake['body_bytes']:,} B JSON, narrative {NARRATIVE_CHARS} "
                         "ASCII chars"),
        ("Responses", statuses),
        ("Wall time", f"{intake['wall_s']:.1f} s"),
        ("Load average (1 / 5 / 15 min) before the run", load_before),
        ("Latency min / p50 / p95 / p99 / max",
         " / ".join(fmt_ms(v) for v in (min(lat), percentile(lat, 50), percentile(lat, 95),
                                        p99, max(lat)))),
        ("Server CPU per report (warm-up included)",
         f"{cpu_per_report * 1000:.0f} ms"),
        ("Node peak resident memory (VmHWM, whole run)", peak_rss),
        ("Load generator CPU, measured phase", f"{intake['client_cpu_s']:.1f} s"),
        ("One submission alone, in process (no HTTP)", fmt_ms(per_submit)),
    ])))
    sec.details.append((f"Where one submission's time goes (cProfile, {PROFILED_SUBMISSIONS} "
                        "sequential `IntakeService.submit` calls, mean)", table(
        ("Part", "Time", "Share"),
        [(name, fmt_ms(t), f"{t / per_submit:.0%}") for name, t in parts]
        + [("Whole `submit` (profiler overhead included)", fmt_ms(per_submit), "100%")],
        (1, 2))))

    ttfb_rows = []
    for path, res in ttfb.items():
        first = [t[0] for t in res["timings"]]
        full = [t[1] for t in res["timings"]]
        ttfb_rows.append((f"`{path}`", f"{len(first):,}",
                          ", ".join(f"{k}: {v}" for k, v in sorted(res["statuses"].items())),
                          f"{len(first) / res['wall_s']:.0f}",
                          " / ".join(fmt_ms(percentile(first, p)) for p in (50, 95, 99)),
                          " / ".join(fmt_ms(percentile(full, p)) for p in (50, 99))))
    sec.details.append((f"Time to first byte, {CONCURRENCY} concurrent readers", table(
        ("Page", "Requests", "Responses", "Req/s", "TTFB p50 / p95 / p99",
         "Full response p50 / p99"), ttfb_rows)))

    sec.details.append(("Who used the CPU during each phase", table(
        CPU_HEADERS, [cpu.row(label) for label, cpu in phases], range(1, 7))))

    sec.details.append(("Argon2id cost (`crypto.passphrase.derive_key`, one call, this "
                        "process)", table(
        ("Parameters", "Memory", "Passes", "Median", "Min", "Max", "Paid"),
        [(f"`{p.name.upper()}`", f"{p.memlimit >> 20} MiB", p.opslimit,
          fmt_ms(statistics.median(t)), fmt_ms(min(t)), fmt_ms(max(t)),
          "each staff login / unlock" if p is pw.STAFF
          else "each report submitted, each receipt opened")
         for p, t in kdf])))

    busy = [(label, cpu.others_share) for label, cpu in phases if cpu.others_share > 0.10]
    if busy:
        sec.notes.append("**Measured on a busy machine**: other processes used " + ", ".join(
            f"{share:.0%} of it during {label}" for label, share in busy) + ". Latency "
            "tails and TTFB are the figures most sensitive to that; rerun on a quiet machine.")
    sec.notes += [
        "Node: `backup-node init` then `backup-node serve` as subprocesses (production "
        "Argon2id parameters, SQLite WAL with `synchronous=FULL`, so every acknowledged "
        "report has been fsync'd), configured as the test suite's `test_config()` with "
        "`reports_per_minute` raised from 1,000 to 100,000 (the largest value the "
        "configuration accepts) so that the rate limiter (one bucket for all reporters, who "
        "share 127.0.0.1) does not interfere. "
        f"`backup-node init` itself took {init_s:.1f} s.",
        "Page weight: response bodies as the server sends them, headers excluded "
        f"(about {heaviest.header_bytes:,} B of headers per response, mostly the security "
        "headers). Each page is fetched with one client session, so the report steps show an "
        "empty draft; a filled review page grows by the reporter's own answers. The CSS is "
        "inline; the JS is each script the page loads (`/static/exit.js`, and "
        "`/static/voice.js` on the pages with the voice recorder: the narrative step and the "
        "reporter's own report page, opened with a receipt). gzip is level 6 "
        "of the HTML and of the JS, each compressed separately and summed.",
        f"Content-Encoding seen: {', '.join(sorted(facts['encodings']))} — the node does not "
        "compress, so the uncompressed figure is what a reporter downloads unless a "
        "compressing proxy sits in front. `Cache-Control` of the script: "
        f"`{', '.join(sorted(facts['static_cache'])) or '?'}`, so the script is downloaded "
        "again with every page: the per-page total is the real per-page transfer.",
        "External references: every `src`, `href`, `action`, `formaction`, `srcset`, "
        "`poster`, `data`, meta refresh, CSS `url(`/`@import` in `<style>` and `style=`, and "
        "absolute URLs in the scripts, resolved against the page; `data:`, `tel:`, `mailto:` "
        "and `sms:` make no request and are not counted. The pages also send a "
        "Content-Security-Policy with `default-src 'none'`.",
        f"Throughput and latency: {CONCURRENCY} reporters in `bench/loadgen.py` (aiohttp "
        "client, its own process), each POSTing the next report as soon as its previous one "
        f"is answered. The first {REPORTS_WARMUP} are a warm-up in the same continuous "
        "stream; the measured phase runs from the start of the first measured report to the "
        "last answer. Throughput is accepted (201) reports over that time; latency is per "
        "request, from sending to the end of the response. Server and load generator share "
        "this machine's cores.",
        f"With {CONCURRENCY} reporters each waiting for its answer before sending again, "
        f"mean latency is {CONCURRENCY} ÷ throughput (Little's law): a p99 within 2 s needs "
        "a throughput comfortably above 10 reports/s, not just at it.",
        "Shared machine: other work (other people's test runs, or the hypervisor) may have "
        "competed for the cores while this ran; the table \"Who used the CPU during each "
        "phase\" says how much, and figures measured with a large share of other processes "
        "understate what the node does on a machine of its own.",
        f"TTFB: {CONCURRENCY} readers, each with its own cookie jar (its own reporter "
        f"session) and keep-alive connection, {TTFB_REQUESTS:,} GETs per page after "
        f"{TTFB_WARMUP} warm-up in the same stream; TTFB is the time from sending the request "
        "until the response headers are parsed.",
        "Argon2id: every report submission pays one `RECEIPT` derivation (the reporter's "
        "wrap of the data key), and so does every opening of a receipt (status, additions, "
        "consent changes, deletion); every staff login pays one `STAFF` derivation. "
        "libsodium's Argon2id runs one lane, so one derivation keeps one core busy and "
        "holds its memory for that time; `backup-node serve` runs them in a "
        f"{serve_pool_size()}-thread pool (`open_node`'s default), on this machine's "
        f"{os.cpu_count()} cores.",
    ]
    return sec
