"""Upgrading a node past the shared geography (issue 14): a node.toml whose regions name no
federation code stops the node with what to do; once mapped, the schema-10 node migrates,
its pending draft (keyed by the node's own region codes) is voided with its loss still
charged, its approved release is kept, and a new draft counts by subdivision codes."""

from __future__ import annotations

from pathlib import Path

import pytest

from crypto import passphrase as pw
from node import accounts
from node.config import ConfigError
from node.context import open_node
from node.statistics import geography_upgrade
from node.statistics.budget import Ledger
from node.statistics.plan import ReleasePeriod
from protocol.statistics import REGION_VOCABULARY
from tests.integration.test_schema10_fixture import copy_fixture


def test_unmapped_regions_stop_the_node_with_what_to_do(tmp_path: Path) -> None:
    datadir, _ = copy_fixture(tmp_path, upgrade_config=False)
    with pytest.raises(ConfigError) as caught:
        open_node(datadir, staff_params=pw.INSECURE_FAST_FOR_TESTS,
                  receipt_params=pw.INSECURE_FAST_FOR_TESTS)
    message = str(caught.value)
    assert "'R1'" in message and 'subdivision = "<code>"' in message
    assert "backup-node regions COUNTRY" in message


def test_a_local_code_that_maps_to_nothing_is_refused(tmp_path: Path) -> None:
    datadir, _ = copy_fixture(tmp_path, upgrade_config=False)
    text = datadir.config.read_text(encoding="utf-8")
    datadir.config.write_text(text.replace('code = "R1"', 'code = "R1"\nsubdivision = "CD-XX"')
                              .replace('code = "R2"', 'code = "R2"\nsubdivision = "CD-SK"'),
                              encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        open_node(datadir, staff_params=pw.INSECURE_FAST_FOR_TESTS,
                  receipt_params=pw.INSECURE_FAST_FOR_TESTS)
    assert "'CD-XX' is not a first-level ISO 3166-2 code" in str(caught.value)


def test_the_pending_draft_is_voided_and_its_loss_stays_charged(tmp_path: Path) -> None:
    datadir, answers = copy_fixture(tmp_path)
    ctx = open_node(datadir, staff_params=pw.INSECURE_FAST_FOR_TESTS,
                    receipt_params=pw.INSECURE_FAST_FOR_TESTS)
    try:
        conn = ctx.db.read()
        entries = {e.id: e for e in Ledger.entries(conn)}
        draft = entries[str(answers["pending_draft"])]
        approved = entries[str(answers["approved_release"])]
        assert draft.status == "discarded" and draft.epsilon == pytest.approx(1.0)
        assert approved.status == "approved"
        payload = conn.execute("SELECT payload_ct FROM statistics_releases WHERE id = ?",
                               (draft.id,)).fetchone()[0]
        assert payload is None
        assert Ledger.spent(conn, draft.period) == (pytest.approx(1.0), 1)
        # issue 14's two migrations run in one upgrade: the lifetime-bound migration (14)
        # already voided the draft drawn under the per-year bound, so the geography upgrade
        # (15) finds nothing left to void; either way the draft never leaves
        assert draft.reviewed_by == "system"
        assert conn.execute("SELECT void_reason FROM statistics_releases WHERE id = ?",
                            (draft.id,)).fetchone()[0] == "upgrade"
        assert conn.execute("SELECT 1 FROM node_meta WHERE key = ?",
                            (geography_upgrade.PENDING,)).fetchone() is None
        assert ctx.audit.verify(conn).ok

        analyst = accounts.unlock(conn, str(answers["analyst"]), str(answers["passphrase"]))
        new = ctx.statistics.draft(analyst, ReleasePeriod(2026, 1, 3),
                                   ["category_month_region"])
        assert new.release.region_vocabulary == REGION_VOCABULARY
        table = new.release.tables[0]
        assert table.domains[table.dimensions.index("region")] == ("CD-NK", "CD-SK", "unknown")
        # the voided draft's loss still counts against the period
        assert Ledger.spent(ctx.db.read(), "2026")[0] == pytest.approx(1.0 + new.release.epsilon)
    finally:
        ctx.close()
