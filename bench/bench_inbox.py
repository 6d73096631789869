"""Issue 15's inbox: the navigation's counts and the "my work" page at 10,000 cases.

A real node (SQLite in the work directory) is seeded in process through the real service
layer: 10,000 reports through `IntakeService.submit`, 300 assigned to the measured
caseworker and the rest spread over colleagues or left in the triage queue, reporter replies
through `Conversations.reply`, consent changes through `IntakeService.change_consent`, tasks
through `CaseTimeline.add_task`. Then the counts every staff page runs
(`node.backoffice.inbox.counts`) and the page's query (`inbox.news`) are timed in process,
for the caseworker and for a coordinator who also hears of the triage queue; nothing is
decrypted by either (they read metadata and the read marks only).
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench.report import Figure, Section, fmt_ms, percentile
from crypto import passphrase as pw
from crypto.keys import DataKey
from node import accounts
from node.accounts import INTAKE_KEY
from node.backoffice import inbox
from node.context import open_node
from node.datadir import DataDir
from node.intake.models import Consent, ReportInput
from tests.conftest import ADMIN, ADMIN_PASSPHRASE, make_node

COMMAND = ".venv/bin/python -m bench.run --only inbox"
CASES = 10_000
MINE = 300            # assigned to the measured caseworker
COLLEAGUES = 8        # share the other assigned cases
TRIAGE = 1_000        # left new, unassigned
REPLIES = 0.2         # share of cases with a reporter reply
CONSENT_CHANGES = 0.05
TASKS = 0.3           # share of assigned cases with a task, due within +-30 days
ROUNDS = 200
# Every staff page runs the counts: they must stay a small part of a page's time.
MAX_COUNTS_P95_S = 0.020


def _time(fn: Callable[[], object]) -> list[float]:
    out = []
    for _ in range(ROUNDS):
        started = time.perf_counter()
        fn()
        out.append(time.perf_counter() - started)
    return out


def run(workdir: Path) -> Section:
    rng = random.Random(15)
    root = workdir / "node"
    make_node(root, staff_params=pw.INSECURE_FAST_FOR_TESTS)
    ctx = open_node(DataDir(root), staff_params=pw.INSECURE_FAST_FOR_TESTS,
                    receipt_params=pw.INSECURE_FAST_FOR_TESTS)
    try:
        ctx.db._writer.execute("PRAGMA synchronous=OFF")  # bulk loading; figures are reads
        coordinator = accounts.unlock(ctx.db.read(), ADMIN, ADMIN_PASSPHRASE)
        people = []
        with ctx.db.write() as conn:
            for k in range(COLLEAGUES + 1):
                member, _ = accounts.create(conn, f"worker{k}", "bench passphrase long enough",
                                            {"caseworker"}, pw.INSECURE_FAST_FOR_TESTS, 0,
                                            certifier=ctx.keys.certifier)
                people.append(member.id)
        workers = [accounts.unlock(ctx.db.read(), f"worker{k}", "bench passphrase long enough")
                   for k in range(COLLEAGUES + 1)]
        today = datetime.now(UTC).date()
        started = time.monotonic()
        for n in range(CASES):
            key = DataKey.generate()
            r = ctx.intake.submit(ReportInput(narrative=f"bench case {n}", consent=Consent(
                care=True, contact=True, statistics=True)), key, [], "bench", synthetic=True)
            if n < MINE:
                who = workers[0]
            elif n < CASES - TRIAGE:
                who = workers[1 + n % COLLEAGUES]
            else:
                who = None
            if who is not None:
                ctx.case_access.assign(coordinator, r.report_id, who.member.id)
            if rng.random() < REPLIES:
                ctx.conversations.reply(r.report_id, key, "a reply")
            if rng.random() < CONSENT_CHANGES:
                access = ctx.intake.open_receipt(r.code, r.secret)
                ctx.intake.change_consent(access, Consent(care=True))
            if who is not None and rng.random() < TASKS:
                ctx.timeline.add_task(who, r.report_id, "follow up",
                                      today + timedelta(days=rng.randint(-30, 30)))
        seed_s = time.monotonic() - started
        ctx.db._writer.execute("ANALYZE")
        conn = ctx.db.read()
        me = workers[0].member.id
        coord = coordinator.member.id
        assert INTAKE_KEY in coordinator.node_keys
        mine_counts = inbox.counts(conn, me, today)
        coord_counts = inbox.counts(conn, coord, today, triage=True)
        timings = {
            "counts, caseworker": _time(lambda: inbox.counts(conn, me, today)),
            "counts, coordinator with the triage queue":
                _time(lambda: inbox.counts(conn, coord, today, triage=True)),
            "my work page query, caseworker": _time(lambda: inbox.news(conn, me, today)),
            "my work page query, coordinator":
                _time(lambda: inbox.news(conn, coord, today, triage=True)),
        }
    finally:
        ctx.close()
    figures = []
    for name, values in timings.items():
        p95 = percentile(values, 95)
        counts_figure = name.startswith("counts")
        figures.append(Figure(
            f"{name} (p95 of {ROUNDS}, {CASES:,} cases)",
            f"{fmt_ms(p95)} (median {fmt_ms(percentile(values, 50))})",
            f"≤ {fmt_ms(MAX_COUNTS_P95_S)}" if counts_figure else "",
            p95 <= MAX_COUNTS_P95_S if counts_figure else None))
    return Section(
        title="Inbox counts and the my work page (issue 15)", command=COMMAND,
        figures=figures,
        notes=[f"Seeded in {seed_s:.0f} s through the service layer: {CASES:,} reports, "
               f"{MINE} assigned to the measured caseworker, {TRIAGE:,} left in triage; "
               f"about {REPLIES:.0%} with a reporter reply, {CONSENT_CHANGES:.0%} with a "
               f"consent change, {TASKS:.0%} of assigned cases with a task.",
               f"The caseworker's counts: {mine_counts}; the coordinator's: {coord_counts}.",
               "Nothing is decrypted: the counts and the page's query read message "
               "directions and numbers, consent events, task due days, assignments and the "
               "read marks (`node/backoffice/inbox.py`). The page then decrypts only the "
               "text of the due tasks it lists (not timed here)."])
