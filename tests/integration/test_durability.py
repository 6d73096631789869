"""A report acknowledged to a reporter survives `kill -9` of the server right after the
201, and nothing in the node's log gives away a reporter (no address, no content)."""

from __future__ import annotations

import json
import urllib.request

import pytest

from tests.conftest import ADMIN, ADMIN_PASSPHRASE, CANARY, NodeProcess, files_containing

pytestmark = pytest.mark.slow


def post_json(url: str, body: dict[str, object]) -> tuple[int, dict[str, object]]:
    req = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                 headers={"Content-Type": "application/json",
                                          "User-Agent": f"agent-{CANARY}"})
    with urllib.request.urlopen(req, timeout=30) as r:  # noqa: S310 -- loopback only
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
    from node.datadir import DataDir
    from node.web.context import open_node

    ctx = open_node(DataDir(node_process.datadir))
    try:
        key = accounts.unlock(ctx.db.read(), ADMIN, ADMIN_PASSPHRASE).intake_key
        assert key is not None
        texts = sorted(v.record["narrative"] for v in ctx.intake.list_reports(key))
        assert texts == [f"{CANARY} durable {i}" for i in range(3)]
    finally:
        ctx.close()
    assert files_containing(node_process.datadir, CANARY.encode()) == []
    log = node_process.log_path.read_text()
    assert CANARY not in log  # neither content nor user agent
    assert "127.0.0.1" not in log.replace("http://127.0.0.1", "")  # only the printed URLs
