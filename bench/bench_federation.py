"""Issue 5's figures: signed messages per second between two nodes over libp2p, envelope
sign+verify per second, and the time for 20 node processes on loopback to enroll with the
observatory and get their first checkpoint cosigned.

* Envelopes: `protocol.envelope.seal` and `verify_frame` of a `CheckpointPush` (a real
  signed checkpoint note and a 20-hash consistency proof), one core, in-process.
* Two nodes: two node databases and two `transport.host.Libp2pHost`s (TCP, Noise, yamux on
  127.0.0.1) in this process, each host in its own trio thread; the sender seals each
  request, the receiver runs the node's real `FederationHandler` (verify against the
  membership list, peer binding, answer sealed and signed) and the sender verifies the
  answer. Two kinds of request: one the node answers without storing anything (a
  membership list query to a non-observatory: a signed refusal), and checkpoint pushes the
  node witnesses (replay record and witness state in one fsync'd SQLite transaction, a
  C2SP cosignature), pushed one after another (each extends the last).
* 20 nodes: a real `backup-observatory serve` and 20 `backup-node serve` processes, each
  node with one report in its evidence log and a signed checkpoint; the bench approves each
  request to join with `backup-observatory approve` as soon as it appears and times until
  every node holds the observatory's cosignature of its checkpoint.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench.cpuwatch import load_average
from bench.report import Figure, Section, fmt_ms, table
from crypto import merkle
from crypto import passphrase as pw
from crypto.checkpoint import Checkpoint, NoteSigner, sign_checkpoint
from crypto.keys import DataKey, SigningKey
from node.context import NodeContext, open_node
from node.evidence.signing import sign_if_grown
from node.federation import store
from node.federation.config import FederationConfig
from node.federation.directory import Directory
from node.federation.handler import FederationHandler
from node.intake.models import ReportInput
from protocol.envelope import seal, verify_frame
from protocol.membership import MemberEntry, MembershipList, MembershipListBody, MembershipListQuery
from protocol.versions import FEDERATION_PROTOCOL as PROTOCOL_ID
from protocol.witness import CheckpointPush
from protocol.witnessing import evidence_origin
from tests.conftest import NodeProcess, make_node, test_config
from tests.unit.observatory.support import make_observatory
from transport import store as transport_store
from transport.host import HostConfig, Libp2pHost

ROOT = Path(__file__).resolve().parent.parent
COMMAND = ".venv/bin/python -m bench.run --only federation"
ENVELOPES = 3000
ROUND_TRIPS = 1500
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


# -- two nodes over libp2p ------------------------------------------------------------------


class Pair:
    """Node `a` sends to node `b`, whose real federation handler answers."""

    def __init__(self, workdir: Path) -> None:
        self.ctx: list[NodeContext] = []
        for name in ("a", "b"):
            ctx = open_node(make_node(workdir / name), staff_params=pw.INSECURE_FAST_FOR_TESTS,
                            receipt_params=pw.INSECURE_FAST_FOR_TESTS)
            self.ctx.append(ctx)
        b = self.ctx[1]
        self.observatory = SigningKey.generate()
        self.observatory_id = "ee" * 16
        now = int(time.time())
        body = MembershipListBody(
            issuer=self.observatory_id, sequence=1, issued_at=now, expires=now + 86_400,
            members=tuple(MemberEntry(
                node_id=c.keys.node_id, organisation_name="Bench", country="CD",
                identity_key=c.keys.identity_public.raw().hex(),
                box_key=c.keys.intake_public.raw().hex(), certificate_serial="00" * 16,
                joined_at=now) for c in self.ctx))
        self.directory = Directory(self.observatory_id, self.observatory.verify_key,
                                   MembershipList.issue(body, self.observatory).body)
        self.config = FederationConfig(
            observatory_node_id=self.observatory_id,
            observatory_identity_key=self.observatory.verify_key.raw().hex(),
            observatory_addrs=["/ip4/127.0.0.1/tcp/9"], organisation_name="Bench",
            country="CD", contact="bench@example.org")
        with b.db.write() as conn:
            transport_store.ensure_schema(conn)
        self.handler = FederationHandler(b.db, keys=b.keys, config=self.config,
                                         directory=lambda: self.directory,
                                         clock=lambda: int(time.time()))
        self.hosts = [Libp2pHost(c.keys.identity, HostConfig()) for c in self.ctx]
        self.hosts[1].set_handler(PROTOCOL_ID, self.handler)

    async def start(self) -> None:
        for host in self.hosts:
            await host.start()

    async def stop(self) -> None:
        for host in self.hosts:
            await host.stop()
        for ctx in self.ctx:
            ctx.close()

    async def send(self, message: Any) -> Any:
        a, b = self.ctx
        now = int(time.time())
        frame = seal(message, sender=a.keys.node_id, recipient=b.keys.node_id,
                     signing_key=a.keys.identity, now=now).to_frame()
        host = self.hosts[1]
        answer = await self.hosts[0].request(host.peer_id, host.listen_addrs, PROTOCOL_ID,
                                             frame, 30)
        return verify_frame(answer, local_node_id=a.keys.node_id, now=now,
                            lookup_key=lambda _: b.keys.identity_public,
                            is_replay=lambda *_: False).message


async def bench_pair(workdir: Path) -> dict[str, float]:
    pair = Pair(workdir)
    await pair.start()
    try:
        query = MembershipListQuery()
        for _ in range(50):  # warm up: connection, code paths
            await pair.send(query)
        start = time.perf_counter()
        for _ in range(ROUND_TRIPS):
            await pair.send(query)
        sequential = ROUND_TRIPS / (time.perf_counter() - start)

        async def worker(n: int) -> None:
            for _ in range(n):
                await pair.send(query)

        start = time.perf_counter()
        await asyncio.gather(*(worker(ROUND_TRIPS // CONCURRENCY) for _ in range(CONCURRENCY)))
        concurrent = (ROUND_TRIPS // CONCURRENCY * CONCURRENCY) / (time.perf_counter() - start)

        # Checkpoint pushes the receiver witnesses: each one stored and cosigned.
        a = pair.ctx[0]
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
            answer = await pair.send(push)
            latencies.append(time.perf_counter() - t0)
            assert answer.outcome == "cosigned", answer
        witnessed = PUSHES / (time.perf_counter() - start)
        state = store.witnessed(pair.ctx[1].db.read(), evidence_origin(a.keys.node_id))
        assert state is not None and state.size == PUSHES
    finally:
        await pair.stop()
    return {"sequential": sequential, "concurrent": concurrent, "witnessed": witnessed,
            "push_median": statistics.median(latencies)}


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


def run(workdir: Path) -> Section:
    envelopes = bench_envelopes()
    print(f"envelopes: {envelopes['both']:.0f} sign+verify/s", flush=True)
    pair = asyncio.run(bench_pair(workdir / "pair"))
    print(f"two nodes: {pair['sequential']:.0f} / {pair['concurrent']:.0f} signed messages/s, "
          f"{pair['witnessed']:.0f} pushes witnessed/s", flush=True)
    load = load_average()
    enrolled = bench_enrollment(workdir / "network")
    cosigned, approved, asked = enrolled["cosigned"], enrolled["approved"], enrolled["asked"]
    section = Section(
        title="Federation: signed messages, envelopes, enrollment of 20 nodes (issue 5)",
        command=COMMAND,
        figures=[
            Figure("Signed messages per second between two nodes over libp2p "
                   "(request sealed, verified, signed answer verified)",
                   f"{pair['sequential']:.0f}/s one at a time; "
                   f"{pair['concurrent']:.0f}/s with {CONCURRENCY} in flight"),
            Figure("Checkpoint pushes witnessed per second by a peer node (stored with fsync, "
                   "cosigned)", f"{pair['witnessed']:.0f}/s (median "
                   f"{fmt_ms(pair['push_median'])} each)"),
            Figure("Envelope sign+verify per second (one core)",
                   f"{envelopes['both']:.0f}/s (seal {envelopes['seal']:.0f}/s, verify "
                   f"{envelopes['verify']:.0f}/s)"),
            Figure(f"Time for {NODES} node processes to enroll and get their first checkpoint "
                   "cosigned by the observatory",
                   f"{cosigned[-1]:.1f} s (median node {statistics.median(cosigned):.1f} s)"),
        ],
        details=[("Enrollment of 20 nodes: seconds after the processes were launched",
                  table(("", "first node", "median", "last node"), [
                      ("request to join acknowledged by the observatory (whole seconds)",
                       f"{asked[0]:.0f}", f"{statistics.median(asked):.0f}",
                       f"{asked[-1]:.0f}"),
                      ("request approved by the CLI", f"{approved[0]:.1f}",
                       f"{statistics.median(approved):.1f}", f"{approved[-1]:.1f}"),
                      ("checkpoint cosigned", f"{cosigned[0]:.1f}",
                       f"{statistics.median(cosigned):.1f}", f"{cosigned[-1]:.1f}")]))],
        notes=[
            f"The envelope is a `CheckpointPush` of {envelopes['bytes']:,} bytes on the wire "
            f"(a signed checkpoint note and a {envelopes['proof']}-hash consistency proof), "
            "signed over its RFC 8785 canonical JSON; verification parses, checks the schema, "
            "the freshness and the Ed25519 signature.",
            "Two nodes: both libp2p hosts (TCP, Noise, yamux, one new stream per request) run "
            "in this process, each in its own trio thread, with the receiver's handler on the "
            "asyncio loop: the bridge and both ends share the machine's cores.",
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
