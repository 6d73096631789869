"""Introductions on a node upgraded from schema 18 (issue 18): the fixture of an earlier
version (`tests/fixtures/schema18/`) opens with the current code, which adds the
introductions table; its coordinator agrees to be introduced for a match of the fixture's
canary report, the agreement is certified by the node's identity key, and deleting the
report takes it away."""

from __future__ import annotations

from pathlib import Path

from crypto import passphrase as pw
from node import accounts
from node.context import open_node
from node.matching import introductions
from node.storage.migrations import MIGRATIONS
from tests.integration.test_schema18_fixture import copy_fixture18


def test_an_introduction_on_a_node_upgraded_from_schema_18(tmp_path: Path) -> None:
    datadir, answers = copy_fixture18(tmp_path)
    ctx = open_node(datadir, staff_params=pw.INSECURE_FAST_FOR_TESTS,
                    receipt_params=pw.INSECURE_FAST_FOR_TESTS)
    try:
        conn = ctx.db.read()
        assert conn.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
        assert conn.execute("SELECT count(*) FROM matching_introductions").fetchone()[0] == 0
        coordinator = accounts.unlock(conn, str(answers["admin"]), str(answers["passphrase"]))
        report_id, ref = str(answers["canary_report_id"]), "3c" * 16
        with ctx.db.write() as w:
            w.execute("INSERT INTO matching_matches (case_ref, report_id, others, epoch,"
                      " notified_at) VALUES (?, ?, 1, 1, 0)", (ref, report_id))
            introductions.ask(w, ctx.keys.certifier, ctx.keys.node_id, coordinator,
                              report_id, ref, 0)
        (request,) = introductions.due(ctx.db.read())
        assert request.coordinator is not None
        assert introductions.keys_authentic(request.coordinator,
                                            ctx.keys.identity_public.raw().hex())
        ctx.deletion.by_staff(coordinator, report_id, "duplicate", "")
        assert introductions.due(ctx.db.read()) == []
    finally:
        ctx.close()
