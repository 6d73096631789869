"""Migration 22 (four eyes, issue 15) from the schema-10 fixture: each release's drafter is
read back from the custody log, the approved release keeps its approver with four eyes
"not recorded", the setting starts as on (the default: no custody entry), and the custody
log still verifies."""

from __future__ import annotations

from pathlib import Path

import pytest

from crypto import passphrase as pw
from node import accounts
from node.context import open_node
from node.statistics.errors import SecondPersonNeeded
from node.statistics.plan import ReleasePeriod
from tests.integration.test_schema10_fixture import copy_fixture


def test_the_schema10_fixture_gets_its_drafters_and_four_eyes(tmp_path: Path) -> None:
    datadir, answers = copy_fixture(tmp_path)
    ctx = open_node(datadir, staff_params=pw.INSECURE_FAST_FOR_TESTS,
                    receipt_params=pw.INSECURE_FAST_FOR_TESTS)
    try:
        conn = ctx.db.read()
        ids = {r[1]: r[0] for r in conn.execute("SELECT id, username FROM staff")}
        analyst, admin = ids[str(answers["analyst"])], ids[str(answers["admin"])]
        entries = {e.id: e for e in ctx.statistics.ledger()}
        approved = entries[str(answers["approved_release"])]
        assert (approved.status, approved.drafted_by, approved.reviewed_by) == (
            "approved", analyst, admin)
        assert approved.four_eyes is None  # approved before four eyes existed
        voided = entries[str(answers["pending_draft"])]
        assert (voided.status, voided.drafted_by) == ("discarded", analyst)
        assert bytes(conn.execute("SELECT value FROM node_meta WHERE key ="
                                  " 'statistics_four_eyes'").fetchone()[0]) == b"1"
        assert conn.execute("SELECT count(*) FROM audit_log"
                            " WHERE action = 'statistics.four_eyes'").fetchone()[0] == 0
        assert ctx.audit.verify(conn).ok
        # after the upgrade, the fixture's analyst drafts and its coordinator approves
        drafter = accounts.unlock(conn, str(answers["analyst"]), str(answers["passphrase"]))
        coordinator = accounts.unlock(conn, str(answers["admin"]), str(answers["passphrase"]))
        draft = ctx.statistics.draft(drafter, ReleasePeriod(2025, 1, 12))
        with pytest.raises(SecondPersonNeeded):
            ctx.statistics.approve(drafter, draft.release.release_id)
        ctx.statistics.approve(coordinator, draft.release.release_id)
        entry = ctx.statistics.entry(draft.release.release_id)
        assert (entry.drafted_by, entry.reviewed_by, entry.four_eyes) == (analyst, admin, True)
    finally:
        ctx.close()
