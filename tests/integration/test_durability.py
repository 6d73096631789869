"""A report acknowledged to a reporter survives `kill -9` of the server right after the
201, and nothing in the node's log gives away a reporter (no address, no content)."""

from __future__ import annotations

import json
import urllib.request

import pytest

from tests import intake_views
from tests.conftest import ADMIN, ADMIN_PASSPHRASE, CANARY, NodeProcess, files_containing

pytestmark = pytest.mark.slow


def post_json(url: str, body: dict[str, object]) -> tuple[int, dict[str, object]]:
    req = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                 headers={"Content-Type": "application/json",
                                          "User-Agent": f"agent-{CANARY}"})
    with urllib.request.urlopen(req, timeout=30) as r:
        return r.status, json.loads(r.read())


def test_kill9_right_after_201_loses_nothing(node_process: NodeProcess) -> None:
    receipts = []
    for i in range(3):
        status, body = post_json(node_process.url + "/api/v1/reports",
                                 {"narrative": f"{CANARY} durable {i}"})
        assert status == 201
        receipts.append(body)
    node_process.kill9()  # no shutdown, no checkpoint, no flush

    node_process.start()
    for body in receipts:
        status, view = post_json(node_process.url + "/api/v1/reports/status",
                                 {"receipt": body["receipt"], "secret": body["secret"]})
        assert status == 200 and view["status"] == "new"
    node_process.stop()

    # staff read the canaries back after the crash
    from node import accounts
    from node.context import open_node
    from node.datadir import DataDir

    ctx = open_node(DataDir(node_process.datadir))
    try:
        key = accounts.unlock(ctx.db.read(), ADMIN, ADMIN_PASSPHRASE).intake_key
        assert key is not None
        texts = sorted(v.record["narrative"] for v in intake_views.list_reports(ctx, key))
        assert texts == [f"{CANARY} durable {i}" for i in range(3)]
    finally:
        ctx.close()
    assert files_containing(node_process.datadir, CANARY.encode()) == []
    log = node_process.log_path.read_text()
    assert CANARY not in log  # neither content nor user agent
    assert "127.0.0.1" not in log.replace("http://127.0.0.1", "")  # only the printed URLs


def test_verify_audit_cli_names_the_broken_link(node_process: NodeProcess) -> None:
    import sqlite3
    import subprocess
    import sys

    from tests.conftest import ROOT

    status, _ = post_json(node_process.url + "/api/v1/reports", {"narrative": "x"})
    assert status == 201
    node_process.stop()
    # a few audited actions through the service, then verify from the CLI
    from node import accounts as acc
    from node.context import open_node
    from node.datadir import DataDir

    ctx = open_node(DataDir(node_process.datadir))
    try:
        coordinator = acc.unlock(ctx.db.read(), ADMIN, ADMIN_PASSPHRASE)
        for entry in ctx.cases.queue(coordinator):
            ctx.cases.read(coordinator, entry.view.id)
            ctx.timeline.set_status(coordinator, entry.view.id, "in_triage")
    finally:
        ctx.close()
    cmd = [sys.executable, "-m", "node.cli", "verify-audit", "--data", str(node_process.datadir)]
    ok = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert ok.returncode == 0 and "verifies" in ok.stdout
    with sqlite3.connect(node_process.datadir / "node.db") as conn:
        conn.execute("UPDATE audit_log SET detail = 'rewritten' WHERE seq = 1")
    bad = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert bad.returncode == 3 and "entry 1" in bad.stderr
