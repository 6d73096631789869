"""The chain of custody's cost once it holds against a database writer (issue 13): one
append with its checks (signed head, session certificate, newest anchor), the checks
alone, one anchor of the head in the evidence log with its checkpoint, and verifying the
whole chain with every anchor.

A real node (init, open) whose chain is extended to `ENTRIES` entries and anchored every
`ANCHOR_EVERY` entries, as the 15-minute cadence would; each timed append is an ordinary
write transaction (commit and fsync included), as an action on a case makes.
"""

from __future__ import annotations

import time
from pathlib import Path

from bench.report import Figure, Section, fmt_ms, percentile, table
from crypto import passphrase as pw
from node.context import init_node, open_node
from node.datadir import DataDir
from node.evidence.signing import anchor_and_sign

COMMAND = ".venv/bin/python -m bench.run --only custody"
ENTRIES = 20_000
ANCHOR_EVERY = 500
SAMPLES = 300


def fmt_us(seconds: float) -> str:
    return f"{seconds * 1e6:.0f} µs"


def _config() -> str:
    from tests.conftest import test_config

    return test_config()


def run(workdir: Path) -> Section:
    datadir = DataDir(workdir / "node")
    init_node(datadir, "admin", "bench passphrase long enough", _config(),
              pw.INSECURE_FAST_FOR_TESTS)
    ctx = open_node(datadir, staff_params=pw.INSECURE_FAST_FOR_TESTS,
                    receipt_params=pw.INSECURE_FAST_FOR_TESTS)
    try:
        now = int(ctx.clock().timestamp())
        for start in range(0, ENTRIES, ANCHOR_EVERY):
            with ctx.db.write() as conn:
                for i in range(start, start + ANCHOR_EVERY):
                    ctx.audit.append(conn, at=now, actor="bench", action="case.view",
                                     object_type="report", object_id=f"r{i % 997}")
            anchor_and_sign(ctx.db, ctx.keys, ctx.audit, now)

        appends = []
        for i in range(SAMPLES):
            t0 = time.perf_counter()
            with ctx.db.write() as conn:
                ctx.audit.append(conn, at=now, actor="bench", action="case.view",
                                 object_type="report", object_id=f"r{i}")
            appends.append(time.perf_counter() - t0)
        checks = []
        conn = ctx.db.read()
        for _ in range(SAMPLES):
            t0 = time.perf_counter()
            ctx.audit.check(conn)
            checks.append(time.perf_counter() - t0)
        anchors = []
        for _ in range(20):
            t0 = time.perf_counter()
            anchor_and_sign(ctx.db, ctx.keys, ctx.audit, now)
            anchors.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        verdict = ctx.audit.verify(ctx.db.read())
        verify_s = time.perf_counter() - t0
        if not verdict.ok:
            raise RuntimeError(f"the benchmark chain does not verify: {verdict.reason}")
        total = verdict.entries
        anchored = ctx.db.read().execute("SELECT COUNT(*) FROM custody_anchors").fetchone()[0]
    finally:
        ctx.close()

    p50, p95 = percentile(appends, 50), percentile(appends, 95)
    sec = Section(title="Chain of custody: append with its checks, anchors (issue 13)",
                  command=COMMAND)
    sec.figures += [
        Figure("One custody append with its checks, own write transaction (p50 / p95)",
               f"{fmt_ms(p50)} / {fmt_ms(p95)}"),
        Figure("The checks alone: head signature, session certificate, newest anchor (p50)",
               fmt_us(percentile(checks, 50))),
        Figure("One anchor of the head in the evidence log, with its checkpoint (p50)",
               fmt_ms(percentile(anchors, 50))),
        Figure(f"Verify the whole chain ({total:,} entries) and its {anchored} anchors",
               fmt_ms(verify_s)),
    ]
    sec.details.append(("Timings", table(
        ("Operation", "Samples", "p50", "p95", "max"),
        [(name, len(v), fmt_us(percentile(v, 50)), fmt_us(percentile(v, 95)), fmt_us(max(v)))
         for name, v in (("append + commit", appends), ("checks", checks),
                         ("anchor + checkpoint", anchors))])))
    sec.notes += [
        "The append's checks are O(1) in the chain's length: the last entry, the stored "
        "head and its Ed25519 signature, the session key's certificate, the newest anchor "
        "and its leaf in the evidence log. Most of an append is the commit's fsync. The "
        "issue sets no target; the checks are the part issue 13 added.",
        f"The chain was extended to {ENTRIES:,} entries with an anchor every {ANCHOR_EVERY}.",
    ]
    return sec
