"""Issues 5 and 10's figures: signed messages per second between two node processes over
libp2p beside raw request/response between the same hosts, envelope sign+verify per second,
and the time for 20 node processes on loopback to enroll with the observatory and get their
first checkpoint cosigned.

* Envelopes: `protocol.envelope.seal` and `verify_frame` of a `CheckpointPush` (a real
  signed checkpoint note and a 20-hash consistency proof), one core, in-process.
* Two node processes: node a is this process, node b is `bench.federation_peer` (its real
  federation handler: verify against the membership list, peer binding, answer sealed and
  signed), each with its own `transport.host.Libp2pHost` (TCP, Noise, yamux on 127.0.0.1).
  a seals each request and verifies each answer. Beside it, in the same run, the same hosts
  carry raw request/response frames of the same sizes (`RAW_PROTOCOL`: no envelope, no
  handler work, no outbox), with each stream strategy: reused streams (the federation's)
  and a new stream per request, one at a time and `CONCURRENCY` in flight. Then checkpoint
  pushes that b witnesses (replay record and witness state in one fsync'd SQLite
  transaction, a C2SP cosignature), one after another (each extends the last), and a
  cProfile of both processes, summed by part (`CATEGORIES`): where the time goes.
* 20 nodes: a real `backup-observatory serve` and 20 `backup-node serve` processes, each
  node with one report in its evidence log and a signed checkpoint; the bench approves each
  request to join with `backup-observatory approve` as soon as it appears and times until
  every node holds the observatory's cosignature of its checkpoint.

After issue 10's merge, two functions change: `Pair.send` (drive the one client path,
`protocol.exchanges.ClientExchange`) and `bench.federation_peer.federation_handler` (the
node's shared responder instead of `FederationHandler`).
"""

from __future__ import annotations

import asyncio
import cProfile
import json
import os
import pstats
import signal
import sqlite3
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.cpuwatch import load_average, machine_cpu, process_cpu
from bench.federation_peer import RAW_PROTOCOL
from bench.report import Figure, Section, fmt_ms, table
from crypto import merkle
from crypto import passphrase as pw
from crypto.checkpoint import Checkpoint, NoteSigner, sign_checkpoint
from crypto.keys import DataKey, SigningKey
from node.context import open_node
from node.evidence.signing import sign_if_grown
from node.federation import store
from node.federation.config import FederationConfig
from node.intake.models import ReportInput
from protocol.envelope import seal, verify_frame
from protocol.exchanges import ClientExchange, Endpoint, ResponseReceived
from protocol.framing import decode_frame, encode_frame
from protocol.membership import MemberEntry, MembershipList, MembershipListBody, MembershipListQuery
from protocol.versions import FEDERATION_PROTOCOL as PROTOCOL_ID
from protocol.witness import CheckpointPush
from protocol.witnessing import evidence_origin
from tests.conftest import NodeProcess, make_node, test_config
from tests.unit.observatory.support import make_observatory
from transport.host import HostConfig, Libp2pHost

ROOT = Path(__file__).resolve().parent.parent
COMMAND = ".venv/bin/python -m bench.run --only federation"
ENVELOPES = 3000
CONCURRENCY = 16
PUSHES = 600
NODES = 20
ENROLL_TIMEOUT = 600.0
POLL_SECONDS = 1


# -- envelopes ------------------------------------------------------------------------------


def _push(key: SigningKey, node_id: str, size: int, tree: merkle.MemoryTree,
          old: int | None) -> CheckpointPush:
    origin = evidence_origin(node_id)
    note = sign_checkpoint(Checkpoint(origin, size, merkle.root_hash(tree, size)),
                           NoteSigner(origin, key)).encode().decode()
    proof = merkle.consistency_proof(tree, old, size) if old and old < size else []
    return CheckpointPush(checkpoint=note, old_size=old,
                          consistency_proof=tuple(h.hex() for h in proof))


def bench_envelopes() -> dict[str, float]:
    key, sender, recipient = SigningKey.generate(), "ab" * 16, "cd" * 16
    tree = merkle.MemoryTree(f"leaf {i}".encode() for i in range(1 << 17 | 4321))
    message = _push(key, sender, tree.size, tree, 1000)
    now = int(time.time())
    start = time.perf_counter()
    frames = [seal(message, sender=sender, recipient=recipient, signing_key=key,
                   now=now).to_frame() for _ in range(ENVELOPES)]
    sealed = time.perf_counter() - start
    start = time.perf_counter()
    for frame in frames:
        verify_frame(frame, local_node_id=recipient, now=now,
                     lookup_key=lambda _: key.verify_key, is_replay=lambda *_: False)
    verified = time.perf_counter() - start
    return {"seal": ENVELOPES / sealed, "verify": ENVELOPES / verified,
            "both": ENVELOPES / (sealed + verified), "bytes": len(frames[0]),
            "proof": len(message.consistency_proof)}


# -- two node processes over libp2p --------------------------------------------------------

STRATEGIES = {"reused": True, "new": False}  # HostConfig.reuse_streams; "reused" is the default
RUNS = 3  # each figure is the median of this many runs, signed and raw runs interleaved
# Round trips per run: (stream strategy, requests in flight) -> count.
COUNTS = {("reused", 1): 500, ("reused", CONCURRENCY): 2400,
          ("new", 1): 250, ("new", CONCURRENCY): 800}


class Pair:
    """Node `a` (this process) asks node `b`, a process of its own (`bench.federation_peer`)
    running the node's real federation handler; and the same hosts without envelopes
    (`RAW_PROTOCOL`)."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        dirs = [make_node(workdir / name) for name in ("a", "b")]
        self.a = open_node(dirs[0], staff_params=pw.INSECURE_FAST_FOR_TESTS,
                           receipt_params=pw.INSECURE_FAST_FOR_TESTS)
        b = open_node(dirs[1], staff_params=pw.INSECURE_FAST_FOR_TESTS,
                      receipt_params=pw.INSECURE_FAST_FOR_TESTS)
        self.b_root = dirs[1].root
        self.b_node_id, self.b_key = b.keys.node_id, b.keys.identity_public
        observatory, observatory_id = SigningKey.generate(), "ee" * 16
        now = int(time.time())
        body = MembershipListBody(
            issuer=observatory_id, sequence=1, issued_at=now, expires=now + 86_400,
            members=tuple(MemberEntry(
                node_id=c.keys.node_id, organisation_name="Bench", country="CD",
                identity_key=c.keys.identity_public.raw().hex(),
                box_key=c.keys.intake_public.raw().hex(), certificate_serial="00" * 16,
                joined_at=now) for c in (self.a, b)))
        b.close()
        config = FederationConfig(
            observatory_node_id=observatory_id,
            observatory_identity_key=observatory.verify_key.raw().hex(),
            observatory_addrs=["/ip4/127.0.0.1/tcp/9"], organisation_name="Bench",
            country="CD", contact="bench@example.org")
        self.spec = {"node": str(self.b_root), "observatory_id": observatory_id,
                     "observatory_key": observatory.verify_key.raw().hex(),
                     "membership": MembershipList.issue(body, observatory).body.model_dump_json(),
                     "config": config.model_dump_json()}
        self.endpoint = Endpoint(
            self.a.keys.node_id, self.a.keys.identity,
            lookup_key=lambda node_id: self.b_key if node_id == self.b_node_id else None,
            is_replay=lambda *_: False)  # answers are bound to their request, not replayable
        self.host = Libp2pHost(self.a.keys.identity, HostConfig())
        self.peer: subprocess.Popen[str] | None = None
        self.peer_id, self.addrs = "", ()

    async def start(self, profile: Path | None = None) -> None:
        spec = self.workdir / "peer.json"
        spec.write_text(json.dumps(self.spec), encoding="utf-8")
        env = {**os.environ, **({"BENCH_PROFILE": str(profile)} if profile else {})}
        self.peer = subprocess.Popen(
            [sys.executable, "-m", "bench.federation_peer", str(spec)], cwd=ROOT, env=env,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert self.peer.stdout is not None
        listening = json.loads(await asyncio.to_thread(self.peer.stdout.readline))
        self.peer_id, self.addrs = listening["peer_id"], tuple(listening["addrs"])
        await self.host.start()

    async def stop(self) -> None:
        await self.host.stop()
        if self.peer is not None:
            assert self.peer.stdin is not None
            self.peer.stdin.close()
            self.peer.wait(30)
        self.a.close()

    async def send(self, message: Any, reuse: bool = True) -> Any:
        """One signed round trip through the node's one client path: a `ClientExchange`
        seals the request and verifies the signed answer (sender, reply, allowed type,
        signature, freshness)."""
        now = int(time.time())
        exchange = ClientExchange(self.endpoint, peer_node_id=self.b_node_id)
        frame = exchange.send_request(message, now=now)
        answer = await self.host.request(self.peer_id, self.addrs, PROTOCOL_ID, frame, 30,
                                         reuse_stream=reuse)
        exchange.receive_data(answer)
        event = exchange.next_event(now=now)
        assert isinstance(event, ResponseReceived)
        return event.message

    async def raw(self, request: bytes, reuse: bool = True) -> bytes:
        return await self.host.request(self.peer_id, self.addrs, RAW_PROTOCOL, request, 30,
                                       reuse_stream=reuse)


def raw_request(request_bytes: int, answer_bytes: int) -> bytes:
    """A frame the size of a signed request, asking `RAW_PROTOCOL` for `answer_bytes`."""
    return encode_frame(b"q" * (request_bytes - 8) + b"%08d" % answer_bytes)


@dataclass(frozen=True)
class Run:
    """One timed run: round trips per second, and the CPU each process spent per round trip
    (both processes' threads), and the share of the machine other processes used meanwhile."""

    rate: float
    sender_us: float
    answerer_us: float
    others: float


async def _run(call: Callable[[], Awaitable[Any]], count: int, in_flight: int,
               answerer: int) -> Run:
    async def worker(n: int) -> None:
        for _ in range(n):
            await call()

    done = count // in_flight * in_flight
    cpu0, peer0, machine0 = time.process_time(), process_cpu(answerer), machine_cpu()
    start = time.perf_counter()
    await asyncio.gather(*(worker(count // in_flight) for _ in range(in_flight)))
    wall = time.perf_counter() - start
    sender, peer = time.process_time() - cpu0, process_cpu(answerer) - peer0
    others = max(0.0, machine_cpu() - machine0 - sender - peer) / (wall * (os.cpu_count() or 1))
    return Run(done / wall, sender / done * 1e6, peer / done * 1e6, others)


def _median(runs: list[Run]) -> Run:
    """The run of median rate (its CPU figures with it)."""
    return sorted(runs, key=lambda r: r.rate)[len(runs) // 2]


async def bench_pair(workdir: Path, profile: Path | None = None) -> dict[str, Any]:
    pair = Pair(workdir)
    await pair.start(profile)
    try:
        query = MembershipListQuery()
        for _ in range(50):  # warm up: connection, code paths
            await pair.send(query)
        keys = pair.a.keys
        sample = seal(query, sender=keys.node_id, recipient=pair.b_node_id,
                      signing_key=keys.identity, now=int(time.time())).to_frame()
        answer = await pair.host.request(pair.peer_id, pair.addrs, PROTOCOL_ID, sample, 30)
        raw = raw_request(len(decode_frame(sample)), len(decode_frame(answer)))
        assert len(await pair.raw(raw)) == len(answer)
        assert pair.peer is not None
        answerer = pair.peer.pid
        signed: dict[tuple[str, int], list[Run]] = {key: [] for key in COUNTS}
        bare: dict[tuple[str, int], list[Run]] = {key: [] for key in COUNTS}
        for _ in range(RUNS):
            for (strategy, in_flight), count in COUNTS.items():
                reuse = STRATEGIES[strategy]
                bare[strategy, in_flight].append(await _run(
                    lambda r=reuse: pair.raw(raw, r), count, in_flight, answerer))
                signed[strategy, in_flight].append(await _run(
                    lambda r=reuse: pair.send(query, r), count, in_flight, answerer))

        # Checkpoint pushes the receiver witnesses: each one stored and cosigned.
        a = pair.a
        tree = merkle.MemoryTree()
        pushes = []
        for size in range(1, PUSHES + 1):
            tree.append(f"leaf {size}".encode())
            pushes.append(_push(a.keys.identity, a.keys.node_id, size, tree,
                                size - 1 if size > 1 else None))
        latencies = []
        start = time.perf_counter()
        for push in pushes:
            t0 = time.perf_counter()
            answered = await pair.send(push)
            latencies.append(time.perf_counter() - t0)
            assert answered.outcome == "cosigned", answered
        witnessed = PUSHES / (time.perf_counter() - start)
        origin = evidence_origin(a.keys.node_id)
    finally:
        await pair.stop()
    conn = sqlite3.connect(f"file:{pair.b_root / 'node.db'}?mode=ro", uri=True, timeout=5)
    try:
        state = store.witnessed(conn, origin)
    finally:
        conn.close()
    assert state is not None and state.size == PUSHES
    return {"signed": {k: _median(v) for k, v in signed.items()},
            "raw": {k: _median(v) for k, v in bare.items()},
            "request_bytes": len(sample), "answer_bytes": len(answer),
            "witnessed": witnessed, "push_median": statistics.median(latencies)}


# -- where the time goes -------------------------------------------------------------------

PROFILED = 1200  # signed round trips, reused streams, CONCURRENCY in flight
# Where a profiled function belongs, by its file (or a builtin's name); the first match wins.
CATEGORIES = (
    ("envelope: Ed25519, canonical JSON, schemas",
     ("/protocol/", "/crypto/", "/nacl/", "_sodium", "/rfc8785/", "pydantic", "json",
      "hashlib", "unicodedata", "'encode' of 'str'", "_io.BytesIO")),
    ("node handler: replay check in SQLite",
     ("/node/", "/transport/inbox", "/transport/transaction", "sqlite3")),
    ("libp2p: yamux, Noise, streams", ("/libp2p/", "/noise/", "cryptography", "/multiaddr/",
                                       "/base58/", "_cffi_backend")),
    ("trio: scheduler, socket calls", ("/trio/", "outcome", "_socket.socket", "/sniffio/",
                                       "_contextvars")),
    ("our host and the asyncio/trio bridge",
     ("/transport/", "/asyncio/", "threading.py", "/concurrent/", "/bench/")),
)
IDLE = ("'poll' of 'select.epoll'", "'acquire' of '_thread.lock'", "{built-in method time.sleep}")


def _categorise(stats: pstats.Stats) -> dict[str, float]:
    """Seconds of own time per category (idle waits left out)."""
    seconds: dict[str, float] = {label: 0.0 for label, _ in CATEGORIES}
    seconds["other"] = 0.0
    for (filename, _line, name), row in stats.stats.items():  # type: ignore[attr-defined]
        where = f"{filename}:{name}"
        if any(idle in where for idle in IDLE):
            continue
        label = next((label for label, marks in CATEGORIES
                      if any(mark in where for mark in marks)), "other")
        seconds[label] += row[2]  # tottime
    return seconds


async def profile_pair(workdir: Path) -> dict[str, dict[str, float]]:
    """A cProfile of both processes (each thread) over `PROFILED` signed round trips, as
    shares of their busy time per category."""
    out = workdir / "profile"
    out.mkdir(parents=True)
    threads: list[tuple[str, cProfile.Profile]] = []

    def profile_thread(*_: Any) -> None:  # the first event of each new thread
        sys.setprofile(None)
        profile = cProfile.Profile()
        threads.append((threading.current_thread().name, profile))
        profile.enable()

    pair = Pair(workdir)
    threading.setprofile(profile_thread)
    try:
        await pair.start(profile=out)
    finally:
        threading.setprofile(None)  # type: ignore[arg-type]
    main = cProfile.Profile()
    try:
        query = MembershipListQuery()
        for _ in range(50):
            await pair.send(query)
        main.enable()
        await asyncio.gather(*(_repeat(lambda: pair.send(query), PROFILED // CONCURRENCY)
                               for _ in range(CONCURRENCY)))
        main.disable()
    finally:
        await pair.stop()
    sender = pstats.Stats(main)
    for name, profile in threads:
        if name.startswith("libp2p"):
            sender.add(profile)
    answerer = pstats.Stats(str(out / "peer-main.pstats"))
    answerer.add(str(out / "peer-trio.pstats"))
    shares = {}
    for side, stats in (("sender", sender), ("answerer", answerer)):
        seconds = _categorise(stats)
        total = sum(seconds.values()) or 1.0
        shares[side] = {label: value / total for label, value in seconds.items()}
        # Noise messages received per round trip: `decrypt` is a plain function, so cProfile
        # counts its calls exactly (coroutines are counted once per resumption).
        shares[side]["noise_in"] = sum(
            row[1] for (filename, _line, name), row in stats.stats.items()  # type: ignore[attr-defined]
            if name == "decrypt" and filename.endswith("noise/io.py")) / PROFILED
    return shares


async def _repeat(call: Callable[[], Awaitable[Any]], n: int) -> None:
    for _ in range(n):
        await call()


# -- 20 nodes enroll ------------------------------------------------------------------------


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "observatory.cli", *args], capture_output=True,
                          text=True, cwd=ROOT, timeout=120)


def listen_port() -> int:
    """A free port below the ephemeral range (32768-60999 on Linux): a port chosen now and
    listened on only once 21 processes are up must not be taken meanwhile by one of their
    outgoing connections, which draw from the ephemeral range."""
    import random
    import socket

    while True:
        port = random.randrange(20_000, 32_000)
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port


def _federation(info: dict[str, Any], addr: str, port: int) -> str:
    return f"""
[federation]
observatory_node_id = "{info['node_id']}"
observatory_identity_key = "{info['identity_key']}"
observatory_addrs = ["{addr}"]
listen_host = "127.0.0.1"
listen_port = {port}
organisation_name = "Bench organisation"
country = "CD"
contact = "bench@example.org"
enrollment_poll_seconds = {POLL_SECONDS}
membership_refresh_seconds = 60
push_check_seconds = {POLL_SECONDS}
"""


def _cosigned(root: Path, observatory_id: str) -> bool:
    import sqlite3

    try:
        conn = sqlite3.connect(f"file:{root / 'node.db'}?mode=ro", uri=True, timeout=5)
        try:
            return conn.execute("SELECT 1 FROM federation_cosignatures WHERE witness = ?",
                                (observatory_id,)).fetchone() is not None
        finally:
            conn.close()
    except sqlite3.Error:
        return False


def bench_enrollment(workdir: Path) -> dict[str, Any]:
    obs_root = make_observatory(workdir / "observatory")
    web_port, p2p_port = listen_port(), listen_port()
    info = json.loads(_cli("show-key", "--data", str(obs_root), "--json").stdout)
    addr = f"/ip4/127.0.0.1/tcp/{p2p_port}"
    roots: dict[str, Path] = {}
    for i in range(NODES):
        datadir = make_node(workdir / f"node-{i:02d}")
        root = datadir.root
        ctx = open_node(datadir, staff_params=pw.INSECURE_FAST_FOR_TESTS,
                        receipt_params=pw.INSECURE_FAST_FOR_TESTS)
        try:
            ctx.intake.submit(ReportInput(narrative="synthetic bench report"),
                              DataKey.generate(), [], "bench")
            assert sign_if_grown(ctx.db, ctx.keys, int(ctx.clock().timestamp())) is not None
            roots[ctx.keys.node_id] = root
        finally:
            ctx.close()
        (root / "node.toml").write_text(test_config() + _federation(info, addr, listen_port()),
                                        encoding="utf-8")
    with (workdir / "observatory.log").open("ab") as log:
        observatory = subprocess.Popen(
            [sys.executable, "-m", "observatory.cli", "serve", "--data", str(obs_root),
             "--host", "127.0.0.1", "--port", str(web_port), "--p2p-port", str(p2p_port)],
            stdout=log, stderr=subprocess.STDOUT, cwd=ROOT, env={**os.environ})
    nodes = [NodeProcess(root, listen_port(), workdir / f"{root.name}.log")
             for root in roots.values()]
    approved: dict[str, float] = {}
    cosigned: dict[str, float] = {}
    try:
        time.sleep(2)  # the observatory imports libp2p and listens
        start, wall = time.monotonic(), time.time()
        for node in nodes:
            _spawn(node)
        while len(cosigned) < NODES:
            if time.monotonic() - start > ENROLL_TIMEOUT:
                late = [roots[n] for n in roots if n not in cosigned]
                tail = (workdir / f"{late[0].name}.log").read_text()[-1500:]
                raise TimeoutError(f"{len(cosigned)}/{NODES} cosigned in {ENROLL_TIMEOUT:.0f} s;"
                                   f" {late[0].name}'s log ends:\n{tail}")
            # A node records "pending" once the observatory acknowledged its request: then
            # the request is in `backup-observatory requests`, and the admin approves it.
            new = [n for n, root in roots.items()
                   if n not in approved and _status(root) == "pending"]
            deciding = {n: subprocess.Popen(  # one approval process per request, together
                [sys.executable, "-m", "observatory.cli", "approve", n, "--data", str(obs_root)],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT) for n in new}
            for node_id, proc in deciding.items():
                if proc.wait(120) == 0:
                    approved[node_id] = time.monotonic() - start
            for node_id, root in roots.items():
                if node_id not in cosigned and _cosigned(root, info["node_id"]):
                    cosigned[node_id] = time.monotonic() - start
            time.sleep(0.2)
    finally:
        for node in nodes:
            node.stop()
        observatory.send_signal(signal.SIGTERM)
        try:
            observatory.wait(15)
        except subprocess.TimeoutExpired:
            observatory.kill()
    asked = [_requested_at(root) - wall for root in roots.values()]
    return {"asked": sorted(asked), "approved": sorted(approved.values()),
            "cosigned": sorted(cosigned.values())}


def _status(root: Path) -> str | None:
    import sqlite3

    try:
        conn = sqlite3.connect(f"file:{root / 'node.db'}?mode=ro", uri=True, timeout=5)
        try:
            row = conn.execute("SELECT status FROM federation_membership").fetchone()
        finally:
            conn.close()
    except sqlite3.Error:
        return None
    return None if row is None else str(row[0])


def _requested_at(root: Path) -> float:
    """When the observatory first acknowledged the node's request to join (the node's own
    record, whole seconds)."""
    import sqlite3

    conn = sqlite3.connect(f"file:{root / 'node.db'}?mode=ro", uri=True, timeout=5)
    try:
        return float(conn.execute("SELECT requested_at FROM federation_membership")
                     .fetchone()[0])
    finally:
        conn.close()


def _spawn(node: NodeProcess) -> None:
    """Start `backup-node serve` without waiting for it (NodeProcess.start waits)."""
    with node.log_path.open("ab") as log:
        node.proc = subprocess.Popen(
            [sys.executable, "-m", "node.cli", "serve", "--data", str(node.datadir),
             "--host", "127.0.0.1", "--port", str(node.port), "--staff-port", "0"],
            stdout=log, stderr=subprocess.STDOUT, cwd=ROOT, env={**os.environ})


# -- the section ----------------------------------------------------------------------------


def _pair_table(pair: dict[str, Any]) -> str:
    rows = []
    for strategy, in_flight in COUNTS:
        raw, signed = pair["raw"][strategy, in_flight], pair["signed"][strategy, in_flight]
        rows.append((
            f"{'reused streams' if STRATEGIES[strategy] else 'a new stream per request'}, "
            f"{in_flight} in flight",
            f"{raw.rate:.0f}/s", f"{signed.rate:.0f}/s", f"{signed.rate / raw.rate:.0%}",
            f"{raw.sender_us:.0f} / {raw.answerer_us:.0f} µs",
            f"{signed.sender_us:.0f} / {signed.answerer_us:.0f} µs",
            f"{max(raw.others, signed.others):.0%}"))
    return table(("Stream strategy", "Raw request/response", "Signed", "Signed / raw",
                  "CPU per raw round trip (sender / answerer)",
                  "CPU per signed round trip (sender / answerer)",
                  "Other processes' share of the machine"), rows)


def _profile_table(shares: dict[str, dict[str, float]]) -> str:
    labels = [label for label, _ in CATEGORIES] + ["other"]
    return table(("Where the CPU went", "Sender process", "Answering process"),
                 [(label, f"{shares['sender'][label]:.0%}", f"{shares['answerer'][label]:.0%}")
                  for label in labels])


def run(workdir: Path) -> Section:
    envelopes = bench_envelopes()
    print(f"envelopes: {envelopes['both']:.0f} sign+verify/s", flush=True)
    load_pair = load_average()
    pair = asyncio.run(bench_pair(workdir / "pair"))
    load_pair = f"{load_pair} before, {load_average()} after"
    signed, raw = pair["signed"]["reused", CONCURRENCY], pair["raw"]["reused", CONCURRENCY]
    one = pair["signed"]["reused", 1]
    print(f"two node processes: {one.rate:.0f} / {signed.rate:.0f} signed messages/s "
          f"(raw {raw.rate:.0f}/s), {pair['witnessed']:.0f} pushes witnessed/s", flush=True)
    shares = asyncio.run(profile_pair(workdir / "profile"))
    load = load_average()
    enrolled = bench_enrollment(workdir / "network")
    cosigned, approved, asked = enrolled["cosigned"], enrolled["approved"], enrolled["asked"]
    ratio = signed.rate / raw.rate
    section = Section(
        title="Federation: signed messages, envelopes, enrollment of 20 nodes (issues 5, 10)",
        command=COMMAND,
        figures=[
            Figure("Signed request/response messages per second between two node processes "
                   "over libp2p (request sealed, the node's real handler, signed answer "
                   "verified; reused streams)",
                   f"{one.rate:.0f}/s one at a time; {signed.rate:.0f}/s with {CONCURRENCY} "
                   "in flight", f">= 500/s with {CONCURRENCY} in flight",
                   signed.rate >= 500),
            Figure("The same, as a share of raw libp2p request/response between the same "
                   "hosts (same sizes, reused streams, no envelope, no outbox)",
                   f"{ratio:.0%} ({signed.rate:.0f}/s of {raw.rate:.0f}/s with "
                   f"{CONCURRENCY} in flight)", ">= 40 %", ratio >= 0.4),
            Figure("Checkpoint pushes witnessed per second by a peer node process (stored "
                   "with fsync, cosigned), one at a time",
                   f"{pair['witnessed']:.0f}/s (median {fmt_ms(pair['push_median'])} each)"),
            Figure("Envelope sign+verify per second (one core)",
                   f"{envelopes['both']:.0f}/s (seal {envelopes['seal']:.0f}/s, verify "
                   f"{envelopes['verify']:.0f}/s)"),
            Figure(f"Time for {NODES} node processes to enroll and get their first checkpoint "
                   "cosigned by the observatory",
                   f"{cosigned[-1]:.1f} s (median node {statistics.median(cosigned):.1f} s)"),
        ],
        details=[
            ("Two node processes: raw and signed request/response, both stream strategies "
             f"(median of {RUNS} runs each)", _pair_table(pair)),
            (f"Where the time goes: cProfile of both processes over {PROFILED} signed round "
             f"trips (reused streams, {CONCURRENCY} in flight), own time per part",
             _profile_table(shares)),
            ("Enrollment of 20 nodes: seconds after the processes were launched",
             table(("", "first node", "median", "last node"), [
                 ("request to join acknowledged by the observatory (whole seconds)",
                  f"{asked[0]:.0f}", f"{statistics.median(asked):.0f}", f"{asked[-1]:.0f}"),
                 ("request approved by the CLI", f"{approved[0]:.1f}",
                  f"{statistics.median(approved):.1f}", f"{approved[-1]:.1f}"),
                 ("checkpoint cosigned", f"{cosigned[0]:.1f}",
                  f"{statistics.median(cosigned):.1f}", f"{cosigned[-1]:.1f}")]))],
        notes=[
            "Two node processes: this process is node a (the sender) and "
            "`python -m bench.federation_peer` is node b, each with its own "
            "`transport.host.Libp2pHost` (TCP, Noise, yamux on 127.0.0.1, libp2p in a trio "
            "thread, handlers on the asyncio loop). A signed message is a "
            f"`MembershipListQuery` ({pair['request_bytes']} bytes on the wire) that b "
            "verifies against its membership list, binds to the Noise peer, checks against "
            "its replay guard in SQLite and answers with a signed `DeliveryAck` "
            f"({pair['answer_bytes']} bytes); a verifies the answer. Raw request/response "
            "uses the same hosts and frame sizes on another protocol whose handler answers "
            "at once. Load average around these runs: " + load_pair + ".",
            "Stream strategy: the federation reuses streams (`HostConfig.reuse_streams`, the "
            "default): a stream of `/backup/federation/2.0.0` carries request after request, "
            "so most requests skip opening a stream and its multistream-select round trip. "
            "Handlers stay on the asyncio loop; what made the difference besides reuse is "
            "that the host batches its wake-ups of the other thread (`transport.bridge`): "
            "before, each request and each answer cost a wake-up and a hand-over of the GIL "
            "between libp2p's thread and the loop (issue 10's starting point: 90/s one at a "
            "time, 101/s with 16 in flight, both hosts in one process).",
            "Where the time goes: a signed round trip costs each process about the CPU of a "
            "raw one plus one envelope sealed and one verified (Ed25519, RFC 8785 canonical "
            f"JSON, schema checks: {1e6 / envelopes['seal'] + 1e6 / envelopes['verify']:.0f} "
            "µs per side at the rates above, for a larger envelope). In libp2p, yamux sends "
            "a window update for most reads and every yamux frame is its own Noise message: "
            f"the sender received {shares['sender']['noise_in']:.1f} and the answering "
            f"process {shares['answerer']['noise_in']:.1f} Noise messages per round trip. "
            "\"trio: scheduler, socket calls\" includes the time spent in `send`/`recv` "
            "and in handing the GIL between the two threads of a process. cProfile slows "
            "Python-heavy code more than C, so the shares are indicative.",
            f"The envelope is a `CheckpointPush` of {envelopes['bytes']:,} bytes on the wire "
            f"(a signed checkpoint note and a {envelopes['proof']}-hash consistency proof), "
            "signed over its RFC 8785 canonical JSON; verification parses, checks the schema, "
            "the freshness and the Ed25519 signature.",
            f"Enrollment: {NODES} `backup-node serve` processes and `backup-observatory serve` "
            f"on one machine ({os.cpu_count()} cores), started together; nodes poll the "
            f"observatory every {POLL_SECONDS} s (`enrollment_poll_seconds`; the default is "
            "60 s, which adds up to a minute to the wait after approval). Approvals are "
            "`backup-observatory approve` processes, one per request, started together as "
            "soon as the node records its request as acknowledged; each such CLI process "
            "takes about 1.5 s on an idle core (it imports libp2p), much longer while 21 "
            "processes start. Most of the time is "
            f"21 Python processes starting (libp2p import) on {os.cpu_count()} cores; load "
            f"average before: {load}.",
        ])
    return section
