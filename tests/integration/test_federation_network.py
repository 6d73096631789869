"""The federation as separate processes on 127.0.0.1 (issue 5, "Multi-process"): a real
`backup-observatory serve` and three `backup-node serve` processes.

* enrollment: each node asks to join, the observatory's admin approves it with the CLI, the
  node stores its certificate and fetches the signed membership list;
* witnessed checkpoints: each node's checkpoint is cosigned by the observatory and by its peer
  witness (a ring: b witnesses a, c witnesses b, a witnesses c); a court bundle exported with
  the CLI carries both cosignatures and `backup-evidence verify --witness` passes;
* a peer killed with SIGKILL, a push queued (visible on the admin page), the pushing node
  killed with SIGKILL too while it waits, both restarted: everything delivered exactly once;
* a malicious node (c's key, in a process of its own making) pushes a forked checkpoint:
  refused by its witness and by the observatory, and the fork alarm is on the admin page.

Every wait is bounded.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from crypto import merkle
from crypto.checkpoint import Checkpoint, NoteSigner, SignedNote, sign_checkpoint
from crypto.keys import SigningKey
from node.federation.info import witness_vkey
from node.keyring import NodeKeys
from protocol.envelope import seal, verify_frame
from protocol.statements import verify_key_from_hex
from protocol.versions import FEDERATION_PROTOCOL as PROTOCOL_ID
from protocol.witness import CheckpointPush, CosignatureResponse
from protocol.witnessing import evidence_origin
from tests.conftest import (
    ADMIN,
    ADMIN_PASSPHRASE,
    CANARY,
    ROOT,
    NodeProcess,
    make_node,
    start_together,
)
from tests.conftest import test_config as base_config
from tests.integration.conftest import csrf_of
from tests.integration.test_federation_double import listen_port
from tests.unit.observatory.support import make_observatory
from transport.host import HostConfig, Libp2pHost
from transport.identity import peer_id_from_public_key

pytestmark = pytest.mark.slow
WAIT = 60.0


async def eventually(check: Callable[[], Any], what: str, timeout: float = WAIT) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        await asyncio.sleep(0.2)
    raise AssertionError(f"timed out after {timeout:g}s waiting for {what}")


def cli(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, cwd=ROOT,
                          timeout=60, check=check)


@dataclass
class Observatory:
    root: Path
    log: Path
    web_port: int = field(default_factory=listen_port)
    p2p_port: int = field(default_factory=listen_port)
    proc: subprocess.Popen[bytes] | None = None
    info: dict[str, Any] = field(default_factory=dict)

    def start(self) -> None:
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "observatory.cli", "serve", "--data", str(self.root),
                 "--host", "127.0.0.1", "--port", str(self.web_port),
                 "--p2p-port", str(self.p2p_port)],
                stdout=out, stderr=subprocess.STDOUT, cwd=ROOT, env={**os.environ})
        self.info = json.loads(cli("-m", "observatory.cli", "show-key", "--data",
                                   str(self.root), "--json").stdout)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.web_port}"

    @property
    def addr(self) -> str:
        return f"/ip4/127.0.0.1/tcp/{self.p2p_port}"

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)


@dataclass
class Node:
    name: str
    root: Path
    keys: NodeKeys
    process: NodeProcess
    p2p_port: int = field(default_factory=listen_port)

    @property
    def node_id(self) -> str:
        return self.keys.node_id

    @property
    def addr(self) -> str:
        return f"/ip4/127.0.0.1/tcp/{self.p2p_port}"

    def query(self, sql: str, *params: Any) -> list[tuple[Any, ...]]:
        conn = sqlite3.connect(f"file:{self.root / 'node.db'}?mode=ro", uri=True, timeout=10)
        try:
            return conn.execute(sql, params).fetchall()
        finally:
            conn.close()

    def cosigners(self, size: int) -> set[str]:
        return {r[0] for r in self.query(
            "SELECT witness FROM federation_cosignatures WHERE size = ?", size)}

    def membership(self) -> str | None:
        rows = self.query("SELECT status FROM federation_membership")
        return rows[0][0] if rows else None

    def listed(self) -> set[str]:
        rows = self.query("SELECT list FROM federation_membership_list")
        if not rows:
            return set()
        return {m["node_id"] for m in json.loads(rows[0][0])["body"]["members"]}


def _keys(root: Path) -> NodeKeys:
    from node.datadir import DataDir
    from node.keyring import load
    from node.storage.database import Database

    db = Database(DataDir(root).database)
    try:
        return load(DataDir(root), db)
    finally:
        db.close()


def _federation(observatory: Observatory, node: Node, peer: Node) -> str:
    return f"""
[federation]
observatory_node_id = "{observatory.info['node_id']}"
observatory_identity_key = "{observatory.info['identity_key']}"
observatory_addrs = ["{observatory.addr}"]
listen_host = "127.0.0.1"
listen_port = {node.p2p_port}
organisation_name = "Organisation {node.name}"
country = "CD"
contact = "federation-{node.name}@example.org"
enrollment_poll_seconds = 1
membership_refresh_seconds = 2
push_check_seconds = 1

[[federation.peer_witnesses]]
node_id = "{peer.node_id}"
addrs = ["{peer.addr}"]
"""


async def staff(node: Node) -> aiohttp.ClientSession:
    session = aiohttp.ClientSession(base_url=node.process.url,
                                    cookie_jar=aiohttp.CookieJar(unsafe=True))
    token = csrf_of(await (await session.get("/staff/login")).text())
    r = await session.post("/staff/login", data={"csrf": token, "username": ADMIN,
                                                 "passphrase": ADMIN_PASSPHRASE},
                           allow_redirects=False)
    assert r.status == 303, await r.text()
    return session


async def report_and_sign(node: Node, text: str) -> int:
    """A report through the JSON API, then a checkpoint signed from the staff office."""
    async with aiohttp.ClientSession(base_url=node.process.url) as public:
        form = aiohttp.FormData()
        form.add_field("report", json.dumps({"narrative": text, "consent": {"legal": True}}),
                       content_type="application/json")
        r = await public.post("/api/v1/reports", data=form)
        assert r.status == 201, await r.text()
    session = await staff(node)
    try:
        token = csrf_of(await (await session.get("/staff/federation")).text())
        r = await session.post("/staff/evidence/checkpoint", data={"csrf": token},
                               allow_redirects=False)
        assert r.status == 303
    finally:
        await session.close()
    return int(node.query("SELECT max(size) FROM checkpoints")[0][0])


async def federation_page(node: Node) -> str:
    session = await staff(node)
    try:
        r = await session.get("/staff/federation")
        assert r.status == 200
        return await r.text()
    finally:
        await session.close()


@pytest.fixture
async def federation(tmp_path: Path) -> AsyncIterator[tuple[Observatory, list[Node]]]:
    observatory = Observatory(make_observatory(tmp_path / "observatory"),
                              tmp_path / "observatory.log")
    nodes: list[Node] = []
    for name in "abc":
        root = make_node(tmp_path / name).root
        nodes.append(Node(name, root, _keys(root),
                          NodeProcess(root, listen_port(), tmp_path / f"{name}.log")))
    try:
        observatory.start()
        for i, node in enumerate(nodes):
            # b witnesses a, c witnesses b, a witnesses c
            config = base_config() + _federation(observatory, node, nodes[(i + 1) % 3])
            (node.root / "node.toml").write_text(config, encoding="utf-8")
        start_together(node.process for node in nodes)
        yield observatory, nodes
    finally:
        for node in nodes:
            node.process.stop()
        observatory.stop()


async def test_observatory_and_three_nodes(federation: tuple[Observatory, list[Node]],
                                          tmp_path: Path) -> None:
    observatory, nodes = federation
    a, b, c = nodes
    obs_id = observatory.info["node_id"]

    # -- enrollment: each request waits for the admin, who approves it with the CLI --------
    def requests() -> str:
        return cli("-m", "observatory.cli", "requests", "--data", str(observatory.root)).stdout

    for node in nodes:
        await eventually(lambda n=node: n.membership() == "pending", f"{node.name} pending")
    assert all(node.node_id in requests() for node in nodes)
    for node in nodes:
        cli("-m", "observatory.cli", "approve", node.node_id, "--data", str(observatory.root))
    everyone = {n.node_id for n in nodes}
    for node in nodes:
        await eventually(lambda n=node: n.membership() == "approved", f"{node.name} approved")
        await eventually(lambda n=node: n.listed() == everyone, f"{node.name}'s full list")
    assert "Approved on" in await federation_page(a)

    # -- checkpoints witnessed by the observatory and a peer --------------------------------
    sizes = {}
    for node in nodes:
        sizes[node.name] = await report_and_sign(node, f"{CANARY} account of {node.name}")
    for node, peer in ((a, b), (b, c), (c, a)):
        await eventually(lambda n=node, p=peer: n.cosigners(sizes[n.name]) == {obs_id, p.node_id},
                         f"{node.name}'s checkpoint cosigned by the observatory and "
                         f"{peer.name}")
        async with aiohttp.ClientSession() as http:
            r = await http.get(f"{observatory.url}/api/v1/checkpoints/{node.node_id}",
                               params={"format": "json"})
            assert r.status == 200
            assert (await r.json())["size"] == sizes[node.name]

    # A court bundle of a's case, exported with the CLI, verified with both witness keys.
    [(case,)] = a.query("SELECT id FROM reports")
    bundle = tmp_path / "bundle.zip"
    env = {**os.environ, "BACKUP_PASSPHRASE": ADMIN_PASSPHRASE}
    subprocess.run([sys.executable, "-m", "node.cli", "export-bundle", "--data", str(a.root),
                    "--case", case, "--out", str(bundle)], cwd=ROOT, env=env, check=True,
                   capture_output=True, timeout=120)
    out = cli("-m", "backup_evidence.verify", "verify", str(bundle), "--public-key",
              a.keys.identity_public.raw().hex(), "--witness", observatory.info["witness_vkey"],
              "--witness", witness_vkey(b.keys), check=False)
    assert out.returncode == 0, out.stdout + out.stderr
    assert out.stdout.count("cosignature by") == 2

    # -- b killed, a's push to b queued, a killed while it waits, both back: once --------
    b.process.kill9()
    size2 = await report_and_sign(a, "while b is down")
    await eventually(lambda: obs_id in a.cosigners(size2), "the observatory cosigned meanwhile")

    def queued() -> list[tuple[Any, ...]]:
        return a.query("SELECT envelope_id, attempts, last_error FROM transport_outbox "
                       "WHERE recipient_node_id = ? AND status = 'pending' AND attempts > 0",
                       b.node_id)

    [(envelope_id, _, error)] = await eventually(queued, "a's push to b failing")
    assert error in ("dial_failed", "stream_failed", "timeout")
    page = await federation_page(a)
    assert 'id="outbox"' in page and b.node_id in page and error in page
    a.process.kill9()
    b.process.start()
    a.process.start()
    await eventually(lambda: b.node_id in a.cosigners(size2), "b cosigned after both restarts")
    assert a.query("SELECT status FROM transport_outbox WHERE envelope_id = ?",
                   envelope_id) == [("delivered",)]
    # b acted on that push once: one replay record, and its witness state moved once
    assert b.query("SELECT count(*) FROM transport_seen WHERE sender = ? AND kind = 'id' "
                   "AND value = ?", a.node_id, envelope_id) == [(1,)]
    assert b.query("SELECT size FROM federation_witnessed WHERE node_id = ?",
                   a.node_id) == [(size2,)]
    # nothing was given up, and every push to b was delivered exactly once
    assert not a.query("SELECT 1 FROM transport_outbox WHERE status = 'failed' AND "
                       "message_type LIKE 'checkpoint.push%'")
    pushes = {r[0] for r in a.query("SELECT envelope_id FROM transport_outbox WHERE "
                                    "recipient_node_id = ? AND message_type LIKE "
                                    "'checkpoint.push%'", b.node_id)}
    seen = {r[0] for r in b.query("SELECT value FROM transport_seen WHERE sender = ? AND "
                                  "kind = 'id'", a.node_id)}
    assert pushes == seen

    # -- a malicious node: c's key forks c's log ----------------------------------------
    await eventually(lambda: a.query("SELECT size FROM federation_witnessed WHERE node_id = ?",
                                      c.node_id), "a witnessed c's log")
    [(witnessed,)] = a.query("SELECT size FROM federation_witnessed WHERE node_id = ?",
                             c.node_id)
    c.process.kill9()
    identity = SigningKey((c.root / "keys" / "identity.key").read_bytes())
    forged = _forged_push(identity, c.node_id, witnessed)
    mallory = Libp2pHost(identity, HostConfig())
    await mallory.start()
    try:
        for target, key, addr in ((a.node_id, a.keys.identity_public.raw().hex(), a.addr),
                                  (obs_id, observatory.info["identity_key"], observatory.addr)):
            envelope = seal(forged, sender=c.node_id, recipient=target, signing_key=identity,
                            now=int(time.time()))
            answer = await mallory.request(peer_id_from_public_key(bytes.fromhex(key)), [addr],
                                           PROTOCOL_ID, envelope.to_frame(), 10)
            message = verify_frame(answer, local_node_id=c.node_id, now=int(time.time()),
                                   lookup_key=lambda _, k=key: verify_key_from_hex(k),
                                   is_replay=lambda *_: False).message
            assert isinstance(message, CosignatureResponse), message
            assert message.refusal == "inconsistent", message
    finally:
        await mallory.stop()
    alarms = a.query("SELECT kind, origin, first_note, second_note FROM federation_alarms")
    assert [(k, o) for k, o, _, _ in alarms] == [("peer_fork", evidence_origin(c.node_id))]
    assert alarms[0][3] == forged.checkpoint and alarms[0][2] != forged.checkpoint
    page = await federation_page(a)
    assert 'id="fork-alarms"' in page and evidence_origin(c.node_id) in page

    # Raw data never left its node: no canary in the observatory's or a peer's files.
    for root in (observatory.root, b.root, c.root):
        for path in root.rglob("*"):
            if path.is_file():
                assert f"{CANARY} account of a".encode() not in path.read_bytes(), path


def _forged_push(identity: SigningKey, node_id: str, size: int) -> CheckpointPush:
    """A checkpoint of `node_id`'s log at an already witnessed size, with another root."""
    origin = evidence_origin(node_id)
    tree = merkle.MemoryTree(f"forged {i}".encode() for i in range(size))
    note = sign_checkpoint(Checkpoint(origin, size, merkle.root_hash(tree)),
                           NoteSigner(origin, identity)).encode().decode()
    SignedNote.parse(note.encode())
    return CheckpointPush(checkpoint=note, old_size=size)
