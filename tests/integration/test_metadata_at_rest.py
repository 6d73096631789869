"""What a seized node reveals (issue 11, findings 6 and 7), against a real server: a staff
deletion's reason is a code of a closed list, the coordinator's own words sealed and out of
the chain of custody; the reporter's replies, and the times they read staff's messages, are
kept to the hour, in the tables and in the chain, and the conversation keeps its order.
Also the migration of a node from before issue 11 (`tests/fixtures/before_issue11/`)."""

from __future__ import annotations

import json
import shutil
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import aiohttp

from crypto import passphrase as pw
from node import accounts
from node.backoffice import audit
from node.context import NodeContext, open_node
from node.datadir import DataDir
from node.server import running
from tests.conftest import ADMIN, ADMIN_PASSPHRASE, files_containing
from tests.integration.conftest import csrf_of
from tests.integration.test_schema10_fixture import REGION_MAPPING, map_regions

CANARY = "canary-deletion-words-5521"
FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "before_issue11" / "node"
# 14:37:21: the seconds a reporter's reply must not keep
AT = datetime(2026, 12, 1, 14, 37, 21, tzinfo=UTC)


def _session() -> aiohttp.ClientSession:
    return aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))


async def _staff(base: str, http: aiohttp.ClientSession) -> None:
    async with http.get(base + "/staff/login") as r:
        token = csrf_of(await r.text())
    async with http.post(base + "/staff/login", allow_redirects=False, data={
            "csrf": token, "username": ADMIN, "passphrase": ADMIN_PASSPHRASE}) as r:
        assert r.status == 303, await r.text()


async def _submit(base: str, http: aiohttp.ClientSession) -> dict[str, str]:
    async with http.post(base + "/api/v1/reports", json={"narrative": "what happened"}) as r:
        assert r.status == 201
        out: dict[str, str] = await r.json()
    return out


async def test_a_deletion_reason_is_a_code_and_its_words_are_sealed(node_ctx: NodeContext
                                                                    ) -> None:
    async with running(node_ctx) as node, _session() as staff:
        base = node.urls["public"]
        receipt = await _submit(base, staff)
        report_id = node_ctx.intake.open_receipt(receipt["receipt"], receipt["secret"]).report_id
        await _staff(node.urls["staff"], staff)
        case = f"{node.urls['staff']}/staff/cases/{report_id}"
        async with staff.get(case) as r:
            page = await r.text()
            token = csrf_of(page)
            assert 'name="reason"' in page and "<select" in page
        # free text as the reason is refused, and nothing is deleted
        async with staff.post(case + "/delete", data={
                "csrf": token, "reason": f"{CANARY} in the reason", "confirm": "yes"}) as r:
            assert r.status == 400
        assert node_ctx.db.read().execute("SELECT COUNT(*) FROM reports").fetchone()[0] == 1
        async with staff.post(case + "/delete", allow_redirects=False, data={
                "csrf": token, "reason": "other", "note": f"{CANARY} asked by her sister",
                "confirm": "yes"}) as r:
            assert r.status == 303, await r.text()
    conn = node_ctx.db.read()
    reason, note_ct = conn.execute("SELECT reason, note_ct FROM deletions").fetchone()
    assert reason == "other"
    last = list(audit.entries(conn))[-1]
    assert (last.action, last.detail) == ("case.delete", "other")
    assert files_containing(node_ctx.datadir.root, CANARY.encode()) == []
    coordinator = accounts.unlock(conn, ADMIN, ADMIN_PASSPHRASE)
    assert coordinator.node_keys[accounts.INTAKE_KEY].open(note_ct).decode().startswith(CANARY)
    assert node_ctx.audit.verify(conn).ok


async def test_reporter_replies_are_kept_to_the_hour_and_in_order(tmp_path: Path) -> None:
    from tests.conftest import make_node

    datadir = make_node(tmp_path / "node")
    ctx = open_node(datadir, staff_params=pw.INSECURE_FAST_FOR_TESTS,
                    receipt_params=pw.INSECURE_FAST_FOR_TESTS, clock=lambda: AT)
    try:
        async with running(ctx) as node, _session() as reporter:
            base = node.urls["public"]
            receipt = await _submit(base, reporter)
            report_id = ctx.intake.open_receipt(receipt["receipt"], receipt["secret"]).report_id
            coordinator = accounts.unlock(ctx.db.read(), ADMIN, ADMIN_PASSPHRASE)
            ctx.conversations.send(coordinator, report_id, "first, from staff at 14:37")
            async with reporter.get(base + "/en/receipt") as r:
                token = csrf_of(await r.text())
            async with reporter.post(base + "/en/receipt", data={
                    "csrf": token, "receipt": receipt["receipt"],
                    "secret": receipt["secret"]}) as r:
                assert r.status == 200
                token = csrf_of(await r.text())
            async with reporter.post(base + "/en/receipt/reply", data={
                    "csrf": token, "reply": "second, from the reporter"}) as r:
                assert r.status == 200, await r.text()
            ctx.conversations.send(coordinator, report_id, "third, from staff")
        conn = ctx.db.read()
        rows = conn.execute("SELECT direction, at, read_at FROM messages ORDER BY seq").fetchall()
        assert [r[0] for r in rows] == ["to_reporter", "from_reporter", "to_reporter"]
        hour = int(AT.timestamp()) - int(AT.timestamp()) % 3600
        assert rows[1][1] == hour  # the reply: to the hour
        assert rows[0][2] == hour  # when the reporter read staff's message: to the hour
        replies = [e for e in audit.entries(conn) if e.action == "case.reply"]
        assert [e.at for e in replies] == [hour]
        key = ctx.intake.open_receipt(receipt["receipt"], receipt["secret"]).data_key
        texts = [m.body["text"] for m in ctx.conversations.for_reporter(report_id, key)]
        assert [t.split(",")[0] for t in texts] == ["first", "second", "third"]
        assert ctx.audit.verify(conn).ok
    finally:
        ctx.close()


def test_a_node_from_before_issue_11_migrates(tmp_path: Path) -> None:
    root = tmp_path / "node"
    shutil.copytree(FIXTURE, root, ignore=shutil.ignore_patterns("answers.json"))
    map_regions(root / "node.toml", REGION_MAPPING)  # the operator's upgrade (issue 14)
    (root / "blobs").mkdir(exist_ok=True)
    (root / "keys" / "identity.key").chmod(0o600)
    answers = json.loads((FIXTURE / "answers.json").read_text(encoding="utf-8"))
    old = sqlite3.connect(root / "node.db")
    assert old.execute("PRAGMA user_version").fetchone()[0] == 9
    head_before = old.execute("SELECT seq, hash FROM audit_log ORDER BY seq DESC").fetchone()
    old.close()
    assert files_containing(root, answers["reason"].encode())  # the fixture holds it in clear

    ctx = open_node(DataDir(root), staff_params=pw.INSECURE_FAST_FOR_TESTS,
                    receipt_params=pw.INSECURE_FAST_FOR_TESTS)
    try:
        conn = ctx.db.read()
        assert tuple(conn.execute("SELECT reason, note_ct FROM deletions").fetchone()) == (
            "other", None)
        at, seq = conn.execute("SELECT at, seq FROM messages").fetchone()
        assert at % 3600 == 0 and seq == 1
        entries = list(audit.entries(conn))
        reply = next(e for e in entries if e.action == "case.reply")
        deletion = next(e for e in entries if e.action == "case.delete")
        assert reply.at % 3600 == 0 and deletion.detail == "other"
        declared = entries[-1]
        assert declared.action == "audit.rewrite"
        assert f"entry {head_before[0]}, hash {bytes(head_before[1]).hex()}" in declared.detail
        assert ctx.audit.verify(conn).ok
    finally:
        ctx.close()
    # the old reason is gone from the files, free pages and write-ahead log included
    assert files_containing(root, answers["reason"].encode()) == []
    # opened again: nothing rewritten twice
    ctx = open_node(DataDir(root), staff_params=pw.INSECURE_FAST_FOR_TESTS,
                    receipt_params=pw.INSECURE_FAST_FOR_TESTS)
    try:
        again = list(audit.entries(ctx.db.read()))
        assert [e.hash for e in again] == [e.hash for e in entries]
    finally:
        ctx.close()
