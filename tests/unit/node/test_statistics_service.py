"""Draft, review, approve over a real node: the budget is checked before any noise is drawn,
the ledger survives a restart, consent decides what counts, drafts are sealed at rest."""

from __future__ import annotations

import json
import secrets
import sqlite3
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from crypto import passphrase as pw
from crypto.keys import DataKey
from node import accounts, errors
from node.accounts import UnlockedStaff
from node.backoffice.incidents import IncidentCoding
from node.config import Region
from node.context import NodeContext, open_node
from node.federation import statistics_delivery
from node.intake.models import Consent, ReportInput
from node.statistics import release as rel
from node.statistics import service as statistics_service
from node.statistics.budget import Ledger
from node.statistics.errors import (
    BudgetExceeded,
    DraftPending,
    PlanNotReleasable,
    ReleaseNotFound,
)
from node.statistics.plan import ReleasePeriod, StatisticsPlan, TablePlan
from node.statistics.service import StatisticsService
from node.web.failures import status_of
from protocol.delivery import DeliveryAck
from protocol.regions import countries, subdivisions
from protocol.statistics import MAX_CELLS, NODE_REGIONS, REGION_VOCABULARY
from protocol.vocabulary import CATEGORIES
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
    return ctx.incidents.code(team.coordinator, report_id, IncidentCoding(
        category=category, region=region, date_from=date(2025, month, 10)))  # type: ignore[arg-type]


def acknowledge(ctx: NodeContext, release_id: str) -> str:
    """What the node does when the observatory accepts a release it sent: the delivery
    code stores the answer and marks the release sent (`Ledger.mark_sent`)."""
    envelope_id = secrets.token_hex(16)
    with ctx.db.write() as conn:
        statistics_delivery.record_queued(conn, envelope_id, release_id, 480_000)
        return statistics_delivery.handle_answer(
            conn, envelope_id, DeliveryAck(envelope_id=envelope_id, status="accepted"), 480_001)


def ledger_rows(ctx: NodeContext) -> list[tuple[Any, ...]]:
    return [tuple(r) for r in ctx.db.read().execute(
        "SELECT id, period, epsilon, status FROM statistics_releases ORDER BY rowid")]


def test_budget_is_spent_up_to_the_limit_then_refused_before_any_noise(
        node_ctx: NodeContext, team: Team, spy: DrawSpy) -> None:
    stats = service(node_ctx)
    code(node_ctx, team, new_report(node_ctx).report_id)
    first = stats.draft(team.analyst, PERIOD)
    assert len(spy.calls) == 2                      # one draw per table
    assert first.release.epsilon == pytest.approx(1.0)
    assert (first.budget.spent, first.budget.remaining) == pytest.approx((1.0, 1.0))
    assert first.release.spent_in_period == pytest.approx(1.0)
    with pytest.raises(DraftPending):               # one draft at a time: no choosing draws
        stats.draft(team.analyst, PERIOD)
    assert len(spy.calls) == 2
    approved = stats.approve(team.coordinator, first.release.release_id)
    assert approved == first.release
    second = stats.draft(team.coordinator, PERIOD)
    stats.discard(team.coordinator, second.release.release_id)  # seen, so it stays spent
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
        stats.approve(team.coordinator, draft.release.release_id)
    assert stats.budget(2025).spent == pytest.approx(1.0)
    with pytest.raises(BudgetExceeded):
        stats.draft(team.analyst, PERIOD, ["t0"])
    assert len(spy.calls) == 10


def test_a_restart_keeps_the_ledger_and_the_pending_draft(
        node_ctx: NodeContext, team: Team, spy: DrawSpy) -> None:
    stats = service(node_ctx)
    code(node_ctx, team, new_report(node_ctx).report_id)
    stats.approve(team.coordinator, stats.draft(team.analyst, PERIOD).release.release_id)
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
        review = again.review(analyst, pending.release.release_id)
        assert review.release == pending.release and review.status == "draft"
        assert review.budget.remaining == pytest.approx(0.0)
        second = make_team_member(reopened, "coord")  # four eyes: not the drafter
        assert again.approve(second, pending.release.release_id) == pending.release
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
    stats.approve(team.coordinator, stats.draft(team.analyst, PERIOD).release.release_id)
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
        stats.approve(team.caseworker, draft.release.release_id)
    acknowledge(node_ctx, draft.release.release_id)  # not approved: not sent either
    assert stats.ledger(2025)[0].status == "draft"
    stats.approve(team.analyst, draft.release.release_id)
    with pytest.raises(ReleaseNotFound):
        stats.approve(team.analyst, draft.release.release_id)
    with pytest.raises(ReleaseNotFound):
        stats.discard(team.analyst, draft.release.release_id)
    assert acknowledge(node_ctx, draft.release.release_id) == "accepted"
    entry = stats.ledger(2025)[0]
    assert (entry.status, entry.reviewed_by) == ("sent", team.analyst.member.id)
    assert entry.sent_hour == 480_001
    assert entry.tables == ("by_category", "by_region_month") and entry.plan_version == 3
    assert stats.review(team.analyst, draft.release.release_id).status == "sent"
    with pytest.raises(PlanNotReleasable):
        stats.draft(team.analyst, PERIOD, ["no_such_table"])
    actions = [r[0] for r in node_ctx.db.read().execute(
        "SELECT action FROM audit_log WHERE action LIKE 'statistics.%' ORDER BY seq")]
    assert actions == ["statistics.draft", "statistics.approve"]


def test_release_shape_and_drafts_sealed_at_rest(node_ctx: NodeContext, team: Team) -> None:
    stats = service(node_ctx, StatisticsPlan())
    for month in (1, 2, 2):
        code(node_ctx, team, new_report(node_ctx).report_id, month=month, region="R2")
    draft = stats.draft(team.analyst, PERIOD)
    p = draft.release
    assert p.plan_version == 1 and p.period == "2025" and p.contributions == 2
    assert (p.first_month, p.last_month) == ("2025-01", "2025-12")
    assert len(p.tables) == 5 and p.epsilon == pytest.approx(1.0)
    t = next(t for t in p.tables if t.name == "category_month_region")
    # keyed by the federation's subdivision codes the node's regions R1, R2 map to
    assert t.domains[2] == ("CD-NK", "CD-SK", "unknown")
    assert p.region_vocabulary == REGION_VOCABULARY
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
    stats.approve(team.coordinator, draft.release.release_id)
    with pytest.raises(sqlite3.IntegrityError), node_ctx.db.write() as conn:
        conn.execute("UPDATE statistics_releases SET status = 'draft'")


def test_a_release_larger_than_the_message_carries_is_refused_before_any_noise(
        node_ctx: NodeContext, team: Team, spy: DrawSpy) -> None:
    """72 cells per region (6 categories x 12 months): 1,400 regions are more cells than a
    `StatisticsRelease` may carry, so the release is refused before any data is read."""
    codes = sorted(c for country in countries() for c in (s.code for s in subdivisions(country)))
    regions = [Region(code=f"R{i}", name=f"Region {i}", subdivision=codes[i]) for i in range(1400)]
    plan = StatisticsPlan(tables=(TablePlan(name="category_month_region",
                                            dimensions=("category", "month", "region"),
                                            epsilon=0.2),))
    cfg = node_ctx.config.model_copy(update={"statistics": plan, "regions": regions})
    stats = StatisticsService(node_ctx.db, cfg, node_ctx.keys, node_ctx.audit, node_ctx.clock)
    assert 6 * 12 * 1401 > MAX_CELLS
    with pytest.raises(PlanNotReleasable):
        stats.draft(team.analyst, PERIOD)
    assert spy.calls == [] and ledger_rows(node_ctx) == []


FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "statistics"


def test_a_draft_stored_before_the_release_became_the_protocol_message_still_opens(
        node_ctx: NodeContext, team: Team) -> None:
    """Drafts wait sealed in the ledger as JSON. Until issue 10 that JSON was the node's own
    `ReleasePayload` (tests/fixtures/statistics/draft_payload_before_issue10.json was
    written by it, `model_dump_json()` at commit 8806228); the protocol's
    `StatisticsRelease` has the same fields, so such a draft is reviewed, approved and sent
    as it is."""
    stored = (FIXTURE / "draft_payload_before_issue10.json").read_bytes().strip()
    release_id = json.loads(stored)["release_id"]
    key = DataKey.generate()
    with node_ctx.db.write() as conn:
        Ledger.charge(conn, release_id=release_id, period="2025", plan_version=1,
                      tables=["category_month_region"], epsilon=1.0, budget=2.0,
                      created_hour=485_000,
                      payload_key=node_ctx.keys.analysis_public.seal_data_key(key),
                      payload_ct=key.encrypt(stored, statistics_service._ctx(release_id)),
                      drafted_by=team.coordinator.member.id)
    stats = service(node_ctx, StatisticsPlan())
    draft = stats.review(team.analyst, release_id)
    assert draft.status == "draft" and draft.release.release_id == release_id
    # every stored field reads back as it was; the region vocabulary, which it predates,
    # reads as the node's own codes (migration 15 voids such drafts at upgrade)
    assert draft.release.model_dump(mode="json", exclude={"region_vocabulary"}) == json.loads(
        stored)
    assert draft.release.region_vocabulary == NODE_REGIONS
    assert (draft.release.first_month, draft.release.last_month) == ("2025-01", "2025-03")
    assert len(draft.release.tables) == 5
    assert stats.approve(team.analyst, release_id) == draft.release


def test_a_coding_edited_withdrawn_or_unlinked_voids_the_pending_draft(
        node_ctx: NodeContext, team: Team) -> None:
    """Issue 15: a change of a coding must not leave through a draft that counted the old
    one (the node's own statistics service, wired by `open_node`)."""
    # room for four drafts of one period, for each report's lifetime too
    stats = service(node_ctx, SMALL_PLAN.model_copy(
        update={"budget_per_period": 8.0, "lifetime_loss": 8.0}))
    first, second = new_report(node_ctx).report_id, new_report(node_ctx).report_id
    incident = code(node_ctx, team, first)
    node_ctx.incidents.link(team.coordinator, second, incident, first)

    def draft_then(change: Callable[[], object]) -> tuple[str, str | None]:
        release_id = stats.draft(team.analyst, PERIOD).release.release_id
        change()
        row = node_ctx.db.read().execute(
            "SELECT status, void_reason FROM statistics_releases WHERE id = ?",
            (release_id,)).fetchone()
        return row[0], row[1]

    edited = IncidentCoding(category="sexual_slavery", region="R1",  # type: ignore[arg-type]
                            date_from=date(2025, 3, 10))
    assert draft_then(lambda: node_ctx.incidents.code(
        team.coordinator, first, edited, incident_id=incident)) == ("discarded", "coding")
    assert draft_then(lambda: node_ctx.incidents.unlink(
        team.coordinator, second, incident)) == ("discarded", "coding")
    assert draft_then(lambda: node_ctx.incidents.withdraw(
        team.coordinator, first, incident)) == ("discarded", "coding")
    # an approved release is not touched by a later change
    approved = stats.draft(team.analyst, PERIOD).release.release_id
    stats.approve(team.coordinator, approved)
    node_ctx.incidents.link(team.coordinator, second, code(node_ctx, team, first), first)
    assert node_ctx.db.read().execute("SELECT status FROM statistics_releases WHERE id = ?",
                                      (approved,)).fetchone()[0] == "approved"
