"""Migration 23 (issue 16, mobilising) on the node of the previous version (the schema-10
fixture, upgraded through every migration): the needs, matches, received needs,
engagements and waiting-messages tables arrive empty, experts' profiles gain an empty
notification address, and a coordinator of the old node can post a need at once."""

from __future__ import annotations

from pathlib import Path

from crypto import passphrase as pw
from crypto.keys import SigningKey
from node import accounts
from node.context import open_node
from node.experts import needs
from node.storage.migrations import MIGRATIONS
from tests.integration.test_schema10_fixture import copy_fixture

TABLES = ("expert_needs", "expert_need_matches", "expert_needs_received",
          "expert_engagements", "expert_outgoing")


def test_the_needs_tables_arrive_empty_and_an_old_coordinator_posts_a_need(
        tmp_path: Path) -> None:
    datadir, answers = copy_fixture(tmp_path)
    ctx = open_node(datadir, staff_params=pw.INSECURE_FAST_FOR_TESTS,
                    receipt_params=pw.INSECURE_FAST_FOR_TESTS)
    try:
        conn = ctx.db.read()
        assert conn.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
        for table in TABLES:
            assert conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0] == 0
        columns = {r[1] for r in conn.execute("PRAGMA table_info(expert_profiles)")}
        assert "notify_email" in columns
        coordinator = accounts.unlock(conn, str(answers["admin"]), str(answers["passphrase"]))
        assert "coordinator" in coordinator.member.roles
        need_id, reached = needs.post(
            ctx.db, ctx.audit, coordinator, node_id=ctx.keys.node_id,
            observatory_key=SigningKey.generate().verify_key, specialty="domestic_law",
            languages=["fr"], country="CD", regions=[], mode="remote", urgency="routine",
            deadline_hours=24, description="", report_id=None, now=1_800_000_000)
        assert reached == 0  # no directory yet: nobody to reach, and nothing sent
        found = needs.get(ctx.db.read(), need_id)
        assert found is not None and found.status(1_800_000_000) == "open"
    finally:
        ctx.close()
