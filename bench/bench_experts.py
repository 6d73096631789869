"""Issue 16's figures: in a 10-node loopback federation, the time from a coordinator
posting a need to the matching expert on another node seeing it on their open needs page,
and from posting to the expert's scripted acceptance reaching the coordinator's node.

A real `backup-observatory serve` and `NODES` `backup-node serve` processes on 127.0.0.1,
each node with the expert app on its own port and one vetted expert (vouched before start,
countersigned with `backup-observatory countersign`, available now), with specialties
spread so that each need matches the one expert on node `TARGET`. The coordinator on node 0
posts through the staff office form (HTTP), and the expert's signed-in session reloads
`/expert/needs` every `node.web.expert.needs.REFRESH_SECONDS` as the page itself does
(meta refresh, no JavaScript), starting at a random phase: "seen" is the first reload
that shows the need. The acceptance is the expert's POST right then; "accepted" is when
node 0 has stored the signed answer (polled in its database every 50 ms).
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import re
import signal
import sqlite3
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import aiohttp
import pyotp

from bench.bench_federation import _cli, listen_port
from bench.cpuwatch import load_average
from bench.report import Figure, Section, table
from crypto import passphrase as pw
from node import accounts
from node.context import open_node
from node.datadir import DataDir
from node.experts import profiles, vetting
from node.web.expert.needs import REFRESH_SECONDS
from protocol.experts import SPECIALTIES
from tests.conftest import ROOT, NodeProcess, make_node, test_config
from tests.unit.observatory.support import make_observatory

COMMAND = ".venv/bin/python -m bench.run --only experts"
NODES = 10
TARGET = 5
NEEDS = 12
PASS = "umbrella gravel orbit nineteen lantern"
CSRF = re.compile(r'name="csrf" value="([^"]+)"')
SETUP_TIMEOUT = 600.0


_TAKEN: set[int] = set()


def _port() -> int:
    """A free port none of this run's processes was given yet (they listen only later)."""
    while True:
        port = listen_port()
        if port not in _TAKEN:
            _TAKEN.add(port)
            return port


def _csrf(html: str) -> str:
    m = CSRF.search(html)
    assert m, "no form token"
    return m.group(1)


def _people(root: Path, index: int) -> None:
    ctx = open_node(DataDir(root), staff_params=pw.INSECURE_FAST_FOR_TESTS,
                    receipt_params=pw.INSECURE_FAST_FOR_TESTS)
    try:
        with ctx.db.write() as conn:
            accounts.create(conn, "coord", PASS, {"coordinator"}, pw.INSECURE_FAST_FOR_TESTS,
                            0, certifier=ctx.keys.certifier)
            accounts.create(conn, "expert", PASS, {"expert"}, pw.INSECURE_FAST_FOR_TESTS, 0,
                            certifier=ctx.keys.certifier)
        expert = accounts.unlock(ctx.db.read(), "expert", PASS)
        now = int(time.time())
        # Only the target's expert does forensic medicine: each need matches them alone.
        specialty = ("forensic_medicine" if index == TARGET
                     else SPECIALTIES[1 + index % (len(SPECIALTIES) - 1)])
        profiles.save_profile(ctx.db, ctx.audit, expert, node_id=ctx.keys.node_id,
                              specialties=[specialty], languages=["fr", "sw"],
                              countries=["CD"], regions=["CD-NK"], modes=["on_site"], now=now)
        profiles.set_availability(ctx.db, ctx.audit, expert, "now", now)
        vetting.vouch(ctx.db, ctx.audit, accounts.unlock(ctx.db.read(), "coord", PASS),
                      expert.member.id, now)
    finally:
        ctx.close()


def _query(root: Path, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    try:
        conn = sqlite3.connect(f"file:{root / 'node.db'}?mode=ro", uri=True, timeout=5)
        try:
            return conn.execute(sql, params).fetchall()
        finally:
            conn.close()
    except sqlite3.Error:
        return []


def _federation(info: dict[str, Any], obs_addr: str, port: int,
                peers: list[tuple[str, str]]) -> str:
    text = f"""
[federation]
observatory_node_id = "{info['node_id']}"
observatory_identity_key = "{info['identity_key']}"
observatory_addrs = ["{obs_addr}"]
listen_host = "127.0.0.1"
listen_port = {port}
organisation_name = "Bench organisation"
country = "CD"
contact = "bench@example.org"
enrollment_poll_seconds = 2
membership_refresh_seconds = 5
push_check_seconds = 60
"""
    for node_id, addr in peers:
        text += f'\n[[federation.peers]]\nnode_id = "{node_id}"\naddrs = ["{addr}"]\n'
    return text


async def _wait(check: Any, what: str, timeout: float = SETUP_TIMEOUT) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        await asyncio.sleep(0.5)
    raise TimeoutError(f"timed out waiting for {what}")


async def _measure(workdir: Path) -> dict[str, Any]:
    obs_root = make_observatory(workdir / "observatory")
    web_port, p2p_port = _port(), _port()
    info = json.loads(_cli("show-key", "--data", str(obs_root), "--json").stdout)
    obs_addr = f"/ip4/127.0.0.1/tcp/{p2p_port}"
    roots, ids, p2p, app_ports = [], [], [], []
    for i in range(NODES):
        root = make_node(workdir / f"node-{i:02d}").root
        _people(root, i)
        ctx = open_node(DataDir(root), staff_params=pw.INSECURE_FAST_FOR_TESTS,
                        receipt_params=pw.INSECURE_FAST_FOR_TESTS)
        ids.append(ctx.keys.node_id)
        ctx.close()
        roots.append(root)
        p2p.append(_port())
        app_ports.append(_port())
    addrs = [f"/ip4/127.0.0.1/tcp/{p}" for p in p2p]
    for i, root in enumerate(roots):
        peers = ([(ids[j], addrs[j]) for j in range(NODES) if j != i] if i == 0
                 else [(ids[0], addrs[0])])
        (root / "node.toml").write_text(
            test_config() + _federation(info, obs_addr, p2p[i], peers)
            + f"\n[expert_app]\nenabled = true\nport = {app_ports[i]}\n", encoding="utf-8")
    with (workdir / "observatory.log").open("ab") as log:
        observatory = subprocess.Popen(
            [sys.executable, "-m", "observatory.cli", "serve", "--data", str(obs_root),
             "--host", "127.0.0.1", "--port", str(web_port), "--p2p-port", str(p2p_port)],
            stdout=log, stderr=subprocess.STDOUT, cwd=ROOT, env={**os.environ})
    nodes = [NodeProcess(root, _port(), workdir / f"{root.name}.log") for root in roots]
    try:
        await asyncio.sleep(2)
        for node in nodes:
            node.start(timeout=120)
        approved: set[str] = set()

        def all_approved() -> bool:
            for node_id, root in zip(ids, roots, strict=True):
                if node_id not in approved and _query(
                        root, "SELECT status FROM federation_membership") == [("pending",)]:
                    _cli("approve", node_id, "--data", str(obs_root))
                    approved.add(node_id)
            return len(approved) == NODES

        await _wait(all_approved, "every node approved")
        countersigned: set[str] = set()

        def all_countersigned() -> bool:
            out = _cli("expert-vouches", "--data", str(obs_root)).stdout
            for line in out.splitlines():
                parts = line.split()
                if parts and re.fullmatch(r"[0-9a-f]{32}", parts[0]) \
                        and parts[0] not in countersigned:
                    _cli("countersign", parts[0], "--days", "30", "--data", str(obs_root))
                    countersigned.add(parts[0])
            return len(countersigned) == NODES

        await _wait(all_countersigned, "every expert countersigned")

        def listed() -> bool:
            rows = _query(roots[0], "SELECT directory FROM expert_directory")
            return bool(rows) and sum(e["availability"] == "now" for e in json.loads(
                rows[0][0])["body"]["entries"]) == NODES

        await _wait(listed, "node 0's directory listing every available expert")
        return await _run_needs(nodes, roots, ids, app_ports)
    finally:
        for node in nodes:
            node.stop()
        observatory.send_signal(signal.SIGTERM)
        try:
            observatory.wait(15)
        except subprocess.TimeoutExpired:
            observatory.kill()


async def _run_needs(nodes: list[NodeProcess], roots: list[Path], ids: list[str],
                     app_ports: list[int]) -> dict[str, Any]:
    jar = aiohttp.CookieJar(unsafe=True)
    async with aiohttp.ClientSession(base_url=nodes[0].url, cookie_jar=jar) as office, \
            aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as phone:
        token = _csrf(await (await office.get("/staff/login")).text())
        r = await office.post("/staff/login", data={"csrf": token, "username": "coord",
                                                     "passphrase": PASS},
                              allow_redirects=False)
        assert r.status == 303, await r.text()
        app = f"http://127.0.0.1:{app_ports[TARGET]}"
        form = await (await phone.get(f"{app}/expert/login")).text()
        r = await phone.post(f"{app}/expert/login", data={
            "csrf": _csrf(form), "username": "expert", "passphrase": PASS})
        page = await r.text()
        secret = re.search(r'id="totp-secret">([^<]+)<', page)
        assert secret, page[-500:]
        await phone.post(f"{app}/expert/second-factor", data={
            "csrf": _csrf(page), "code": pyotp.TOTP(secret.group(1).replace(" ", "")).now()})
        seen, accepted, delivered = [], [], []
        for _ in range(NEEDS):
            page = await (await office.get("/staff/needs")).text()
            start = time.monotonic()
            r = await office.post("/staff/needs", data={
                "csrf": _csrf(page), "specialty": "forensic_medicine", "languages": "sw",
                "country": "CD", "regions": "CD-NK", "mode": "on_site",
                "urgency": "immediate", "deadline_hours": "6"}, allow_redirects=False)
            assert r.status == 303, await r.text()
            need_id = r.headers["Location"].split("?")[0].rsplit("/", 1)[1]
            arrived_at = None
            next_reload = start + random.uniform(0, REFRESH_SECONDS)
            listing = ""
            while True:  # the page's reloads; the database only to time delivery itself
                now = time.monotonic()
                if arrived_at is None and _query(
                        roots[TARGET], "SELECT 1 FROM expert_needs_received WHERE need_id = ?",
                        need_id):
                    arrived_at = now
                if now >= next_reload:
                    listing = await (await phone.get(f"{app}/expert/needs")).text()
                    if f"need-{need_id}" in listing:
                        break
                    next_reload += REFRESH_SECONDS
                if now - start > 120:
                    raise TimeoutError("the need never reached the expert's page")
                await asyncio.sleep(0.05)
            seen_at = time.monotonic()
            if arrived_at is None:
                arrived_at = seen_at
            r = await phone.post(f"{app}/expert/needs/{ids[0]}/{need_id}/answer",
                                 data={"csrf": _csrf(listing), "answer": "accept"})
            assert r.status == 200
            while not _query(roots[0], "SELECT 1 FROM expert_need_matches WHERE need_id = ? "
                             "AND answer = 'accept'", need_id):
                if time.monotonic() - start > 180:
                    raise TimeoutError("the acceptance never reached node 0")
                await asyncio.sleep(0.05)
            delivered.append(arrived_at - start)
            seen.append(seen_at - start)
            accepted.append(time.monotonic() - start)
    return {"seen": seen, "accepted": accepted, "delivered": delivered}


def run(workdir: Path) -> Section:
    load = load_average()
    result = asyncio.run(_measure(workdir))
    seen, accepted, delivered = result["seen"], result["accepted"], result["delivered"]
    median_seen = statistics.median(seen)
    print(f"experts: seen median {median_seen:.2f} s, accepted median "
          f"{statistics.median(accepted):.2f} s", flush=True)

    def row(name: str, values: list[float]) -> tuple[str, ...]:
        ordered = sorted(values)
        return (name, f"{ordered[0]:.2f}", f"{statistics.median(ordered):.2f}",
                f"{ordered[-1]:.2f}")

    return Section(
        title=f"Expert network: a need reaching an expert on another node, {NODES}-node "
              "federation (issue 16)",
        command=COMMAND,
        figures=[
            Figure("From posting a need (staff form on node 0) to the matching expert on "
                   f"another node seeing it on their open needs page (reloaded every "
                   f"{REFRESH_SECONDS} s, as the page does)",
                   f"median {median_seen:.2f} s ({len(seen)} needs)", "median <= 5 s",
                   median_seen <= 5),
            Figure("From posting to the expert's scripted acceptance stored on node 0",
                   f"median {statistics.median(accepted):.2f} s"),
            Figure("From posting to the need stored on the expert's node (delivery alone)",
                   f"median {statistics.median(delivered):.2f} s"),
        ],
        details=[("Seconds after the coordinator posted", table(
            ("", "fastest", "median", "slowest"),
            [row("need stored on the expert's home node", delivered),
             row("seen on the expert's open page", seen),
             row("acceptance stored on node 0", accepted)]))],
        notes=[
            f"{NODES} `backup-node serve` processes and `backup-observatory serve` on one "
            f"machine ({os.cpu_count()} cores); each node runs its expert app and has one "
            "vetted expert; node 0 has every other node's address (`[[federation.peers]]`), "
            "the others node 0's. Load average before: " + load + ".",
            "Delivery: the staff form stores the need and its message in one transaction "
            "and wakes the federation service, which moves the message into the outbox "
            "(one transaction) and delivers it over libp2p; the home node checks the "
            "envelope, the sender's membership and the deadline before storing it. The "
            "expert's answer is signed with their own key and travels back the same way; "
            "node 0 checks it against its expert directory before storing it.",
            f"Seeing it: the needs page reloads itself every {REFRESH_SECONDS} s (meta "
            "refresh: no JavaScript, light on a phone), so half a period is added on "
            "average to the delivery time.",
        ])
