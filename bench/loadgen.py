"""Load generator, run in its own process so that it does not share an event loop (or the
GIL) with the node it measures: ``python -m bench.loadgen {reports,pages} ...``.

It prints one JSON object on stdout: per-request timings of the measured requests (those
after the warm-up, in the same continuous stream), status counts, the measured phase's wall
time and the generator's own CPU time during it. Requests go
to 127.0.0.1 only, and both the count and the time are bounded.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import sys
import time
from collections import Counter
from typing import Any
from urllib.parse import urlsplit

import aiohttp

REQUEST_TIMEOUT = aiohttp.ClientTimeout(total=60)


def synthetic_report(n: int, chars: int) -> dict[str, Any]:
    """A text-only report whose narrative is exactly `chars` ASCII characters."""
    head = f"SYNTHETIC BENCHMARK REPORT {n}: not a real account. "
    filler = "The quick brown fox jumps over the lazy dog. "
    narrative = (head + filler * (chars // len(filler) + 1))[:chars]
    return {"reporter_role": "witness", "narrative": narrative, "language": "en",
            "consent": {"statistics": True}}


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def _steady(concurrency: int, warmup: int, count: int, one: Any) -> dict[str, Any]:
    """`warmup + count` calls of `one(worker, n)` by `concurrency` workers in one continuous
    stream, so the measured calls (n >= warmup) meet a server already under full load rather
    than an idle one. The measured phase runs from the start of call `warmup` to the end of
    the last call."""
    next_n = iter(range(warmup + count))
    timings: list[list[float]] = []
    statuses: Counter[str] = Counter()
    warm_statuses: Counter[str] = Counter()
    marks: dict[str, float] = {}
    cpu: dict[str, float] = {}

    async def worker(w: int) -> None:
        for n in next_n:
            if n == warmup:
                marks["start"] = time.perf_counter()
                cpu["start"] = _cpu_seconds()
            tally = warm_statuses if n < warmup else statuses
            try:
                status, *times = await one(w, n)
            except (aiohttp.ClientError, TimeoutError) as exc:
                tally[type(exc).__name__] += 1
                continue
            tally[str(status)] += 1
            if n >= warmup:
                timings.append(times)

    await asyncio.gather(*(worker(w) for w in range(concurrency)))
    return {"wall_s": time.perf_counter() - marks["start"], "statuses": dict(statuses),
            "warmup_statuses": dict(warm_statuses), "timings": timings,
            "client_cpu_s": _cpu_seconds() - cpu["start"]}


async def reports(args: argparse.Namespace) -> dict[str, Any]:
    url = args.base + "/api/v1/reports"
    connector = aiohttp.TCPConnector(limit=args.concurrency)
    async with aiohttp.ClientSession(connector=connector, timeout=REQUEST_TIMEOUT) as session:
        async def one(_w: int, n: int) -> tuple[int, float]:
            body = json.dumps(synthetic_report(n, args.narrative_chars)).encode()
            t0 = time.perf_counter()
            async with session.post(url, data=body,
                                    headers={"Content-Type": "application/json"}) as resp:
                await resp.read()
            return resp.status, time.perf_counter() - t0

        measured = await _steady(args.concurrency, args.warmup, args.count, one)
        measured["body_bytes"] = len(json.dumps(synthetic_report(0, args.narrative_chars)))
        return measured


async def pages(args: argparse.Namespace) -> dict[str, Any]:
    """`concurrency` readers, each with its own cookie jar (its own reporter session), GET
    `path` in a loop. Timings: time to the response headers, and to the end of the body."""
    url = args.base + args.path
    readers = [aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True),
                                     connector=aiohttp.TCPConnector(limit=1),
                                     timeout=REQUEST_TIMEOUT)
               for _ in range(args.concurrency)]
    try:
        async def one(w: int, _n: int) -> tuple[int, float, float]:
            t0 = time.perf_counter()
            async with readers[w].get(url, allow_redirects=False) as resp:
                t1 = time.perf_counter()
                await resp.read()
            return resp.status, t1 - t0, time.perf_counter() - t0

        return await _steady(args.concurrency, args.warmup, args.count, one)
    finally:
        for r in readers:
            await r.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.loadgen")
    parser.add_argument("kind", choices=("reports", "pages"))
    parser.add_argument("--base", required=True, help="http://127.0.0.1:PORT")
    parser.add_argument("--path", default="/en/report/who")
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--count", type=int, default=400)
    parser.add_argument("--warmup", type=int, default=40)
    parser.add_argument("--narrative-chars", type=int, default=1024)
    parser.add_argument("--deadline", type=float, default=120, help="seconds, whole run")
    args = parser.parse_args(argv)
    if urlsplit(args.base).hostname != "127.0.0.1":
        parser.error("the load generator only talks to 127.0.0.1")

    async def bounded() -> dict[str, Any]:
        async with asyncio.timeout(args.deadline):
            return await (reports(args) if args.kind == "reports" else pages(args))

    json.dump(asyncio.run(bounded()), sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
