"""Four eyes on statistics releases (issue 15), in the service layer over a real node: the
person who drafted a release cannot approve it, a second analyst or a coordinator can; the
ledger refuses the drafter's approval even when the service is bypassed; with four eyes off
the drafter approves alone and the release records it; the custody log records each start
with a changed setting."""

from __future__ import annotations

import sqlite3
from datetime import date
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crypto import passphrase as pw
from crypto.keys import DataKey
from node import accounts
from node.accounts import UnlockedStaff
from node.backoffice.incidents import IncidentCoding
from node.context import NodeContext, open_node
from node.intake.models import Consent, ReportInput
from node.statistics import four_eyes
from node.statistics.budget import Ledger
from node.statistics.errors import PlanNotReleasable, SecondPersonNeeded
from node.statistics.plan import ReleasePeriod, StatisticsPlan, TablePlan
from node.statistics.service import StatisticsService
from node.web.failures import status_of
from tests.conftest import make_node
from tests.conftest import test_config as base_config
from tests.team import PASSPHRASE, Team, make_team

PERIOD = ReleasePeriod(2025)
PLAN = StatisticsPlan(version=2, contributions=1, budget_per_period=4.0, lifetime_loss=4.0,
                      tables=(TablePlan(name="by_category", dimensions=("category",),
                                        epsilon=0.5),))


@pytest.fixture
def team(node_ctx: NodeContext) -> Team:
    return make_team(node_ctx)


def service(ctx: NodeContext, *, on: bool = True) -> StatisticsService:
    approval = ctx.config.statistics_approval.model_copy(update={"four_eyes": on})
    cfg = ctx.config.model_copy(update={"statistics": PLAN, "statistics_approval": approval})
    return StatisticsService(ctx.db, cfg, ctx.keys, ctx.audit, ctx.clock)


def second_analyst(ctx: NodeContext, team: Team, username: str = "analyst2") -> UnlockedStaff:
    with ctx.db.write() as conn:
        member, _ = accounts.create(conn, username, PASSPHRASE, {"analyst"},
                                    pw.INSECURE_FAST_FOR_TESTS, 0,
                                    certifier=ctx.keys.certifier)
        accounts.grant_key(conn, accounts.ANALYSIS_KEY, team.root.node_keys[accounts.ANALYSIS_KEY],
                           accounts.staff_holder(member.id), member.public_key,
                           certifier=ctx.keys.certifier)
    return accounts.unlock(ctx.db.read(), username, PASSPHRASE)


def coded_report(ctx: NodeContext, team: Team) -> None:
    r = ctx.intake.submit(ReportInput(consent=Consent(statistics=True), narrative="x"),
                          DataKey.generate(), [], "test")
    ctx.incidents.code(team.coordinator, r.report_id, IncidentCoding(
        category="rape", region="R1", date_from=date(2025, 3, 1)))


def approvals(ctx: NodeContext) -> list[str]:
    return [r[0] for r in ctx.db.read().execute(
        "SELECT detail FROM audit_log WHERE action = 'statistics.approve' ORDER BY seq")]


def test_the_drafter_cannot_approve_a_second_analyst_or_a_coordinator_can(
        node_ctx: NodeContext, team: Team) -> None:
    stats = service(node_ctx)
    coded_report(node_ctx, team)
    other = second_analyst(node_ctx, team)
    draft = stats.draft(team.analyst, PERIOD)
    release_id = draft.release.release_id
    assert stats.entry(release_id).drafted_by == team.analyst.member.id
    with pytest.raises(SecondPersonNeeded) as exc:
        stats.approve(team.analyst, release_id)
    assert status_of(exc.value) == 403
    entry = stats.entry(release_id)
    assert (entry.status, entry.reviewed_by, entry.four_eyes) == ("draft", None, None)
    assert approvals(node_ctx) == []
    assert not stats.may_approve(team.analyst, entry)
    assert stats.may_approve(other, entry) and stats.may_approve(team.coordinator, entry)
    # whom the drafter is told to ask: the others who hold the analysis key, not themselves
    names = stats.approvers(team.analyst.member.id)
    assert "analyst" not in names and {"analyst2", "coord", "admin"} <= set(names)
    assert stats.approve(other, release_id) == draft.release
    entry = stats.entry(release_id)
    assert (entry.status, entry.drafted_by, entry.reviewed_by, entry.four_eyes) == (
        "approved", team.analyst.member.id, other.member.id, True)
    assert approvals(node_ctx) == [f"period 2025, epsilon 0.5, drafted by "
                                   f"{team.analyst.member.id}, four eyes on"]
    # a coordinator is a second person too, for a draft an analyst drew
    second = stats.draft(other, PERIOD).release.release_id
    with pytest.raises(SecondPersonNeeded):
        stats.approve(other, second)
    stats.approve(team.coordinator, second)
    assert stats.entry(second).reviewed_by == team.coordinator.member.id


def test_the_drafter_may_discard_their_own_draft(node_ctx: NodeContext, team: Team) -> None:
    stats = service(node_ctx)
    release_id = stats.draft(team.analyst, PERIOD).release.release_id
    stats.discard(team.analyst, release_id)
    assert stats.entry(release_id).status == "discarded"


def test_the_ledger_refuses_the_drafters_approval_when_the_service_is_bypassed(
        node_ctx: NodeContext, team: Team) -> None:
    stats = service(node_ctx)
    release_id = stats.draft(team.analyst, PERIOD).release.release_id
    with pytest.raises(sqlite3.IntegrityError, match="four eyes"), node_ctx.db.write() as conn:
        Ledger.approve(conn, release_id, reviewed_by=team.analyst.member.id, hour=1,
                       four_eyes=True)
    with pytest.raises(sqlite3.IntegrityError, match="drafted"), node_ctx.db.write() as conn:
        conn.execute("UPDATE statistics_releases SET drafted_by = ?",
                     (team.coordinator.member.id,))
    assert stats.entry(release_id).status == "draft"


def test_with_four_eyes_off_the_drafter_approves_alone_and_it_is_recorded(
        node_ctx: NodeContext, team: Team) -> None:
    stats = service(node_ctx, on=False)
    coded_report(node_ctx, team)
    draft = stats.draft(team.analyst, PERIOD)
    entry = stats.entry(draft.release.release_id)
    assert stats.may_approve(team.analyst, entry)
    assert "analyst" in stats.approvers(team.analyst.member.id)
    assert stats.approve(team.analyst, draft.release.release_id) == draft.release
    entry = stats.entry(draft.release.release_id)
    assert (entry.drafted_by, entry.reviewed_by, entry.four_eyes) == (
        team.analyst.member.id, team.analyst.member.id, False)
    assert approvals(node_ctx)[-1].endswith("four eyes off")


def test_the_decision_is_pure() -> None:
    assert not four_eyes.may_approve(True, "a", "a")
    assert four_eyes.may_approve(True, "a", "b")
    assert four_eyes.may_approve(False, "a", "a")
    assert four_eyes.may_approve(True, None, "a")  # drafted before drafters were recorded


def custody_changes(ctx: NodeContext) -> list[tuple[str, str]]:
    return [(r[0], r[1]) for r in ctx.db.read().execute(
        "SELECT actor, detail FROM audit_log WHERE action = 'statistics.four_eyes'"
        " ORDER BY seq")]


def test_a_start_with_a_changed_setting_goes_into_the_custody_log(tmp_path: Path) -> None:
    def start(four: bool | None) -> list[tuple[str, str]]:
        text = base_config()
        if four is not None:
            text += f"\n[statistics_approval]\nfour_eyes = {'true' if four else 'false'}\n"
        datadir.config.write_text(text, encoding="utf-8")
        ctx = open_node(datadir, staff_params=pw.INSECURE_FAST_FOR_TESTS,
                        receipt_params=pw.INSECURE_FAST_FOR_TESTS)
        try:
            assert ctx.statistics.four_eyes is (four is not False)
            assert ctx.audit.verify(ctx.db.read()).ok
            return custody_changes(ctx)
        finally:
            ctx.close()

    datadir = make_node(tmp_path / "n")
    assert start(None) == []                  # on by default, as the node last ran
    assert start(True) == []
    assert start(False) == [("configuration", "off")]
    assert start(False) == [("configuration", "off")]  # unchanged: nothing new
    assert start(None) == [("configuration", "off"), ("configuration", "on")]


NAMES = ("by_category", "category_month_region", "")


@settings(max_examples=200, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.sampled_from(NAMES) | st.text(max_size=12), max_size=6))
def test_the_tables_a_person_ticks_are_the_plans_or_refused(node_ctx: NodeContext,
                                                             names: list[str]) -> None:
    """The draft form's ticked tables (any strings a client posts) name tables of the plan,
    each once, in the order ticked; anything else, or nothing, is refused before a draw."""
    stats = service(node_ctx)
    known = {t.name for t in PLAN.tables}
    if names and set(names) <= known:
        assert [t.name for t in stats.tables(names)] == list(dict.fromkeys(names))
    else:
        with pytest.raises(PlanNotReleasable):
            stats.tables(names)
