"""Issue 4's figures for the evidence log, side by side with pymerkle on the same leaves.

* Appends per second into the persistent log: ours (`node.evidence.log_store` in the node's
  own `Database`: WAL, ``synchronous=FULL``, one write transaction per batch) against
  pymerkle's `SqliteTree` (its bulk ``append_entries``, one transaction per batch), fed the
  same leaves, batch size by batch size, from an empty log.
* Inclusion-proof and consistency-proof time at 1,000,000 and 10,000,000 leaves: both logs
  are built in lock step from the same chunks of leaves; ours answers from stored subtree
  hashes, pymerkle recomputes subtrees from its leaves (with an in-memory LRU cache), so
  its first proof after opening the file ("cold") and later ones ("warm") are both shown.
* Appends per second at those sizes, over `log_store.RECENT_LEAVES` leaves in batches of
  10,000, so that the window holds one move of the recent index entries into the large
  table, as any long run of appends does; and the latency of the one-leaf append that
  makes such a move (the worst a single report's transaction can wait for the log).
* Bundle verification time (`backup_evidence.verify.verify_bundle`) for a case with 20
  attachments of about 100 KB, exported from a real node as a coordinator would.

Leaves are real version-1 evidence leaves (`backup_evidence.leaves`), 42 bytes each. Both
libraries hash them the RFC 9162 way, so the two trees must have the same root: checked at
every size measured. Work files are deleted at the end. Standalone:
``python -m bench.bench_evidence`` (prints the figures; `make bench` writes BENCHMARKS.md).
"""

from __future__ import annotations

import hashlib
import random
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import partial
from importlib.metadata import version
from pathlib import Path
from typing import Any

from backup_evidence.leaves import EvidenceLeaf, ItemType
from backup_evidence.verify import verify_bundle
from bench.report import Figure, Section, percentile, table
from crypto import passphrase as pw
from crypto.keys import DataKey
from node.context import open_node
from node.demo import tiny_png
from node.evidence import log_store
from node.intake.models import Consent, ReportInput
from node.storage.database import Database

COMMAND = ".venv/bin/python -m bench.run --only evidence"

# Targets, from issue 4 ("Figures").
MIN_APPENDS_PER_S = 50_000
MAX_PROOF_MEDIAN_S = 0.001
FLAT_FACTOR = 2.0  # "flat as the log grows": the 10M median within 2x of the 1M one

APPEND_RUNS = ((1, 2_000), (100, 20_000), (1_000, 100_000), (10_000, 200_000))
HEADLINE_BATCH = 10_000
SIZES = (1_000_000, 10_000_000)
BUILD_CHUNK = 100_000
PROOFS = 2_000  # ours, per kind and size
PYMERKLE_PROOFS = 50  # warm proofs after the cold one, per kind and size
PYMERKLE_PROOF_BUDGET_S = 120.0  # per kind and size
PYMERKLE_BUILD_BUDGET_S = 600.0  # the brief: stop where pymerkle is after ~10 minutes
T0 = 1_780_000_000
BUNDLE_ATTACHMENTS = 20  # issue 4: "a case with 20 attachments"
ATTACHMENT_BYTES = 100_000
BUNDLE_VERIFICATIONS = 11  # the first, then the median of the next 10


def bench_leaf(i: int) -> bytes:
    commitment = hashlib.sha256(b"bench evidence %d" % i).digest()
    return EvidenceLeaf(ItemType.ATTACHMENT, T0 + i, commitment).encode()


def leaves(start: int, stop: int) -> list[bytes]:
    return [bench_leaf(i) for i in range(start, stop)]


def chunks(start: int, stop: int, size: int) -> Iterator[tuple[int, int]]:
    for k in range(start, stop, size):
        yield k, min(k + size, stop)


# ------------------------------------------------------------------ the two logs


class OurLog:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.db = Database(path)

    def append(self, batch: list[bytes]) -> None:
        with self.db.write() as conn:
            log_store.append_leaves(conn, batch)

    def root(self) -> bytes:
        return log_store.root_at(self.db.read())

    def reopen(self) -> None:
        self.db.close()
        self.db = Database(self.path)

    def close(self) -> None:
        self.db.close()


class TheirLog:
    """pymerkle's persistent tree, used as its documentation shows."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.tree: Any = _sqlite_tree(path)
        self.size = self.tree.get_size()

    def append(self, batch: list[bytes]) -> None:
        if len(batch) == 1:
            self.tree.append_entry(batch[0])
        else:
            self.tree.append_entries(batch)
        self.size += len(batch)

    def root(self) -> bytes:
        return bytes(self.tree.get_root())

    def reopen(self) -> None:
        """A new tree object: an empty subtree cache, as after a restart."""
        self.tree.close()
        self.tree = _sqlite_tree(self.path)

    def close(self) -> None:
        self.tree.close()


def _sqlite_tree(path: Path) -> Any:
    from pymerkle import SqliteTree  # type: ignore[import-untyped]  # bench-only dependency

    return SqliteTree(str(path))


def disk_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.parent.glob(path.name + "*"))


# ------------------------------------------------------------------ 1. append rate


@dataclass
class AppendRun:
    batch: int
    count: int
    ours_s: float
    theirs_s: float

    @property
    def ours_rate(self) -> float:
        return self.count / self.ours_s

    @property
    def theirs_rate(self) -> float:
        return self.count / self.theirs_s


def timed_appends(log: OurLog | TheirLog, start: int, stop: int, batch: int) -> float:
    data = leaves(start, stop)  # generated before the clock starts
    t = time.perf_counter()
    for a, b in chunks(0, len(data), batch):
        log.append(data[a:b])
    return time.perf_counter() - t


def append_rates(workdir: Path) -> list[AppendRun]:
    runs = []
    for batch, count in APPEND_RUNS:
        ours = OurLog(workdir / f"ours-{batch}.db")
        theirs = TheirLog(workdir / f"pymerkle-{batch}.db")
        try:
            ours_s = timed_appends(ours, 0, count, batch)
            theirs_s = timed_appends(theirs, 0, count, batch)
            if ours.root() != theirs.root():
                raise RuntimeError(f"roots differ after {count} appends")
        finally:
            ours.close()
            theirs.close()
        for name in (f"ours-{batch}.db", f"pymerkle-{batch}.db"):
            for p in workdir.glob(name + "*"):
                p.unlink()
        runs.append(AppendRun(batch, count, ours_s, theirs_s))
        print(f"  batch {batch}: ours {count / ours_s:,.0f}/s, pymerkle "
              f"{count / theirs_s:,.0f}/s", flush=True)
    return runs


# ------------------------------------------------------------------ 2. proofs at scale


@dataclass
class Timings:
    first_s: float
    samples: list[float]

    @property
    def median(self) -> float:
        return statistics.median(self.samples)

    @property
    def p99(self) -> float:
        return percentile(self.samples, 99)


@dataclass
class AtSize:
    """One log measured at one size."""

    size: int
    inclusion: Timings
    consistency: Timings
    disk: int
    append_rate: float | None = None  # batches of HEADLINE_BATCH, appended at this size
    move_s: float | None = None  # ours: a one-leaf append that moves the recent entries


@dataclass
class Build:
    ours_s: float = 0.0
    theirs_s: float = 0.0
    theirs_stopped_at: int | None = None
    ours: list[AtSize] = field(default_factory=list)
    theirs: list[AtSize] = field(default_factory=list)


def time_calls(calls: list[Callable[[], object]], budget_s: float = float("inf")) -> Timings:
    """The first call's time, and the others' (the first one pays for cold caches)."""
    times = []
    deadline = time.perf_counter() + budget_s
    for call in calls:
        t = time.perf_counter()
        call()
        times.append(time.perf_counter() - t)
        if t > deadline:
            break
    return Timings(times[0], times[1:] or times)


def our_proofs(log: OurLog, n: int, rng: random.Random) -> tuple[Timings, Timings]:
    log.reopen()  # a fresh read connection: nothing in SQLite's page cache
    conn = log.db.read()
    root = log_store.root_at(conn, n)
    indices = [rng.randrange(n) for _ in range(PROOFS + 1)]
    inclusion = time_calls([partial(log_store.inclusion_proof, conn, i, n) for i in indices])
    for i in indices[:100]:  # checked outside the clock
        log_store.inclusion_proof(conn, i, n).verify(root)
    olds = [rng.randrange(1, n) for _ in range(PROOFS + 1)]
    consistency = time_calls([partial(log_store.consistency_proof, conn, m, n)
                              for m in olds])
    for m in olds[:100]:
        log_store.consistency_proof(conn, m, n).verify(log_store.root_at(conn, m), root)
    return inclusion, consistency


def their_proofs(log: TheirLog, n: int, rng: random.Random, ours: OurLog
                 ) -> tuple[Timings, Timings]:
    log.reopen()
    tree = log.tree
    indices = [rng.randrange(n) for _ in range(PYMERKLE_PROOFS + 1)]
    inclusion = time_calls([partial(tree.prove_inclusion, i + 1, n) for i in indices],
                           PYMERKLE_PROOF_BUDGET_S)
    # same leaves, same tree: pymerkle's path is the leaf hash, then RFC 9162's PATH
    theirs = tree.prove_inclusion(indices[0] + 1, n)
    mine = log_store.inclusion_proof(ours.db.read(), indices[0], n)
    if [bytes(h) for h in theirs.path[1:]] != list(mine.path):
        raise RuntimeError("pymerkle's inclusion path differs from ours")
    log.reopen()
    tree = log.tree
    olds = [rng.randrange(1, n) for _ in range(PYMERKLE_PROOFS + 1)]
    consistency = time_calls([partial(tree.prove_consistency, m, n) for m in olds],
                             PYMERKLE_PROOF_BUDGET_S)
    return inclusion, consistency


def append_rate_at(log: OurLog | TheirLog, start: int) -> float:
    """Over `RECENT_LEAVES` leaves: exactly one move of the recent index entries (ours)."""
    count = log_store.RECENT_LEAVES
    return count / timed_appends(log, start, start + count, HEADLINE_BATCH)


def move_latency(ours: OurLog, theirs: TheirLog | None, start: int) -> tuple[float, int]:
    """The time of a one-leaf append that moves the recent index entries into the large
    table (the next multiple of `RECENT_LEAVES` from ``start``); returns it and the new size.
    pymerkle gets the same leaves, untimed, so that both logs stay equal."""
    recent = log_store.RECENT_LEAVES
    last = (start // recent + 1) * recent  # the append of leaf last - 1 crosses it
    for a, b in chunks(start, last - 1, BUILD_CHUNK):
        data = leaves(a, b)
        ours.append(data)
        if theirs is not None:
            theirs.append(data)
    data = leaves(last - 1, last)
    t = time.perf_counter()
    ours.append(data)
    seconds = time.perf_counter() - t
    if theirs is not None:
        theirs.append(data)
    return seconds, last


def build_and_prove(workdir: Path, sizes: tuple[int, ...]) -> Build:
    ours = OurLog(workdir / "ours-big.db")
    theirs: TheirLog | None = TheirLog(workdir / "pymerkle-big.db")
    build = Build()
    rng = random.Random(4)
    n = 0
    try:
        for target in sizes:
            for a, b in chunks(n, target, BUILD_CHUNK):
                data = leaves(a, b)
                t = time.perf_counter()
                ours.append(data)
                build.ours_s += time.perf_counter() - t
                if theirs is not None:
                    t = time.perf_counter()
                    theirs.append(data)
                    build.theirs_s += time.perf_counter() - t
                    if build.theirs_s > PYMERKLE_BUILD_BUDGET_S and b < sizes[-1]:
                        print(f"  pymerkle stopped at {b:,} leaves after "
                              f"{build.theirs_s:.0f} s", flush=True)
                        build.theirs_stopped_at = b
                        build.theirs.append(measure_theirs(theirs, b, rng, ours))
                        theirs.close()
                        theirs = None
            n = max(n, target)  # --quick: the measurements may have gone past it
            print(f"  {n:,} leaves: ours built in {build.ours_s:.0f} s, pymerkle in "
                  f"{build.theirs_s:.0f} s", flush=True)
            if theirs is not None and theirs.root() != ours.root():
                raise RuntimeError(f"roots differ at {n} leaves")
            inclusion, consistency = our_proofs(ours, n, rng)
            print(f"  proofs at {n:,}: ours inclusion median "
                  f"{inclusion.median * 1e3:.3f} ms", flush=True)
            at = AtSize(n, inclusion, consistency, disk_bytes(ours.path))
            at.append_rate = append_rate_at(ours, n)  # a big log: its index outgrows caches
            build.ours.append(at)
            if theirs is not None:
                their_at = measure_theirs(theirs, n, rng, ours)
                their_at.append_rate = append_rate_at(theirs, n)
                build.theirs.append(their_at)
            n += log_store.RECENT_LEAVES
            at.move_s, n = move_latency(ours, theirs, n)
            print(f"  appends at {at.size:,}: {at.append_rate:,.0f}/s; a one-leaf append "
                  f"that moves the recent entries: {at.move_s:.2f} s", flush=True)
    finally:
        ours.close()
        if theirs is not None:
            theirs.close()
    return build


def measure_theirs(theirs: TheirLog, n: int, rng: random.Random, ours: OurLog) -> AtSize:
    inclusion, consistency = their_proofs(theirs, n, rng, ours)
    print(f"  pymerkle proofs at {n:,}: inclusion first {inclusion.first_s:.2f} s, "
          f"then median {inclusion.median * 1e3:.1f} ms", flush=True)
    return AtSize(n, inclusion, consistency, disk_bytes(theirs.path))


# ------------------------------------------------------------------ 3. bundle verification


@dataclass
class BundleRun:
    verify: Timings
    bundle_bytes: int
    items: int


def bundle_verification(workdir: Path) -> BundleRun:
    """Export the bundle of a case with `BUNDLE_ATTACHMENTS` attachments from a real node
    (as tests/integration/test_evidence_bundle.py does) and time the offline verifier."""
    from tests.conftest import make_node, test_config  # bench-only: the tests' node setup
    from tests.team import make_team

    config = (test_config().replace("max_files = 4", f"max_files = {BUNDLE_ATTACHMENTS}")
              .replace("max_total_mb = 3", "max_total_mb = 10"))
    datadir = make_node(workdir / "node", config)
    ctx = open_node(datadir, staff_params=pw.INSECURE_FAST_FOR_TESTS,
                    receipt_params=pw.INSECURE_FAST_FOR_TESTS)
    try:
        coordinator = make_team(ctx).coordinator
        key, allowance, staged = DataKey.generate(), ctx.intake.allowance(), []
        rng = random.Random(20)
        for i in range(BUNDLE_ATTACHMENTS):
            png = tiny_png(i)
            writer = ctx.intake.attachment_writer(key, allowance, f"photo-{i:02d}.png")
            writer.feed(png + rng.randbytes(ATTACHMENT_BYTES - len(png)))
            staged.append(writer.finish())
        receipt = ctx.intake.submit(ReportInput(narrative="for the bench", region="R1",
                                                consent=Consent(legal=True)), key, staged,
                                    "bench")
        data = ctx.bundles.export(coordinator, receipt.report_id)
        public_key = ctx.keys.identity_public.raw().hex()
    finally:
        ctx.close()
    path = workdir / "bundle.zip"
    path.write_bytes(data)
    times = []
    for _ in range(BUNDLE_VERIFICATIONS):
        t = time.perf_counter()
        report = verify_bundle(str(path), public_key)
        times.append(time.perf_counter() - t)
        if not report.ok:
            raise RuntimeError(f"the bench's bundle does not verify: {report.checks}")
    items = sum(name.startswith("item ") for name, _, _ in report.checks)
    return BundleRun(Timings(times[0], times[1:]), len(data), items)


# ------------------------------------------------------------------ the section


def ms(seconds: float) -> str:
    return f"{seconds * 1e3:.3f} ms" if seconds < 0.01 else f"{seconds * 1e3:,.1f} ms"


def run(workdir: Path, sizes: tuple[int, ...] = SIZES) -> Section:
    pymerkle_version = version("pymerkle")
    print("append rate, fresh logs", flush=True)
    runs = append_rates(workdir)
    print(f"building logs of {', '.join(f'{n:,}' for n in sizes)} leaves", flush=True)
    build = build_and_prove(workdir, sizes)
    for p in workdir.iterdir():
        p.unlink()
    print("bundle verification", flush=True)
    bundle_dir = workdir / "bundle"
    bundle_dir.mkdir()
    try:
        bundle = bundle_verification(bundle_dir)
    finally:
        shutil.rmtree(bundle_dir, ignore_errors=True)
    print(f"  {bundle.items} items, {bundle.bundle_bytes:,} bytes: median "
          f"{bundle.verify.median * 1e3:.1f} ms", flush=True)

    sec = Section(title="Evidence log: appends, inclusion and consistency proofs, "
                        f"against pymerkle {pymerkle_version} (issue 4)", command=COMMAND)
    head = next(r for r in runs if r.batch == HEADLINE_BATCH)
    sec.figures.append(Figure(
        f"Appends/s into the persistent log, batches of {HEADLINE_BATCH:,} (one fsync'd "
        f"transaction each), empty log to {head.count:,} leaves",
        f"{head.ours_rate:,.0f}/s", f"≥ {MIN_APPENDS_PER_S:,}/s",
        head.ours_rate >= MIN_APPENDS_PER_S))
    sec.figures.append(Figure(
        "Appends/s, ours ÷ pymerkle SqliteTree, same leaves, batches of "
        + " / ".join(f"{r.batch:,}" for r in runs),
        " / ".join(f"{r.ours_rate / r.theirs_rate:.1f}×" for r in runs),
        f"faster than pymerkle (batches of {HEADLINE_BATCH:,})",
        head.ours_rate > head.theirs_rate))
    for at in build.ours:
        if at.append_rate is not None:
            sec.figures.append(Figure(
                f"Appends/s into a log of {at.size:,} leaves, batches of {HEADLINE_BATCH:,} "
                f"({log_store.RECENT_LEAVES:,} leaves: one move of the recent index entries)",
                f"{at.append_rate:,.0f}/s", f"≥ {MIN_APPENDS_PER_S:,}/s",
                at.append_rate >= MIN_APPENDS_PER_S))
    for at in build.ours:
        if at.move_s is not None:
            sec.figures.append(Figure(
                f"One-leaf append that moves the recent index entries, at about {at.size:,} "
                "leaves (once every "
                f"{log_store.RECENT_LEAVES:,} leaves; any other one-leaf append is one fsync)",
                f"{at.move_s:.2f} s"))
    for at in build.ours:
        inc, con = at.inclusion, at.consistency
        sec.figures.append(Figure(
            f"Inclusion proof, {at.size:,} leaves, median (p99)",
            f"{ms(inc.median)} ({ms(inc.p99)})", "≤ 1 ms median",
            inc.median <= MAX_PROOF_MEDIAN_S))
        sec.figures.append(Figure(
            f"Consistency proof, {at.size:,} leaves, median (p99)",
            f"{ms(con.median)} ({ms(con.p99)})"))
    small, big = build.ours[0], build.ours[-1]
    ratio = big.inclusion.median / small.inclusion.median
    sec.figures.append(Figure(
        f"Inclusion proof median, {big.size:,} ÷ {small.size:,} leaves", f"{ratio:.2f}×",
        f"flat (≤ {FLAT_FACTOR:g}×)", ratio <= FLAT_FACTOR))
    for at in build.theirs:
        sec.figures.append(Figure(
            f"pymerkle inclusion proof, {at.size:,} leaves: first after opening / median of "
            f"the next {len(at.inclusion.samples)}",
            f"{ms(at.inclusion.first_s)} / {ms(at.inclusion.median)}"))
        sec.figures.append(Figure(
            f"pymerkle consistency proof, {at.size:,} leaves: first / median of the next "
            f"{len(at.consistency.samples)}",
            f"{ms(at.consistency.first_s)} / {ms(at.consistency.median)}"))
    sec.figures.append(Figure(
        f"Building the {sizes[-1]:,}-leaf log (batches of {BUILD_CHUNK:,})",
        f"ours {build.ours_s:.0f} s ({sizes[-1] / build.ours_s:,.0f} leaves/s); pymerkle "
        + (f"{build.theirs_s:.0f} s" if build.theirs_stopped_at is None else
           f"stopped at {build.theirs_stopped_at:,} leaves after {build.theirs_s:.0f} s")))
    sec.figures.append(Figure(
        f"Bundle verification (`verify_bundle`, offline), a case with {BUNDLE_ATTACHMENTS} "
        f"attachments of {ATTACHMENT_BYTES // 1000} KB: first / median of the next "
        f"{len(bundle.verify.samples)}",
        f"{ms(bundle.verify.first_s)} / {ms(bundle.verify.median)} "
        f"({bundle.items} items, {bundle.bundle_bytes / 1e6:.1f} MB)"))

    sec.details.append(("Appends/s from an empty log, by batch size (same leaves)", table(
        ("Leaves per transaction", "Leaves appended", "Ours", "pymerkle SqliteTree",
         "Ours ÷ pymerkle"),
        [(f"{r.batch:,}", f"{r.count:,}", f"{r.ours_rate:,.0f}/s",
          f"{r.theirs_rate:,.0f}/s", f"{r.ours_rate / r.theirs_rate:.1f}×") for r in runs],
        align_right=(1, 2, 3, 4))))
    rows = [(name, f"{at.size:,}", ms(at.inclusion.first_s), ms(at.inclusion.median),
             ms(at.inclusion.p99), ms(at.consistency.first_s), ms(at.consistency.median),
             ms(at.consistency.p99),
             "—" if at.append_rate is None else f"{at.append_rate:,.0f}/s",
             f"{at.disk / at.size:.0f} B")
            for name, ats in (("ours", build.ours), ("pymerkle", build.theirs)) for at in ats]
    sec.details.append(("Proofs and appends at scale", table(
        ("Log", "Leaves", "First inclusion proof", "Inclusion median", "Inclusion p99",
         "First consistency proof", "Consistency median", "Consistency p99",
         f"Appends/s there (batches of {HEADLINE_BATCH:,})", "Disk per leaf"),
        rows, align_right=range(1, 10))))

    stopped = build.theirs_stopped_at
    sec.notes += [
        f"pymerkle {pymerkle_version} (`pip install pymerkle`, a bench-only dependency). "
        "Both logs get the same 42-byte evidence leaves in the same order; their roots are "
        "compared at every size measured and were equal, and one inclusion path per size "
        "was compared element by element.",
        "Ours: `node.evidence.log_store` inside the node's `Database` (WAL, "
        "`synchronous=FULL`, one `BEGIN IMMEDIATE` transaction per batch, the node's "
        "64 MiB page cache for the writer). pymerkle: `SqliteTree(path)` as documented (its "
        "default rollback journal, `synchronous=FULL`), `append_entries` per batch "
        "(`append_entry` for batches of one).",
        f"Proofs: {PROOFS:,} per kind and size at random leaves (inclusion) or random old "
        "sizes (consistency) against the whole tree, through a fresh read connection; "
        "100 of each are verified with `crypto.merkle` outside the clock. pymerkle: the "
        "first proof after opening the tree (its subtree cache empty, as after a restart) "
        f"and up to {PYMERKLE_PROOFS} more at random (within {PYMERKLE_PROOF_BUDGET_S:.0f} "
        "s), since it recomputes subtrees from the leaves and caches them in memory.",
        (f"pymerkle's build stopped at {stopped:,} leaves, where its append time passed "
         f"{PYMERKLE_BUILD_BUDGET_S:.0f} s; it is measured there." if stopped else
         f"pymerkle was built to {sizes[-1]:,} leaves too ({build.theirs_s:.0f} s of "
         "appends)."),
        "Why pymerkle appends faster in bulk, and answers proofs thousands of times "
        "slower: its append stores one row per leaf and computes nothing else, leaving the "
        "tree to proof time (hashing up to all the leaves again after a restart). Ours "
        "computes and stores every complete subtree hash and a leaf-hash index in the "
        "append's transaction, which is what makes every proof a few primary-key reads. "
        "One leaf per transaction (how the node appends a report's leaves) is faster here "
        "than in pymerkle: WAL commits cost fewer fsyncs than its rollback journal.",
        "The index on leaf hashes (lookup by leaf hash, and a leaf goes in once) takes "
        "random keys. It is keyed by the first 8 bytes of the hash as an integer, and new "
        "entries go into a small table that is moved into the large one, in key order, "
        f"whenever the log crosses a multiple of {log_store.RECENT_LEAVES:,} leaves "
        "(node/evidence/log_store.py). Before that (one table, 32-byte BLOB keys) each "
        "batch dirtied about one 4 KiB index page per leaf once the index outgrew a batch: "
        "about 125,000 appends/s from empty but 40,000/s at 1,000,000 leaves and 24,000/s "
        "at 10,000,000. The from-empty runs stay below the first move; the at-size rates "
        "include one move each, and the move's latency is shown on its own.",
        f"Bundle verification: a node made with the tests' helpers, one report with "
        f"{BUNDLE_ATTACHMENTS} attachments of {ATTACHMENT_BYTES:,} bytes (a small PNG "
        "and random bytes) with consent to legal use, exported by a coordinator with "
        "`BundleExporter.export`, then checked with `verify_bundle` and the node's key: every file "
        "hash, leaf, inclusion proof and signature, as `backup-evidence verify` does.",
    ]
    return sec


def main(argv: list[str]) -> int:
    """``--quick``: small sizes, to try the module out in seconds."""
    sizes = (10_000, 100_000) if "--quick" in argv else SIZES
    workdir = Path(tempfile.mkdtemp(prefix="bench-evidence-"))
    try:
        section = run(workdir, sizes)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    section.name = "evidence"
    print(section.to_markdown())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
