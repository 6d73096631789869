"""Draft, review, approve over a real node: the budget is checked before any noise is drawn,
the ledger survives a restart, consent decides what counts, drafts are sealed at rest."""

from __future__ import annotations

import sqlite3
from datetime import date
from typing import Any

import numpy as np
import pytest

from crypto import passphrase as pw
from crypto.keys import DataKey
from node import accounts, errors
from node.accounts import UnlockedStaff
from node.backoffice.incidents import CATEGORIES, IncidentCoding
from node.context import NodeContext, open_node
from node.intake.models import Consent, ReportInput
from node.statistics import release as rel
from node.statistics.errors import (
    BudgetExceeded,
    DraftPending,
    PlanNotReleasable,
    ReleaseNotFound,
)
from node.statistics.plan import ReleasePeriod, StatisticsPlan, TablePlan
from node.statistics.service import StatisticsService
from node.web.failures import status_of
from tests.conftest import files_containing
from tests.team import PASSPHRASE, Team, make_team

PERIOD = ReleasePeriod(2025)
SMALL_PLAN = StatisticsPlan(version=3, contributions=1, budget_per_period=2.0, tables=(
    TablePlan(name="by_category", dimensions=("category",), epsilon=0.5),
    TablePlan(name="by_region_month", dimensions=("region", "month"), epsilon=0.5)))


class DrawSpy:
    """Wraps the one function that draws noise: counts calls and keeps what it was fed."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.calls: list[np.ndarray] = []
        real = rel._draw

        def spy(measurement: Any, cells: np.ndarray) -> list[int]:
            self.calls.append(cells.copy())
            return real(measurement, cells)

        monkeypatch.setattr(rel, "_draw", spy)


@pytest.fixture
def spy(monkeypatch: pytest.MonkeyPatch) -> DrawSpy:
    return DrawSpy(monkeypatch)


@pytest.fixture
def team(node_ctx: NodeContext) -> Team:
    return make_team(node_ctx)


def service(ctx: NodeContext, plan: StatisticsPlan = SMALL_PLAN) -> StatisticsService:
    cfg = ctx.config.model_copy(update={"statistics": plan})
    return StatisticsService(ctx.db, cfg, ctx.keys, ctx.audit, ctx.clock)


def new_report(ctx: NodeContext, statistics: bool = True) -> Any:
    return ctx.intake.submit(ReportInput(consent=Consent(statistics=statistics),
                                         narrative="what happened"),
                             DataKey.generate(), [], "test")


def code(ctx: NodeContext, team: Team, report_id: str, category: str = "rape",
         region: str = "R1", month: int = 3) -> str:
    return ctx.cases.code_incident(team.coordinator, report_id, IncidentCoding(
        category=category, region=region, date_from=date(2025, month, 10)))  # type: ignore[arg-type]


def ledger_rows(ctx: NodeContext) -> list[tuple[Any, ...]]:
    return [tuple(r) for r in ctx.db.read().execute(
        "SELECT id, period, epsilon, status FROM statistics_releases ORDER BY rowid")]


def test_budget_is_spent_up_to_the_limit_then_refused_before_any_noise(
        node_ctx: NodeContext, team: Team, spy: DrawSpy) -> None:
    stats = service(node_ctx)
    code(node_ctx, team, new_report(node_ctx).report_id)
    first = stats.draft(team.analyst, PERIOD)
    assert len(spy.calls) == 2                      # one draw per table
    assert first.payload.epsilon == pytest.approx(1.0)
    assert (first.budget.spent, first.budget.remaining) == pytest.approx((1.0, 1.0))
    assert first.payload.spent_in_period == pytest.approx(1.0)
    with pytest.raises(DraftPending):               # one draft at a time: no choosing draws
        stats.draft(team.analyst, PERIOD)
    assert len(spy.calls) == 2
    payload = stats.approve(team.coordinator, first.payload.release_id)
    assert payload == first.payload
    second = stats.draft(team.coordinator, PERIOD)
    stats.discard(team.coordinator, second.payload.release_id)  # seen, so it stays spent
    assert stats.budget(2025).spent == pytest.approx(2.0)
    before = ledger_rows(node_ctx)
    audit_before = node_ctx.db.read().execute("SELECT count(*) FROM audit_log").fetchone()[0]
    with pytest.raises(BudgetExceeded) as exc:
        stats.draft(team.analyst, PERIOD)
    assert len(spy.calls) == 4                      # nothing drawn for the refused release
    assert ledger_rows(node_ctx) == before          # nothing stored
    assert node_ctx.db.read().execute("SELECT count(*) FROM audit_log").fetchone()[0] \
        == audit_before
    assert exc.value.params == {"period": "2025", "requested": "1", "remaining": "0",
                                "budget": "2"}
    assert status_of(exc.value) == 409
    # another period has its own budget
    other = stats.draft(team.analyst, ReleasePeriod(2024, 1, 6))
    assert other.budget.spent == pytest.approx(1.0)
    assert [e.status for e in stats.ledger()] == ["approved", "discarded", "draft"]


def test_a_smaller_release_still_fits_and_float_drift_is_tolerated(
        node_ctx: NodeContext, team: Team, spy: DrawSpy) -> None:
    tables = tuple(TablePlan(name=f"t{i}", dimensions=("category",), epsilon=0.1)
                   for i in range(10))
    stats = service(node_ctx, StatisticsPlan(budget_per_period=1.0, tables=tables))
    for i in range(10):  # ten releases of 0.1 use a budget of 1.0 exactly
        draft = stats.draft(team.analyst, PERIOD, [f"t{i}"])
        stats.approve(team.analyst, draft.payload.release_id)
    assert stats.budget(2025).spent == pytest.approx(1.0)
    with pytest.raises(BudgetExceeded):
        stats.draft(team.analyst, PERIOD, ["t0"])
    assert len(spy.calls) == 10


def test_a_restart_keeps_the_ledger_and_the_pending_draft(
        node_ctx: NodeContext, team: Team, spy: DrawSpy) -> None:
    stats = service(node_ctx)
    code(node_ctx, team, new_report(node_ctx).report_id)
    stats.approve(team.analyst, stats.draft(team.analyst, PERIOD).payload.release_id)
    pending = stats.draft(team.analyst, PERIOD)
    before = ledger_rows(node_ctx)
    node_ctx.close()
    reopened = open_node(node_ctx.datadir, staff_params=pw.INSECURE_FAST_FOR_TESTS,
                         receipt_params=pw.INSECURE_FAST_FOR_TESTS)
    try:
        again = service(reopened)
        assert ledger_rows(reopened) == before
        assert again.budget(2025).spent == pytest.approx(2.0)
        analyst = make_team_member(reopened, "analyst")
        with pytest.raises(DraftPending):
            again.draft(analyst, PERIOD)
        review = again.review(analyst, pending.payload.release_id)
        assert review.payload == pending.payload and review.status == "draft"
        assert review.budget.remaining == pytest.approx(0.0)
        assert again.approve(analyst, pending.payload.release_id) == pending.payload
        with pytest.raises(BudgetExceeded):
            again.draft(analyst, PERIOD)
        assert len(spy.calls) == 4
    finally:
        reopened.close()


def make_team_member(ctx: NodeContext, username: str) -> UnlockedStaff:
    return accounts.unlock(ctx.db.read(), username, PASSPHRASE)


def test_revoked_consent_leaves_the_next_release(node_ctx: NodeContext, team: Team,
                                                 spy: DrawSpy) -> None:
    stats = service(node_ctx)
    kept = new_report(node_ctx)
    revoking = new_report(node_ctx)
    never = new_report(node_ctx, statistics=False)
    code(node_ctx, team, kept.report_id, "rape")
    code(node_ctx, team, revoking.report_id, "sexual_slavery")
    code(node_ctx, team, never.report_id, "forced_pregnancy")
    stats.approve(team.analyst, stats.draft(team.analyst, PERIOD).payload.release_id)
    counted = np.bincount(spy.calls[0], minlength=len(CATEGORIES))
    assert counted[CATEGORIES.index("rape")] == 1
    assert counted[CATEGORIES.index("sexual_slavery")] == 1
    assert counted[CATEGORIES.index("forced_pregnancy")] == 0
    access = node_ctx.intake.open_receipt(revoking.code, revoking.secret)
    node_ctx.intake.change_consent(access, Consent(statistics=False))
    stats.draft(team.analyst, PERIOD)
    counted = np.bincount(spy.calls[2], minlength=len(CATEGORIES))
    assert counted[CATEGORIES.index("rape")] == 1
    assert counted[CATEGORIES.index("sexual_slavery")] == 0
    assert counted.sum() == 1


def test_roles_review_and_sending(node_ctx: NodeContext, team: Team) -> None:
    stats = service(node_ctx)
    for person in (team.caseworker, team.admin):
        with pytest.raises(errors.Forbidden):
            stats.draft(person, PERIOD)
    draft = stats.draft(team.coordinator, PERIOD)
    with pytest.raises(errors.Forbidden):
        stats.approve(team.caseworker, draft.payload.release_id)
    with pytest.raises(ReleaseNotFound):
        stats.mark_sent(draft.payload.release_id)   # not approved yet
    stats.approve(team.analyst, draft.payload.release_id)
    with pytest.raises(ReleaseNotFound):
        stats.approve(team.analyst, draft.payload.release_id)
    with pytest.raises(ReleaseNotFound):
        stats.discard(team.analyst, draft.payload.release_id)
    stats.mark_sent(draft.payload.release_id)
    entry = stats.ledger(2025)[0]
    assert (entry.status, entry.reviewed_by) == ("sent", team.analyst.member.id)
    assert entry.tables == ("by_category", "by_region_month") and entry.plan_version == 3
    assert stats.review(team.analyst, draft.payload.release_id).status == "sent"
    with pytest.raises(PlanNotReleasable):
        stats.draft(team.analyst, PERIOD, ["no_such_table"])
    actions = [r[0] for r in node_ctx.db.read().execute(
        "SELECT action FROM audit_log WHERE action LIKE 'statistics.%' ORDER BY seq")]
    assert actions == ["statistics.draft", "statistics.approve"]


def test_payload_shape_and_drafts_sealed_at_rest(node_ctx: NodeContext, team: Team) -> None:
    stats = service(node_ctx, StatisticsPlan())
    for month in (1, 2, 2):
        code(node_ctx, team, new_report(node_ctx).report_id, month=month, region="R2")
    draft = stats.draft(team.analyst, PERIOD)
    p = draft.payload
    assert p.plan_version == 1 and p.period == "2025" and p.contributions == 2
    assert (p.first_month, p.last_month) == ("2025-01", "2025-12")
    assert len(p.tables) == 5 and p.epsilon == pytest.approx(1.0)
    t = p.table("category_month_region")
    assert t.domains[2] == ("R1", "R2", "unknown")
    assert len(t.counts) == 6 * 12 * 3
    assert t.scale == pytest.approx(10.0) and t.accuracy_95 == 30
    # the noisy counts are sealed to the analysis key while the draft waits
    assert files_containing(node_ctx.datadir.root, b'"counts"') == []
    stats.discard(team.analyst, p.release_id)
    row = node_ctx.db.read().execute(
        "SELECT payload_ct, status FROM statistics_releases").fetchone()
    assert row[0] is None and row[1] == "discarded"
    with pytest.raises(ReleaseNotFound):
        stats.review(team.analyst, p.release_id)


def test_the_ledger_refuses_tampering(node_ctx: NodeContext, team: Team) -> None:
    stats = service(node_ctx)
    draft = stats.draft(team.analyst, PERIOD)
    for sql in ("DELETE FROM statistics_releases",
                "UPDATE statistics_releases SET epsilon = 0.01",
                "UPDATE statistics_releases SET period = '2030'"):
        with pytest.raises(sqlite3.IntegrityError), node_ctx.db.write() as conn:
            conn.execute(sql)
    stats.approve(team.analyst, draft.payload.release_id)
    with pytest.raises(sqlite3.IntegrityError), node_ctx.db.write() as conn:
        conn.execute("UPDATE statistics_releases SET status = 'draft'")
