"""A node's statistics release travels to the observatory and is published (issue 6):
separate `backup-node serve` and `backup-observatory serve` processes on 127.0.0.1. The
coordinator drafts and approves the release on the staff pages; the node marks it sent when
the observatory acknowledges; `/api/v1/statistics` then carries the node's noisy counts.
Nothing but DP outputs crosses: the node's narratives never appear at the observatory."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from crypto.keys import DataKey
from node import accounts
from node.backoffice.incidents import IncidentCoding
from node.context import open_node
from node.datadir import DataDir
from node.evidence import succession
from node.intake.models import Consent, ReportInput
from tests.conftest import (
    ADMIN,
    ADMIN_PASSPHRASE,
    CANARY,
    NodeProcess,
    free_port,
    make_node,
    start_together,
)
from tests.conftest import test_config as base_config
from tests.integration.conftest import csrf_of
from tests.integration.test_federation_network import (
    Node,
    Observatory,
    _federation,
    _keys,
    cli,
    eventually,
    staff,
)
from tests.unit.observatory.support import make_observatory

pytestmark = pytest.mark.slow


ONE_ANALYST = "\n[statistics_approval]\nfour_eyes = false\n"


def code_incidents(root: Path, n: int) -> None:
    """Reports with statistics consent, coded, written while the node serves (WAL)."""
    ctx = open_node(DataDir(root))
    try:
        coordinator = accounts.unlock(ctx.db.read(), ADMIN, ADMIN_PASSPHRASE)
        for i in range(n):
            r = ctx.intake.submit(ReportInput(narrative=f"{CANARY} story {i}",
                                              consent=Consent(statistics=True)),
                                  DataKey.generate(), [], "test")
            ctx.incidents.code(coordinator, r.report_id, IncidentCoding(
                category="rape", region="R1", perpetrator_affiliation="militia",
                date_from=date(2025, 1 + i % 6, 10)))
    finally:
        ctx.close()


async def test_release_reaches_the_observatory(tmp_path: Path) -> None:
    observatory = Observatory(make_observatory(tmp_path / "observatory"),
                              tmp_path / "observatory.log")
    roots = [make_node(tmp_path / name).root for name in "ab"]
    nodes = [Node(name, root, _keys(root), NodeProcess(root, free_port(), tmp_path / f"{name}.log"))
             for name, root in zip("ab", roots, strict=True)]
    a, b = nodes
    try:
        observatory.start()
        # one person drafts and approves here: a node with a single analyst turns four
        # eyes off (issue 15); the pages test the second person
        for node, peer in ((a, b), (b, a)):
            (node.root / "node.toml").write_text(base_config() + ONE_ANALYST + _federation(
                observatory, node, peer))
        code_incidents(a.root, 12)
        start_together(node.process for node in nodes)
        for node in nodes:
            await eventually(lambda n=node: n.membership() == "pending", "pending")
            cli("-m", "observatory.cli", "approve", node.node_id, "--data",
                str(observatory.root))
        await eventually(lambda: a.membership() == "approved", "a approved")

        session = await staff(a)
        try:
            page = await (await session.get("/staff/statistics")).text()
            assert "not federated" not in page
            r = await session.post("/staff/statistics/draft",
                                   data={"csrf": csrf_of(page), "year": "2025"},
                                   allow_redirects=False)
            assert r.status == 303, await r.text()
            review = r.headers["Location"]
            page = await (await session.get(review)).text()
            r = await session.post(review + "/approve", data={"csrf": csrf_of(page)},
                                   allow_redirects=False)
            assert r.status == 303
        finally:
            await session.close()

        await eventually(lambda: a.query("SELECT status FROM statistics_releases")
                         == [("sent",)], "the release acknowledged by the observatory")
        async with aiohttp.ClientSession() as http:
            r = await http.get(f"{observatory.url}/api/v1/statistics")
            assert r.status == 200
            text = await r.text()
        data: Any = json.loads(text)
        assert CANARY not in text and "story" not in text
        assert a.node_id in text  # the node's privacy loss is published with the estimates
        assert data
    finally:
        for node in nodes:
            node.process.stop()
        observatory.stop()


async def test_a_node_held_after_a_restore_sends_no_release(tmp_path: Path) -> None:
    """Issue 21: a node restored from a backup older than what its witnesses cosigned
    (`node_meta.evidence_hold` halted, as `restore` and the witnesses' answers leave it)
    stops federating: its coordinator's approval is refused with the reason, the release
    stays a draft, and nothing reaches the observatory."""
    observatory = Observatory(make_observatory(tmp_path / "observatory"),
                              tmp_path / "observatory.log")
    roots = [make_node(tmp_path / name).root for name in "ab"]
    nodes = [Node(name, root, _keys(root), NodeProcess(root, free_port(), tmp_path / f"{name}.log"))
             for name, root in zip("ab", roots, strict=True)]
    a, b = nodes
    try:
        observatory.start()
        for node, peer in ((a, b), (b, a)):
            (node.root / "node.toml").write_text(base_config() + ONE_ANALYST + _federation(
                observatory, node, peer))
        code_incidents(a.root, 12)
        ctx = open_node(DataDir(a.root))
        try:
            with ctx.db.write() as conn:
                succession.set_hold(conn, succession.Hold(state="halted", since=0))
        finally:
            ctx.close()
        start_together(node.process for node in nodes)
        for node in nodes:
            await eventually(lambda n=node: n.membership() == "pending", "pending")
            cli("-m", "observatory.cli", "approve", node.node_id, "--data",
                str(observatory.root))
        await eventually(lambda: a.membership() == "approved", "a approved")

        session = await staff(a)
        try:
            page = await (await session.get("/staff/statistics")).text()
            r = await session.post("/staff/statistics/draft",
                                   data={"csrf": csrf_of(page), "year": "2025"},
                                   allow_redirects=False)
            assert r.status == 303, await r.text()
            review = r.headers["Location"]
            page = await (await session.get(review)).text()
            r = await session.post(review + "/approve", data={"csrf": csrf_of(page)},
                                   allow_redirects=False)
            assert r.status == 409
            assert "restored from a backup" in await r.text()
        finally:
            await session.close()
        assert a.query("SELECT status FROM statistics_releases") == [("draft",)]
        assert a.query("SELECT COUNT(*) FROM statistics_deliveries") == [(0,)]
        async with aiohttp.ClientSession() as http:
            r = await http.get(f"{observatory.url}/api/v1/statistics")
            assert a.node_id not in await r.text()
    finally:
        for node in nodes:
            node.process.stop()
        observatory.stop()
