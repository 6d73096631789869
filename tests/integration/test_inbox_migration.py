"""The inbox's read marks and indexes (issue 15) on a node of the previous version: the
schema-10 fixture upgrades through every migration; its caseworker's cases, messages and
tasks then show as new until read, and reading a case page marks them."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestClient

from crypto import passphrase as pw
from node import accounts
from node.backoffice import inbox
from node.context import open_node
from node.storage.migrations import MIGRATIONS
from node.web import appkeys
from node.web.app import create_app
from node.web.staff.common import STAFF_COOKIE
from tests.integration.test_schema10_fixture import copy_fixture


async def test_the_fixture_node_gets_an_inbox(tmp_path: Path, aiohttp_client: Any) -> None:
    datadir, answers = copy_fixture(tmp_path)
    ctx = open_node(datadir, staff_params=pw.INSECURE_FAST_FOR_TESTS,
                    receipt_params=pw.INSECURE_FAST_FOR_TESTS)
    try:
        conn = ctx.db.read()
        assert conn.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
        indexes = {r[0] for r in conn.execute("SELECT name FROM sqlite_master"
                                              " WHERE type = 'index'")}
        assert {"inbox_marks_by_report", "case_key_wraps_by_staff",
                "case_tasks_open_by_report", "consent_events_by_report"} <= indexes
        assert conn.execute("SELECT COUNT(*) FROM inbox_marks").fetchone()[0] == 0
        worker = accounts.unlock(conn, str(answers["caseworker"]), str(answers["passphrase"]))
        mine = [r[0] for r in conn.execute(
            "SELECT report_id FROM case_key_wraps WHERE staff_id = ?", (worker.member.id,))]
        assert mine, "the fixture's caseworker has cases"
        # nothing was ever marked read: every case of theirs is new, every open task due
        # in the far future counts
        far = ctx.clock().date() + timedelta(days=36500)
        before = inbox.counts(conn, worker.member.id, far)
        assert before.assigned == len(mine)

        app = create_app(ctx, {"staff"})
        client: TestClient[Any, Any] = await aiohttp_client(app)
        session = app[appkeys.STAFF_SESSIONS].new(worker)
        client.session.cookie_jar.update_cookies({STAFF_COOKIE: session.id})
        assert (await client.get("/staff/inbox")).status == 200
        for report_id in mine:
            assert (await client.get(f"/staff/cases/{report_id}")).status == 200
        after = inbox.counts(ctx.db.read(), worker.member.id, far)
        assert (after.replies, after.assigned, after.consent) == (0, 0, 0)
        assert after.tasks == before.tasks  # tasks stay until done
    finally:
        ctx.close()
