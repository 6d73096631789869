"""Run the benchmarks and rewrite BENCHMARKS.md: ``python -m bench.run [--only NAME]``.

Modules are `bench/bench_<name>.py`, each with ``run(workdir: Path) -> Section``. With
``--only``, the sections of the other modules already in BENCHMARKS.md are kept as they are
(found by their ``## ... (bench_<name>)`` headings), so a partial run erases nothing; the
section of a module that no longer exists is dropped.
"""

from __future__ import annotations

import argparse
import importlib
import os
import pkgutil
import platform
import re
import shutil
import signal
import sys
import tempfile
import time
import traceback
from datetime import UTC, datetime
from pathlib import Path

from bench.cpuwatch import busy_fraction, load_average
from bench.report import Section

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
WORK = BENCH_DIR / ".work"
OUTPUT = ROOT / "BENCHMARKS.md"
COMMAND = "make bench  # or: .venv/bin/python -m bench.run [--only NAME]"

# Figures taken while other work holds the cores understate the node; wait a bounded time
# for a quiet machine, and say in the section how busy it was.
QUIET_BUSY = 0.25
QUIET_WAIT_S = 60

SECTION_HEADING = re.compile(r"^## .*\(bench_(\w+)\)\s*$")


def discover() -> list[str]:
    return sorted(m.name.removeprefix("bench_") for m in pkgutil.iter_modules([str(BENCH_DIR)])
                  if m.name.startswith("bench_"))


# ------------------------------------------------------------------ the machine

def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _ram_gib() -> float:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) / (1 << 20)
    except OSError:
        pass
    return 0.0


def _os_name() -> str:
    try:
        for line in Path("/etc/os-release").read_text().splitlines():
            if line.startswith("PRETTY_NAME="):
                return f"{line.split('=', 1)[1].strip(chr(34))}, Linux {platform.release()}"
    except OSError:
        pass
    return platform.platform()


def _filesystem(path: Path) -> str:
    """The filesystem type holding `path` (fsync cost depends on it)."""
    try:
        best = ("", "unknown")
        target = str(path.resolve())
        for line in Path("/proc/mounts").read_text().splitlines():
            _, mount, fstype, *_ = line.split()
            if (target == mount or target.startswith(mount.rstrip("/") + "/")) \
                    and len(mount) > len(best[0]):
                best = (mount, fstype)
        return f"{best[1]} (mounted at {best[0]})"
    except (OSError, ValueError):
        return "unknown"


def machine() -> dict[str, str]:
    cores = os.cpu_count() or 0
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else cores
    return {
        "CPU": _cpu_model(),
        "Cores": f"{cores}" + (f" ({usable} usable by this process)" if usable != cores else ""),
        "RAM": f"{_ram_gib():.1f} GiB",
        "OS": _os_name(),
        "Python": f"{platform.python_implementation()} {platform.python_version()}",
        "Work directory filesystem": _filesystem(ROOT),
        "Load average (1 / 5 / 15 min) at start": load_average(),
        "Date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
    }


def machine_short(m: dict[str, str]) -> str:
    return f"{m['CPU']}, {m['Cores'].split()[0]} cores, {m['RAM']} RAM, Python " \
           f"{m['Python'].split()[-1]}"


# ------------------------------------------------------------------ BENCHMARKS.md

def existing_sections(text: str) -> dict[str, str]:
    """Sections of a previous BENCHMARKS.md, by module name, verbatim."""
    sections: dict[str, str] = {}
    current: str | None = None
    lines: list[str] = []
    for line in [*text.splitlines(), "## (end)"]:
        if line.startswith("## "):
            if current is not None:
                sections[current] = "\n".join(lines).rstrip() + "\n"
            match = SECTION_HEADING.match(line)
            current = match.group(1) if match else None
            lines = [line]
        elif current is not None:
            lines.append(line)
    return sections


def render(m: dict[str, str], names: list[str], fresh: dict[str, Section],
           kept: dict[str, str]) -> str:
    out = [
        "# Benchmarks",
        "",
        "Figures measured by `bench/` (`make bench`), not timed tests: the targets come from the",
        "issues and are printed beside what was measured. Every request goes to 127.0.0.1.",
        "",
        "## Machine (last run)",
        "",
        *[f"- {k}: {v}" for k, v in m.items()],
        "",
        f"Command: `{COMMAND}`",
        "",
    ]
    for name in names:
        if name in fresh:
            out.append(fresh[name].to_markdown())
        elif name in kept:
            out.append(kept[name])
    return "\n".join(out).rstrip() + "\n"


# ------------------------------------------------------------------ running

def wait_for_quiet(max_wait: float) -> str:
    deadline = time.monotonic() + max_wait
    waited = False
    while True:
        busy = busy_fraction(2.0)
        if busy < QUIET_BUSY:
            return f"the machine was {busy:.0%} busy when it started"
        if time.monotonic() >= deadline:
            return (f"the machine was still {busy:.0%} busy with other work after waiting "
                    f"{max_wait:.0f} s")
        if not waited:
            print(f"machine {busy:.0%} busy with other work; waiting up to {max_wait:.0f} s "
                  f"for it to drop under {QUIET_BUSY:.0%}", flush=True)
            waited = True


def run_one(name: str, m: dict[str, str], max_wait: float) -> Section:
    module = importlib.import_module(f"bench.bench_{name}")
    quiet = wait_for_quiet(max_wait)
    WORK.mkdir(parents=True, exist_ok=True)
    # A fresh directory per run: two runs at once (two people on one machine) never share one.
    workdir = Path(tempfile.mkdtemp(prefix=f"{name}-", dir=WORK))
    started = time.monotonic()
    try:
        section: Section = module.run(workdir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
        try:
            WORK.rmdir()
        except OSError:
            pass
    elapsed = time.monotonic() - started
    section.name = name
    section.measured_on = (f"Measured {m['Date']} on {machine_short(m)}; "
                           f"{quiet}; the module took {elapsed:.0f} s.")
    return section


def main(argv: list[str] | None = None) -> int:
    names = discover()
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__)
    parser.add_argument("--only", metavar="NAME", action="append",
                        help=f"run only this module (repeatable): {', '.join(names)}")
    parser.add_argument("--max-wait", type=float, default=QUIET_WAIT_S, metavar="SECONDS",
                        help="before each module, wait at most this long for the machine to "
                             f"be under {QUIET_BUSY * 100:.0f}%% busy "
                             "(default %(default)s; 0: do not wait)")
    args = parser.parse_args(argv)
    chosen = names
    if args.only:
        chosen = [n.removeprefix("bench_").removesuffix(".py") for n in args.only]
        unknown = [n for n in chosen if n not in names]
        if unknown:
            parser.error(f"unknown benchmark {', '.join(unknown)}; known: {', '.join(names)}")

    # Stopped with SIGTERM: unwind, so that servers are stopped and work files removed.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    m = machine()
    print("\n".join(f"{k}: {v}" for k, v in m.items()), flush=True)
    fresh: dict[str, Section] = {}
    failed: list[str] = []
    for name in chosen:
        print(f"\n== bench_{name}", flush=True)
        try:
            section = run_one(name, m, args.max_wait)
        except Exception:  # noqa: BLE001 -- report, keep the old section, run the others
            traceback.print_exc()
            failed.append(name)
            continue
        fresh[name] = section
        print(section.figures_table(), flush=True)

    # Read the other sections only now: another run may have rewritten the file meanwhile.
    kept = existing_sections(OUTPUT.read_text(encoding="utf-8")) if OUTPUT.exists() else {}
    OUTPUT.write_text(render(m, names, fresh, kept), encoding="utf-8")
    print(f"\nwrote {OUTPUT.relative_to(ROOT)}"
          + (f"; failed (previous figures kept): {', '.join(failed)}" if failed else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
