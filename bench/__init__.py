"""Benchmarks behind BENCHMARKS.md (`make bench`).

Each `bench/bench_<name>.py` exposes ``run(workdir: Path) -> Section``; `bench/run.py` finds
them, runs them and rewrites BENCHMARKS.md. Benchmarks only report: targets are printed next
to the figures, and nothing here is a timed test.
"""
