"""Issue 21's figures: backup and restore of a node with 10,000 reports and 1 GB of
attachments (target <= 2 minutes each), and the archive's size.

A real node (SQLite in the work directory) is seeded through the real service layer:
9,900 reports with a narrative of about 1.5 kB, and 100 reports each with a 10 MB
attachment streamed through the reporter's upload path (encrypted as it arrives), so the
blobs hold 1 GB. Then `backup-node backup`'s function writes the archive (online snapshot,
encrypted tar, signed trailer) and `backup-node restore`'s restores it into a new directory
(signature, digest, decryption, extraction, migration check, custody chain and evidence-log
checks). Receipt wraps use the fast test parameters: Argon2id is not what is measured.
"""

from __future__ import annotations

import os
import random
import time
from pathlib import Path

from bench.report import Figure, Section
from crypto import passphrase as pw
from crypto.keys import DataKey
from node.backups import make, restore
from node.context import init_node, open_node
from node.datadir import DataDir
from node.intake.models import Consent, ReportInput
from tests.conftest import ADMIN, ADMIN_PASSPHRASE
from tests.conftest import test_config as config_text

COMMAND = ".venv/bin/python -m bench.run --only backup"
REPORTS = 10_000
WITH_FILES = 100
FILE_BYTES = 10 * 1000 * 1000  # 100 x 10 MB = 1 GB
TARGET_S = 120.0
_WORDS = ("market", "road", "night", "soldiers", "village", "river", "clinic", "school",
          "water", "house", "children", "uniform", "truck", "camp", "forest", "checkpoint")
_PNG = bytes.fromhex("89504e470d0a1a0a0000000d49484452")


def _config() -> str:
    return (config_text().replace("max_file_mb = 2", "max_file_mb = 11")
            .replace("max_total_mb = 3", "max_total_mb = 12"))


def _seed(datadir: DataDir) -> float:
    rng = random.Random(21)
    ctx = open_node(datadir, staff_params=pw.INSECURE_FAST_FOR_TESTS,
                    receipt_params=pw.INSECURE_FAST_FOR_TESTS)
    t0 = time.perf_counter()
    try:
        for n in range(REPORTS):
            key = DataKey.generate()
            staged = []
            if n < WITH_FILES:
                writer = ctx.intake.attachment_writer(key, ctx.intake.allowance(), "photo.png")
                writer.feed(_PNG)
                left = FILE_BYTES - len(_PNG)
                while left > 0:
                    chunk = os.urandom(min(left, 1 << 20))
                    writer.feed(chunk)
                    left -= len(chunk)
                staged.append(writer.finish())
            ctx.intake.submit(ReportInput(
                narrative=" ".join(rng.choice(_WORDS) for _ in range(220)),
                consent=Consent(care=True, statistics=rng.random() < 0.7)), key, staged, "bench")
    finally:
        ctx.close()
    return time.perf_counter() - t0


def _size(root: Path) -> int:
    return sum(p.stat().st_size for p in root.rglob("*") if p.is_file())


def run(workdir: Path) -> Section:
    datadir = DataDir(workdir / "node")
    recovery = init_node(datadir, ADMIN, ADMIN_PASSPHRASE, _config(),
                         pw.INSECURE_FAST_FOR_TESTS).recovery_key
    seed_s = _seed(datadir)
    node_bytes = _size(datadir.root)
    t0 = time.perf_counter()
    made = make.make(datadir, workdir / "node.bkp")
    backup_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    restored = restore.restore(made.path, workdir / "restored", recovery,
                               staff_params=pw.INSECURE_FAST_FOR_TESTS,
                               receipt_params=pw.INSECURE_FAST_FOR_TESTS)
    restore_s = time.perf_counter() - t0
    section = Section(title="Backup and restore (issue 21)", command=COMMAND)
    section.figures = [
        Figure(f"`backup-node backup`: {REPORTS:,} reports, {WITH_FILES} x 10 MB attachments "
               f"({node_bytes / 1e9:.2f} GB data directory)", f"{backup_s:.1f} s",
               f"<= {TARGET_S:.0f} s", backup_s <= TARGET_S),
        Figure("Archive size", f"{made.size / 1e9:.2f} GB ({made.files:,} files; "
               f"{made.size / node_bytes:.2f} x the data directory)"),
        Figure("`backup-node restore` of that archive, checks included",
               f"{restore_s:.1f} s", f"<= {TARGET_S:.0f} s", restore_s <= TARGET_S),
    ]
    section.notes = [
        f"Seeded through `IntakeService.submit` in {seed_s:.0f} s; attachments through the "
        "reporter's upload path (random bytes behind a PNG signature, encrypted as they "
        "arrive).",
        f"The restore checks the trailer's signature and the stream's SHA-256 before "
        f"decrypting, then opens the node, verifies the chain of custody and the evidence "
        f"log's tree; {restored.files:,} files restored.",
    ]
    return section
