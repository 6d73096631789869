"""Perpetrator matching across processes (issue 18): a real `backup-observatory serve`, a real
`backup-evaluator serve` (another operator's service, its own data directory and keys) and
three `backup-node serve` processes on 127.0.0.1.

The observatory's admin records the evaluator's identity and epoch key (published in the
signed membership list); each node's coordinator confirms a perpetrator on a consented case
through the staff page; the nodes evaluate through the evaluator (proofs checked against the
published key), submit tokens, and fetch their notices on their federation round. Two nodes
hold the same invented commander in Latin and in Arabic script and each gets a notice, shown
to its coordinator; the third, holding another man, gets none. Both coordinators agree to be
introduced: each node opens the same coordinator thread, and a message crosses. No spelling
appears in any file of the observatory's or the evaluator's data directories. Then the admin
publishes a wrong key for a new epoch: the node's re-evaluation for it is rejected through the
real path (the proof does not verify), and nothing of it is kept. Every wait is bounded.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import os
import re
import sqlite3
import subprocess
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest

from crypto.oprf import Evaluator
from observatory.evaluator_cli import main as evaluator_cli
from tests.conftest import ROOT, NodeProcess, files_containing, make_node
from tests.conftest import test_config as base_config
from tests.integration.conftest import csrf_of
from tests.integration.test_federation_double import listen_port
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

# Invented: the same commander in two scripts (the name normaliser maps them together), and
# another man. Canaries in the observatory's and the evaluator's data directories.
LATIN = ("Mahmoud Abdelrahman", "Jaysh al-Nasr")
ARABIC = ("محمود عبد الرحمن", "جيش النصر")
OTHER = ("Faustin Bizimungu-Kalehe", "Mai-Mai Kifuafua")
SPELLINGS = ("Mahmoud", "Abdelrahman", "محمود", "الرحمن", "Jaysh", "Faustin", "Kifuafua")


def _field(text: str, name: str) -> str:
    found = re.search(rf"^{name}: (\S+)$", text, re.M)
    assert found is not None, text
    return found.group(1)


async def _report(node: Node) -> str:
    async with aiohttp.ClientSession(base_url=node.process.url) as public:
        form = aiohttp.FormData()
        form.add_field("report", json.dumps({"narrative": "what happened", "consent": {
            "care": True, "matching": True}}), content_type="application/json")
        r = await public.post("/api/v1/reports", data=form)
        assert r.status == 201, await r.text()
    return str(node.query("SELECT id FROM reports ORDER BY rowid DESC LIMIT 1")[0][0])


async def _confirm(node: Node, report_id: str, name: str, group: str) -> None:
    session = await staff(node)  # the admin is a coordinator
    try:
        path = f"/staff/cases/{report_id}/perpetrators"
        page = await (await session.get(path)).text()
        r = await session.post(path, data={"csrf": csrf_of(page), "names": name,
                                           "group": group, "unit": "", "rank": ""})
        assert r.status == 200 and "The identifiers were confirmed." in await r.text()
    finally:
        await session.close()


async def _case_page(node: Node, report_id: str) -> str:
    session = await staff(node)
    try:
        return await (await session.get(f"/staff/cases/{report_id}/perpetrators")).text()
    finally:
        await session.close()


async def _introduce(node: Node, report_id: str) -> None:
    session = await staff(node)
    try:
        page = await (await session.get(f"/staff/cases/{report_id}/perpetrators")).text()
        found = re.search(r'action="(/staff/cases/[0-9a-f]+/perpetrators/matches/[0-9a-f]+'
                          r'/introduce)"', page)
        assert found is not None, page
        r = await session.post(found.group(1), data={"csrf": csrf_of(page)})
        assert r.status == 200 and "Your agreement was sent." in await r.text()
    finally:
        await session.close()


@dataclass
class MatchingFederation:
    observatory: Observatory
    nodes: list[Node]
    evaluator_data: Path
    evaluator_log: Path
    evaluator: subprocess.Popen[bytes] | None = None


@contextlib.asynccontextmanager
async def matching_federation(tmp_path: Path, names: str = "abc"
                              ) -> AsyncIterator[MatchingFederation]:
    """The observatory, the evaluator (its identity and epoch 1 published by the admin) and
    one node per name, approved, each holding the list that publishes the evaluator (also
    used by bench/bench_matching.py)."""
    observatory = Observatory(make_observatory(tmp_path / "observatory"),
                              tmp_path / "observatory.log")
    nodes: list[Node] = []
    for name in names:
        root = make_node(tmp_path / name).root
        nodes.append(Node(name, root, _keys(root),
                          NodeProcess(root, listen_port(), tmp_path / f"{name}.log")))
    world = MatchingFederation(observatory, nodes, tmp_path / "evaluator",
                               tmp_path / "evaluator.log")
    data = world.evaluator_data
    evaluator_port = listen_port()
    shown = io.StringIO()
    with contextlib.redirect_stdout(shown):
        assert evaluator_cli(["init", "--data", str(data), "--port", str(evaluator_port)]) == 0
    for node in nodes:
        assert evaluator_cli(["add-member", "--data", str(data), node.node_id,
                              node.keys.identity_public.raw().hex()]) == 0
    try:
        observatory.start()
        cli("-m", "observatory.cli", "evaluator-set", _field(shown.getvalue(), "node id"),
            _field(shown.getvalue(), "identity key"), "--data", str(observatory.root))
        cli("-m", "observatory.cli", "evaluator-epoch", "1",
            _field(shown.getvalue(), "epoch 1 oprf key"), "--data", str(observatory.root))
        with world.evaluator_log.open("ab") as out:
            world.evaluator = subprocess.Popen(
                [sys.executable, "-m", "observatory.evaluator_cli", "serve", "--data",
                 str(data)], stdout=out, stderr=subprocess.STDOUT, cwd=ROOT, env={**os.environ})
        for i, node in enumerate(nodes):
            (node.root / "node.toml").write_text(
                base_config() + _federation(observatory, node, nodes[(i + 1) % len(nodes)]
                                            ).replace(
                    "push_check_seconds = 1\n", "push_check_seconds = 1\nevaluator_addrs = "
                    f'["/ip4/127.0.0.1/tcp/{evaluator_port}"]\n'),
                encoding="utf-8")
            node.process.start(timeout=120)  # a loaded machine starts slowly
        for node in nodes:
            await eventually(lambda n=node: n.membership() == "pending", f"{node.name} pending")
            cli("-m", "observatory.cli", "approve", node.node_id, "--data",
                str(observatory.root))
        for node in nodes:
            await eventually(lambda n=node: b"evaluator" in (n.query(
                "SELECT list FROM federation_membership_list") or [("",)])[0][0].encode(),
                f"{node.name}: the list publishing the evaluator")
        yield world
    finally:
        for node in nodes:
            node.process.stop()
        if world.evaluator is not None:
            world.evaluator.terminate()
            world.evaluator.wait(20)
        observatory.stop()


async def test_a_match_across_scripts_reaches_two_nodes_and_not_the_third(
        tmp_path: Path) -> None:
    async with matching_federation(tmp_path) as world:
        observatory, nodes, data = world.observatory, world.nodes, world.evaluator_data
        a, b, c = nodes

        cases = {}
        for node, (name, group) in zip(nodes, (LATIN, ARABIC, OTHER), strict=True):
            cases[node.name] = await _report(node)
            await _confirm(node, cases[node.name], name, group)

        for node in (a, b):
            await eventually(lambda n=node: n.query("SELECT others FROM matching_matches"
                                                    " WHERE report_id = ?", cases[n.name]),
                             f"{node.name}: the match notice")
            assert node.query("SELECT others FROM matching_matches") == [(1,)]
            page = await _case_page(node, cases[node.name])
            assert "This case matched a case at 1 other organisation(s)." in page
        # c's tokens reached the observatory (acknowledged), which matched them with none
        await eventually(lambda: c.query("SELECT count(*) FROM matching_tokens WHERE"
                                         " submitted_at IS NOT NULL")[0][0] > 0,
                         "c's tokens submitted")
        conn = sqlite3.connect(f"file:{observatory.root / 'observatory.db'}?mode=ro", uri=True,
                               timeout=10)
        try:
            held = dict(conn.execute("SELECT member, count(*) FROM matching_notices"
                                     " GROUP BY member").fetchall())
        finally:
            conn.close()
        assert set(held) == {a.node_id, b.node_id}
        assert c.query("SELECT * FROM matching_matches") == []
        assert "matched a case at" not in await _case_page(c, cases["c"])

        # Both coordinators agree to be introduced (the match page's button); each node
        # fetches its introduction on its round and opens the same coordinator thread on the
        # matched case; a's coordinator writes, b's node keeps it (a knows b's address).
        for node in (a, b):
            await _introduce(node, cases[node.name])
        for node in (a, b):
            await eventually(lambda n=node: n.query(
                "SELECT thread_id FROM expert_threads WHERE kind = 'coordinators' AND"
                " report_id = ?", cases[n.name]), f"{node.name}: the introduction's thread")
        (thread,) = a.query("SELECT thread_id FROM expert_threads")[0]
        assert b.query("SELECT thread_id FROM expert_threads") == [(thread,)]
        assert f"/staff/threads/{thread}" in await _case_page(a, cases["a"])
        session = await staff(a)
        try:
            page = await (await session.get(f"/staff/threads/{thread}")).text()
            r = await session.post(f"/staff/threads/{thread}", data={
                "csrf": csrf_of(page), "text": "We hold a matching case."})
            assert r.status == 200, await r.text()
        finally:
            await session.close()
        await eventually(lambda: b.query("SELECT count(*) FROM expert_thread_messages WHERE"
                                         " thread_id = ? AND read_at IS NULL",
                                         thread)[0][0] == 1, "b: a's message")

        for text in SPELLINGS:
            for root in (observatory.root, data):
                assert files_containing(root, text.encode()) == [], text

        # A wrong key published for a new epoch (the evaluator's real epoch 2 is another):
        # the node's re-evaluation for epoch 2 is rejected, and nothing of it is kept.
        assert evaluator_cli(["rotate", "--data", str(data)]) == 0
        wrong = Evaluator(Evaluator.new_seed(), b"not the evaluator's").public_key().hex()
        cli("-m", "observatory.cli", "evaluator-epoch", "2", wrong, "--data",
            str(observatory.root))
        await eventually(lambda: wrong.encode() in a.query(
            "SELECT list FROM federation_membership_list")[0][0].encode(), "the epoch-2 list")

        async def rejected() -> bool:
            await (await staff(a)).close()  # a coordinator signs in: the key is here again
            await asyncio.sleep(1)
            return bool(a.query("SELECT 1 FROM transport_outbox WHERE message_type ="
                                " 'matching.evaluate v1' AND last_error = 'bad_proof'"))

        for _ in range(30):
            if await rejected():
                break
        else:
            raise AssertionError("the evaluation under a wrong published key was not rejected")
        assert a.query("SELECT count(*) FROM matching_tokens WHERE epoch = 2") == [(0,)]
