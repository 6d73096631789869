"""Migration 32 (issue 16, signed opinions) on the node of the previous version (the
schema-18 fixture, upgraded through every migration): the opinions table arrives empty, and
on the upgraded node the old coordinator engages a newly vetted expert, shares a case, and
the expert's signed opinion is committed, opened and exported in a bundle that verifies."""

from __future__ import annotations

from pathlib import Path

from backup_evidence.verify import verify_bundle
from crypto import passphrase as pw
from crypto.keys import DataKey
from node import accounts
from node.context import open_node
from node.experts import directory
from node.intake.models import ReportInput
from node.storage.migrations import MIGRATIONS
from protocol.encoding import canonical_json
from tests.expert_vetting import EXPERT_PASSPHRASE, vetted_expert
from tests.integration.test_expert_opinions import CONSENT, OPINION, Case, engage
from tests.integration.test_schema18_fixture import copy_fixture18
from tests.team import Team


def test_the_opinions_table_arrives_empty_and_an_old_coordinator_receives_one(
        tmp_path: Path) -> None:
    datadir, answers = copy_fixture18(tmp_path)
    ctx = open_node(datadir, staff_params=pw.INSECURE_FAST_FOR_TESTS,
                    receipt_params=pw.INSECURE_FAST_FOR_TESTS)
    try:
        conn = ctx.db.read()
        assert conn.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
        assert conn.execute("SELECT count(*) FROM expert_opinions").fetchone()[0] == 0
        coordinator = accounts.unlock(conn, str(answers["admin"]), str(answers["passphrase"]))
        assert coordinator.has_role("coordinator")
        expert = vetted_expert(ctx, [ctx], tmp_path, username="expert-after-upgrade")
        ctx.opinions.observatory_key = expert.observatory_key.raw().hex()
        now = int(ctx.clock().timestamp())
        with ctx.db.write() as wconn:
            entry = directory.shareable(wconn, expert.expert_key,
                                        observatory_key=expert.observatory_key, now=now)
            wconn.execute(
                "UPDATE expert_profiles SET credential = ? WHERE signing_public_key = ?",
                (canonical_json(entry.credential.to_json_object()).decode("utf-8"),
                 bytes.fromhex(expert.expert_key)))
        report_id = ctx.intake.submit(ReportInput(narrative="after the upgrade",
                                                  consent=CONSENT),
                                      DataKey.generate(), [], "test").report_id
        team = Team(*[coordinator] * 6)
        engagement_id = engage(ctx, team, expert, report_id)
        sent = ctx.shares.share(coordinator, engagement_id=engagement_id, report_id=report_id,
                                expert_key=expert.expert_key, groups=("narrative",),
                                files=(), expires=now + 3600,
                                observatory_key=expert.observatory_key)
        reader = accounts.unlock(ctx.db.read(), expert.username, EXPERT_PASSPHRASE)
        case = Case(ctx, team, expert, report_id, engagement_id, sent.share_id, reader)
        case.write()
        (found,) = ctx.opinions.for_case(coordinator, report_id)
        assert found.text == OPINION
        path = tmp_path / "bundle.zip"
        path.write_bytes(ctx.bundles.export(coordinator, report_id))
        report = verify_bundle(str(path), ctx.keys.identity_public.raw().hex(),
                               observatory_key=expert.observatory_key.raw().hex())
        assert report.ok, [c for c in report.checks if not c[1]]
    finally:
        ctx.close()
