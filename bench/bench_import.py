"""Issue 19's figure: importing 10,000 KoboToolbox submissions without receipts, in batched
transactions, into a real node (target <= 60 s), and what receipts cost.

The export is written as KoboToolbox's API v2 returns it (``results`` with ``_uuid``,
``_submission_time``, group paths), one narrative of about 1.5 kB per submission, no
attachments; the mapping is the annotated example's shape. Measured: `backup-node import`'s
work (`Importer.plan` then `Importer.run`: mapping, validation, keyed hash, encryption of the
report and of the original, evidence leaves, consent history, a custody entry per case),
then the same export again (nothing created), then 20 submissions with receipts at the
production Argon2id parameters.
"""

from __future__ import annotations

import json
import random
import time
from pathlib import Path

from bench.report import Figure, Section
from crypto import passphrase as pw
from node.context import open_node
from node.imports import formats, mapping
from node.imports.importer import BATCH, Importer
from tests.conftest import make_node

COMMAND = ".venv/bin/python -m bench.run --only import"
SUBMISSIONS = 10_000
WITH_RECEIPTS = 20
TARGET_S = 60.0
_WORDS = ("market", "road", "night", "soldiers", "village", "river", "clinic", "school",
          "water", "house", "children", "uniform", "truck", "camp", "forest", "checkpoint")
MAPPING = b"""
[fields]
reporter_role = "respondent/role"
narrative = "incident/what_happened"
incident_year = "incident/year"
region = "incident/region"
needs = "help/needs"
[choices.reporter_role]
victim = "survivor"
[consent]
care = "consent/help_me"
statistics = "consent/count_it"
"""


def export(n: int, seed: int) -> bytes:
    rng = random.Random(seed)
    results = [{
        "_id": i, "_uuid": f"{seed:08x}-0000-4000-8000-{i:012x}",
        "_submission_time": "2026-11-01T10:15:00", "respondent/role": "victim",
        "incident/what_happened": " ".join(rng.choice(_WORDS) for _ in range(220)),
        "incident/year": str(rng.randint(2015, 2025)), "incident/region": "R1",
        "help/needs": rng.choice(["medical", "legal medical", ""]),
        "consent/help_me": "yes", "consent/count_it": rng.choice(["yes", "no"]),
        "_attachments": []} for i in range(n)]
    return json.dumps({"count": n, "next": None, "previous": None,
                       "results": results}).encode()


def run(workdir: Path) -> Section:
    ctx = open_node(make_node(workdir / "node"), staff_params=pw.INSECURE_FAST_FOR_TESTS)
    try:
        importer = Importer(ctx.db, ctx.intake, ctx.keys, ctx.audit, ctx.clock)
        chosen = mapping.load(MAPPING)
        data = export(SUBMISSIONS, 1)
        t0 = time.perf_counter()
        done = importer.run(importer.plan(formats.read_kobo(data, None), chosen))
        first = time.perf_counter() - t0
        assert len(done) == SUBMISSIONS
        t0 = time.perf_counter()
        again = importer.run(importer.plan(formats.read_kobo(data, None), chosen))
        second = time.perf_counter() - t0
        assert again == []
        t0 = time.perf_counter()
        receipted = importer.run(importer.plan(
            formats.read_kobo(export(WITH_RECEIPTS, 2), None), chosen), receipts=True)
        with_receipts = time.perf_counter() - t0
        assert len(receipted) == WITH_RECEIPTS
    finally:
        ctx.close()
    return Section(
        title="Imports from KoboToolbox and ODK", command=COMMAND,
        figures=[
            Figure(f"Import {SUBMISSIONS:,} Kobo submissions, no receipts",
                   f"{first:.1f} s", f"<= {TARGET_S:.0f} s", first <= TARGET_S),
            Figure(f"The same export again ({SUBMISSIONS:,} already imported)",
                   f"{second:.1f} s"),
            Figure("With receipts (production Argon2id), per submission",
                   f"{with_receipts / WITH_RECEIPTS:.2f} s"),
            Figure(f"{SUBMISSIONS:,} with receipts (from the {WITH_RECEIPTS} above)",
                   f"{first + SUBMISSIONS * with_receipts / WITH_RECEIPTS:.0f} s"),
        ],
        notes=[f"Batches of {BATCH} submissions per write transaction (one fsync each); "
               "each report: mapping, validation, keyed hash of the UUID, report and "
               "original encrypted, two evidence leaves, consent history and its tag, a "
               "custody entry. Receipts add one Argon2id wrap each (made before the write "
               "lock is taken)."])
