"""A restored node and its witnesses, as separate processes on 127.0.0.1 (issue 21): a real
`backup-observatory serve` and two `backup-node serve` processes that witness each other.

* a backs up, makes more reports, and the observatory and b cosign them; a is restored from
  the older backup: it asks its witnesses what they cosigned, finds a larger tree, and
  halts (reports still accepted, nothing signed, nothing pushed; ``/healthz`` says so). No
  fork alarm anywhere. `backup-node evidence-successor` signs a successor statement; both
  witnesses record it and cosign the new origin; still no fork alarm. A court bundle of a
  case in the new log verifies, following the statement;
* b is restored from its latest backup (nothing newer cosigned): it asks, and signs on
  under its first origin as before.

Every wait is bounded.
"""

from __future__ import annotations

import os
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from backup_evidence.succession import SuccessionError, open_statement
from crypto import passphrase as pw
from node.context import init_node
from node.federation.info import witness_vkey
from tests.conftest import ADMIN, ADMIN_PASSPHRASE, ROOT, NodeProcess, start_together
from tests.conftest import test_config as base_config
from tests.integration.test_federation_double import listen_port
from tests.integration.test_federation_network import (
    Node,
    Observatory,
    _federation,
    _keys,
    cli,
    eventually,
    report_and_sign,
)
from tests.unit.observatory.support import make_observatory

pytestmark = pytest.mark.slow


def _hold(node: Node) -> str | None:
    rows = node.query("SELECT value FROM node_meta WHERE key = 'evidence_hold'")
    if not rows:
        return None
    import json

    return str(json.loads(bytes(rows[0][0]))["state"])


def _healthz(node: Node) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(node.process.url + "/healthz", timeout=5) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def _backup(node: Node, out: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "node.cli", "backup", "--data", str(node.root),
                           "--out", str(out)], cwd=ROOT, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr


def _restore(archive: Path, into: Path, recovery: str) -> None:
    env = {**os.environ, "BACKUP_RECOVERY_KEY": recovery}
    done = subprocess.run([sys.executable, "-m", "node.cli", "restore", "--from", str(archive),
                           "--data", str(into)], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr


def _fork_alarms(observatory: Observatory, *nodes: Node) -> int:
    import sqlite3

    conn = sqlite3.connect(f"file:{observatory.root / 'observatory.db'}?mode=ro", uri=True,
                           timeout=10)
    try:
        count = int(conn.execute("SELECT count(*) FROM fork_alarms").fetchone()[0])
    finally:
        conn.close()
    for node in nodes:
        count += int(node.query("SELECT count(*) FROM federation_alarms")[0][0])
    return count


def _observatory_rows(observatory: Observatory, sql: str, *params: Any) -> list[Any]:
    import sqlite3

    conn = sqlite3.connect(f"file:{observatory.root / 'observatory.db'}?mode=ro", uri=True,
                           timeout=10)
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


@pytest.fixture
async def pair(tmp_path: Path) -> AsyncIterator[tuple[Observatory, list[Node], list[str]]]:
    observatory = Observatory(make_observatory(tmp_path / "observatory"),
                              tmp_path / "observatory.log")
    nodes: list[Node] = []
    recoveries = []
    for name in "ab":
        root = tmp_path / name
        from node.datadir import DataDir

        made = init_node(DataDir(root), ADMIN, ADMIN_PASSPHRASE, base_config(),
                         pw.INSECURE_FAST_FOR_TESTS)
        recoveries.append(made.recovery_key)
        nodes.append(Node(name, root, _keys(root),
                          NodeProcess(root, listen_port(), tmp_path / f"{name}.log")))
    try:
        observatory.start()
        for i, node in enumerate(nodes):
            config = base_config() + _federation(observatory, node, nodes[1 - i])
            (node.root / "node.toml").write_text(config, encoding="utf-8")
        start_together(node.process for node in nodes)
        yield observatory, nodes, recoveries
    finally:
        for node in nodes:
            node.process.stop()
        observatory.stop()


def _restored(node: Node, root: Path, log: Path) -> Node:
    """The same node (same keys, same p2p port) served from a restored directory."""
    return Node(node.name, root, _keys(root), NodeProcess(root, listen_port(), log),
                p2p_port=node.p2p_port)


async def test_an_older_restore_halts_then_continues_as_a_successor_log(
        pair: tuple[Observatory, list[Node], list[str]], tmp_path: Path) -> None:
    observatory, nodes, (recovery_a, recovery_b) = pair
    a, b = nodes
    obs_id = observatory.info["node_id"]
    for node in nodes:
        await eventually(lambda n=node: n.membership() == "pending", f"{node.name} pending")
        cli("-m", "observatory.cli", "approve", node.node_id, "--data", str(observatory.root))
    for node in nodes:
        await eventually(lambda n=node: n.listed() == {a.node_id, b.node_id},
                         f"{node.name}'s full list")

    # -- a: cosigned, backed up, then more reports cosigned ------------------------------
    size1 = await report_and_sign(a, "before the backup")
    await eventually(lambda: a.cosigners(size1) == {obs_id, b.node_id}, "size1 cosigned")
    archive = tmp_path / "a-old.bkp"
    _backup(a, archive)
    size2 = await report_and_sign(a, "after the backup")
    await eventually(lambda: a.cosigners(size2) == {obs_id, b.node_id}, "size2 cosigned")
    assert size2 > size1

    # -- a restored from the older backup: it asks, and halts ------------------------------
    a.process.stop()
    _restore(archive, tmp_path / "a2", recovery_a)
    a2 = _restored(a, tmp_path / "a2", tmp_path / "a2.log")
    assert _hold(a2) == "check"  # set by the restore, before the node ever serves
    a2.process.start()
    nodes[0] = a2  # stopped by the fixture
    await eventually(lambda: _hold(a2) == "halted", "a2 halted by a larger cosigned tree")
    assert _healthz(a2) == (503, "evidence-halted\n")
    # reports are still accepted, and nothing is signed: no tree that conflicts
    before = {r[0] for r in a2.query("SELECT id FROM reports")}
    await report_and_sign(a2, "after the restore")
    (case,) = {r[0] for r in a2.query("SELECT id FROM reports")} - before
    assert a2.query("SELECT max(size) FROM checkpoints") == [(size1,)]
    assert a2.query("SELECT count(*) FROM reports")[0][0] == 2  # the lost one is gone
    assert _fork_alarms(observatory, a2, b) == 0
    # the witnesses still hold what they cosigned
    assert b.query("SELECT size FROM federation_witnessed WHERE node_id = ?",
                   a.node_id) == [(size2,)]

    # -- the documented procedure: a successor log ------------------------------------------
    done = subprocess.run([sys.executable, "-m", "node.cli", "evidence-successor", "--data",
                           str(a2.root)], cwd=ROOT, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    new_origin = f"backup.node/{a.node_id}/evidence/2"
    assert new_origin in done.stdout
    assert _hold(a2) is None
    [(size3,)] = a2.query("SELECT max(size) FROM checkpoints")
    assert size3 > size1
    await eventually(lambda: a2.cosigners(size3) == {obs_id, b.node_id},
                     "the successor log cosigned by the observatory and b")
    assert _observatory_rows(observatory, "SELECT old_size, new_origin FROM log_successions "
                             "WHERE node_id = ?", a.node_id) == [(size2, new_origin)]
    assert b.query("SELECT old_size, new_origin FROM log_successions WHERE node_id = ?",
                   a.node_id) == [(size2, new_origin)]
    # signed as a's checkpoints are, by its checkpoint role key (issue 13), not its identity
    [(statement,)] = b.query("SELECT statement FROM log_successions WHERE node_id = ?",
                             a.node_id)
    assert open_statement(statement, a2.keys.checkpoint_key.verify_key).new_origin == new_origin
    with pytest.raises(SuccessionError):
        open_statement(statement, a2.keys.identity_public)
    assert _fork_alarms(observatory, a2, b) == 0
    assert _healthz(a2) == (200, "ok\n")
    # the old log's checkpoints stay as they were at the witnesses
    assert b.query("SELECT size FROM federation_witnessed WHERE origin = ?",
                   f"backup.node/{a.node_id}/evidence") == [(size2,)]

    # A court bundle of the case reported after the restore, in the new log: the verifier
    # follows the successor statement.
    bundle = tmp_path / "bundle.zip"
    env = {**os.environ, "BACKUP_PASSPHRASE": ADMIN_PASSPHRASE}
    made = subprocess.run([sys.executable, "-m", "node.cli", "export-bundle", "--data",
                           str(a2.root), "--case", case, "--out", str(bundle)], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=120)
    assert made.returncode == 0, made.stdout + made.stderr
    out = cli("-m", "backup_evidence.verify", "verify", str(bundle), "--public-key",
              a.keys.identity_public.raw().hex(), "--witness", observatory.info["witness_vkey"],
              "--witness", witness_vkey(b.keys), check=False)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "log succession" in out.stdout and new_origin in out.stdout

    # -- b restored from its latest backup: nothing newer was cosigned, it signs on --------
    size_b = await report_and_sign(b, "b's account")
    await eventually(lambda: b.cosigners(size_b) == {obs_id, a.node_id}, "b cosigned")
    latest = tmp_path / "b-latest.bkp"
    _backup(b, latest)
    b.process.stop()
    _restore(latest, tmp_path / "b2", recovery_b)
    b2 = _restored(b, tmp_path / "b2", tmp_path / "b2.log")
    assert _hold(b2) == "check"
    b2.process.start()
    nodes[1] = b2
    await eventually(lambda: _hold(b2) is None, "b2 heard every witness and signs on")
    size_b2 = await report_and_sign(b2, "b's next account")
    await eventually(lambda: b2.cosigners(size_b2) == {obs_id, a.node_id},
                     "b2's next checkpoint cosigned under its first origin")
    assert b2.query("SELECT count(*) FROM log_successions") == [(1,)]  # a's, witnessed
    assert _fork_alarms(observatory, a2, b2) == 0
