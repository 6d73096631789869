"""Threads on a node upgraded from schema 18 (issue 16): the fixture of an earlier version
(`tests/fixtures/schema18/`) opens with the current code, which adds the thread tables, and
its coordinator and expert then write to each other in an engagement's thread."""

from __future__ import annotations

from pathlib import Path

from crypto import passphrase as pw
from node import accounts
from node.context import open_node
from node.experts import profiles
from node.experts.thread_content import checked
from node.storage.migrations import MIGRATIONS
from tests.integration.test_schema18_fixture import copy_fixture18
from tests.unit.node.test_expert_threads import local_engagement


def test_a_thread_on_a_node_upgraded_from_schema_18(tmp_path: Path) -> None:
    datadir, answers = copy_fixture18(tmp_path)
    ctx = open_node(datadir, staff_params=pw.INSECURE_FAST_FOR_TESTS,
                    receipt_params=pw.INSECURE_FAST_FOR_TESTS)
    try:
        conn = ctx.db.read()
        assert conn.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
        assert conn.execute("SELECT count(*) FROM expert_threads").fetchone()[0] == 0
        passphrase = str(answers["passphrase"])
        coordinator = accounts.unlock(conn, str(answers["admin"]), passphrase)
        expert = accounts.unlock(conn, str(answers["expert"]), passphrase)
        if profiles.get(conn, expert.member.id) is None:
            profiles.save_profile(ctx.db, ctx.audit, expert, node_id=ctx.keys.node_id,
                                  specialties=["domestic_law"], languages=["fr"],
                                  countries=["CD"], regions=[], modes=["remote"], now=0)
        thread = local_engagement(ctx, coordinator, expert)
        ctx.threads.send(coordinator, thread, checked("Bonjour.", None))
        ctx.threads.send(expert, thread, checked("Bonjour, je suis disponible.", None))
        _, shown = ctx.threads.read(coordinator, thread)
        assert [m.content.text for m in shown if m.content] == [
            "Bonjour.", "Bonjour, je suis disponible."]
    finally:
        ctx.close()
