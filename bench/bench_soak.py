"""Issue 11's soak at scale: hostile traffic mixed with genuine reporters against a real node
server on 127.0.0.1 (`tests.soak`, the driver `tests/integration/test_soak.py` runs bounded).

Production Argon2id parameters for staff sign-in and receipts (`crypto.passphrase.STAFF`,
`RECEIPT`), the production rate limits and session store (5,000 places), small caps on
staged files so that the attack reaches them. The server runs in this process, on the same
event loop as the clients: latencies include the clients' own work, and the two cores are
shared between attack, genuine traffic and the node.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path

from bench.cpuwatch import load_average
from bench.report import Figure, Section, fmt_ms, percentile, table
from crypto import passphrase as pw
from node.context import open_node
from tests.conftest import make_node
from tests.soak import ALLOWED, MALFORMED, Outcome, SoakPlan, soak, soak_config

COMMAND = ".venv/bin/python -m bench.run --only soak"
PLAN = SoakPlan(
    reporters=40, onion_reporters=10, flooders=20, visits=60, session_posts=30,
    guessers=40, guesses=3, stagers=6, stage_sessions=3, stage_uploads=3,
    malformed_rounds=5, onion_session_posts=5400, pace=0.3, stagger=0.15,
    coordinator_delay=1.0)
MAX_SESSIONS = 5000
STAGED_MB = (2, 3, 64)  # per session, per source, in total


def run(workdir: Path) -> Section:
    per_session, per_source, total = STAGED_MB
    datadir = make_node(workdir / "node",
                        soak_config(MAX_SESSIONS, total, per_source, per_session),
                        staff_params=pw.STAFF)
    ctx = open_node(datadir, staff_params=pw.STAFF, receipt_params=pw.RECEIPT)
    load_before = load_average()
    try:
        out = asyncio.run(soak(ctx, PLAN))
    finally:
        ctx.close()
    return section(out, load_before, load_average())


def _steps(out: Outcome) -> list[float]:
    return [t for step, times in out.latencies.items() if not step.startswith("staff")
            for t in times]


def section(out: Outcome, load_before: str, load_after: str) -> Section:
    genuine = len(out.genuine)
    steps = _steps(out)
    hostile = out.hostile_by_status()
    hostile_total = sum(out.hostile.values())
    bad = list(out.unexpected)
    figures = [
        Figure("genuine reports accepted (receipt shown, then read by the coordinator)",
               f"{out.accepted} / {genuine}", f"{genuine} / {genuine}",
               out.accepted == genuine),
        Figure("genuine drafts lost (words or file missing at review)", str(out.drafts_lost),
               "0", out.drafts_lost == 0),
        Figure("coordinator signs in during the attack",
               f"{'yes' if out.coordinator_signed_in else 'NO'}, attempt "
               f"{out.coordinator_attempts}, {out.coordinator_seconds:.1f} s",
               "yes", out.coordinator_signed_in),
        Figure("responses outside the documented statuses (5xx other than 503 included)",
               str(len(bad)), "0", not bad),
        Figure("genuine step latency under attack, p50 / p99",
               f"{fmt_ms(percentile(steps, 50))} / {fmt_ms(percentile(steps, 99))}"),
        Figure("requests answered, all kinds",
               f"{out.requests:,} in {out.seconds:.1f} s "
               f"({out.requests / out.seconds:,.0f} requests/s)"),
        Figure("hostile requests answered with their 4xx/503",
               f"{sum(hostile[k][st] for k in hostile for st in ALLOWED[k] if st >= 400):,}"
               f" of {hostile_total:,} (the rest: visits, which create nothing, and new "
               "sessions accepted before a limit or a full store)"),
        Figure("genuine waits (429/503 answers a reporter had to retry)",
               str(sum(g.retries for g in out.genuine))),
    ]
    if out.store_full_after is not None:
        figures.append(Figure(
            "the onion address's share of the session store (half of 5,000 places) full "
            "after",
            f"{out.store_full_after:.1f} s of fresh-token session POSTs"))
    kinds = sorted(hostile)
    statuses = sorted({s for c in hostile.values() for s in c})
    by_status = table(("hostile request", "allowed", *map(str, statuses), "total"),
                      [(k, " ".join(map(str, sorted(ALLOWED[k]))),
                        *(hostile[k].get(s, 0) for s in statuses), sum(hostile[k].values()))
                       for k in kinds])
    latency = table(("genuine step", "n", "p50", "p99", "max"),
                    [(step, len(times), fmt_ms(percentile(times, 50)),
                      fmt_ms(percentile(times, 99)), fmt_ms(max(times)))
                     for step, times in out.latencies.items()])
    phases = table(("phase", "seconds", "requests", "requests/s"),
                   [(name, f"{s:.1f}", f"{n:,}", f"{n / s:,.0f}")
                    for name, (s, n) in out.phases.items()])
    retries = Counter("onion" if g.onion else "clearnet" for g in out.genuine for _ in
                      range(g.retries))
    p = PLAN
    notes = [
        f"Load: clearnet phase: {p.reporters} genuine reporters (one address each, "
        f"resuming {p.stagger} s apart, {p.pace} s between steps, a "
        f"{p.attachment_bytes:,}-byte file each) against "
        f"{p.flooders} sources flooding {p.visits} cookieless visits and {p.session_posts} "
        f"new-session POSTs each, {p.guessers} sources trying {p.guesses} wrong passphrases "
        f"each on the coordinator's account (and one on an unknown name), {p.stagers} "
        f"sources staging {p.stage_sessions} drafts x {p.stage_uploads} files of 1 MiB, and "
        f"the {len(MALFORMED)} malformed "
        f"bodies of issue 11 x {p.malformed_rounds}; the coordinator signs in "
        f"{p.coordinator_delay} s into it. Shared-onion phase (no X-Forwarded-For: one "
        f"address for everyone): {p.onion_reporters} genuine Tor reporters, then 3 hostile "
        f"Tor clients posting {p.onion_session_posts:,} forms with fresh tokens, and the "
        f"malformed bodies again.",
        f"Argon2id: production parameters (staff: {pw.STAFF.describe()}; receipts: "
        f"{pw.RECEIPT.describe()}); sign-in work through the gate (2 at once, 8 waiting). Caps: "
        f"{MAX_SESSIONS:,} sessions, staged files {per_mb()} MiB per session / source / "
        f"total (small so that the attack reaches them), rate limits at their defaults.",
        f"Load average (1 / 5 / 15 min) before: {load_before}; after: {load_after}. Server "
        f"and clients in one process on one event loop.",
        "Staff sign-in: wrong passphrases from many sources are never a lock, but Argon2id runs "
        "2 at a time with 8 waiting, so in a flood most attempts, the coordinator's among them, "
        "are answered \"busy, try again\" (503) at once; the coordinator's figure counts "
        "those retries (0.25 s apart) and the wait for a place.",
        "Genuine reporters start their draft (two steps and the file) before each attack "
        "begins and finish during it; a reporter who arrives while the store is full is "
        "asked to come back (503) — that is the documented answer, not counted here.",
        "Behind the onion service a fresh form token costs one GET, so per-token limits stop "
        "token replay but not a Tor client that fetches a new token per session: it fills "
        "the share of places the shared address may hold (`shared_sessions_percent`, figure "
        "above), after which new Tor reporters get the 503 page until drafts expire (60 min "
        "idle, 20 with files) while reporters from other addresses still get a place; no "
        "draft is lost. The deploy kit's per-circuit export makes the limits apply per Tor "
        "circuit instead (not measured here: no Tor).",
    ]
    if retries:
        notes.append(f"Retries by genuine reporters: {dict(retries)}.")
    if bad:
        notes.append("Unexpected: " + "; ".join(bad[:10]))
    return Section(
        title="Soak: hostile traffic mixed with genuine reporters",
        command=COMMAND, figures=figures, notes=notes,
        details=[("Hostile requests by status", by_status),
                 ("Genuine steps under attack", latency),
                 ("Phases", phases)])


def per_mb() -> str:
    return " / ".join(map(str, STAGED_MB))
