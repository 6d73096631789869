"""Receipt numbers from a seized database (issue 11, finding 8): the index used to be an
unkeyed hash over 10^9 values, so hashing every candidate number found each report's. It is
now keyed with a key kept in its own file, never in the database."""

from __future__ import annotations

import json
import shutil
import sqlite3
import stat
from pathlib import Path

import aiohttp
import pytest

from crypto import passphrase as pw
from crypto import receipt
from node.context import NodeContext, open_node
from node.datadir import DataDir
from node.server import running
from tests.integration.test_schema10_fixture import REGION_MAPPING, map_regions

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "before_issue11" / "node"


def _indexes(database: Path) -> set[bytes]:
    conn = sqlite3.connect(database)
    try:
        return {bytes(r[0]) for r in conn.execute("SELECT receipt_index FROM reports")}
    finally:
        conn.close()


async def test_a_seized_database_does_not_give_receipts_back(node_ctx: NodeContext) -> None:
    async with running(node_ctx) as node, aiohttp.ClientSession() as session:
        async with session.post(node.urls["api"] + "/api/v1/reports",
                                json={"narrative": "what happened"}) as r:
            assert r.status == 201
            code = (await r.json())["receipt"]
    datadir = node_ctx.datadir
    seized = _indexes(datadir.database)
    assert len(seized) == 1
    # The attacker's search, at its best: the right candidate number, hashed as before.
    assert receipt.receipt_index(code) not in seized
    # The key is in its own private file, and nowhere in the database.
    key = datadir.receipt_index_key.read_bytes()
    assert stat.S_IMODE(datadir.receipt_index_key.stat().st_mode) == 0o600
    for path in datadir.root.glob("node.db*"):
        assert key not in path.read_bytes()


def _copy_fixture(tmp_path: Path) -> tuple[DataDir, dict[str, str]]:
    root = tmp_path / "node"
    shutil.copytree(FIXTURE, root, ignore=shutil.ignore_patterns("answers.json"))
    map_regions(root / "node.toml", REGION_MAPPING)  # the operator's upgrade (issue 14)
    (root / "blobs").mkdir(exist_ok=True)
    (root / "keys" / "identity.key").chmod(0o600)
    answers = json.loads((FIXTURE / "answers.json").read_text(encoding="utf-8"))
    return DataDir(root), answers


def _open(datadir: DataDir) -> NodeContext:
    return open_node(datadir, staff_params=pw.INSECURE_FAST_FOR_TESTS,
                     receipt_params=pw.INSECURE_FAST_FOR_TESTS)


async def test_receipts_of_the_schema_before_issue_11_still_open(tmp_path: Path) -> None:
    datadir, answers = _copy_fixture(tmp_path)
    before = _indexes(datadir.database)
    assert receipt.receipt_index(answers["receipt"]) in before  # the fixture is unkeyed
    assert not datadir.receipt_index_key.exists()
    ctx = _open(datadir)
    try:
        after = _indexes(datadir.database)
        assert receipt.receipt_index(answers["receipt"]) not in after
        assert stat.S_IMODE(datadir.receipt_index_key.stat().st_mode) == 0o600
        async with running(ctx) as node, aiohttp.ClientSession() as session:
            async with session.post(node.urls["api"] + "/api/v1/reports/status",
                                    json={"receipt": answers["receipt"],
                                          "secret": answers["secret"]}) as r:
                assert r.status == 200, await r.text()
    finally:
        ctx.close()
    # nothing of the unkeyed index is left in the file's free pages
    for path in datadir.root.glob("node.db*"):
        assert receipt.receipt_index(answers["receipt"]) not in path.read_bytes()
    # opened again: keyed once, not twice
    ctx = _open(datadir)
    try:
        assert ctx.intake.open_receipt(answers["receipt"], answers["secret"])
    finally:
        ctx.close()


def test_a_node_without_its_receipt_index_key_refuses_to_start(node_dir: DataDir) -> None:
    node_dir.receipt_index_key.unlink()
    with pytest.raises(RuntimeError, match=r"receipt-index\.key is missing"):
        _open(node_dir)


def test_a_node_with_another_receipt_index_key_refuses_to_start(node_dir: DataDir) -> None:
    node_dir.receipt_index_key.write_bytes(bytes(32))
    with pytest.raises(RuntimeError, match="does not match"):
        _open(node_dir)
