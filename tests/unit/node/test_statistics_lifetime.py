"""The per-report lifetime ledger on a real node (issue 14): a report spanning many years
loses at most `lifetime_loss` through all releases; a consent withdrawn or a report erased
voids the pending draft that counted it (a new draft pays again); a shared incident counts on
the consenting report's account; the schema-10 ledger migrates conservatively."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from crypto import passphrase as pw
from crypto.keys import DataKey
from node.backoffice.incidents import IncidentCoding
from node.context import NodeContext, open_node
from node.intake.models import Consent, ReportInput
from node.statistics import release as rel
from node.statistics.budget import Ledger, void_drafts_counting
from node.statistics.errors import ReleaseNotFound
from node.statistics.plan import ReleasePeriod, StatisticsPlan, TablePlan
from node.statistics.service import StatisticsService
from protocol.vocabulary import CATEGORIES
from tests.integration.test_schema10_fixture import copy_fixture
from tests.team import Team, make_team

PLAN = StatisticsPlan(contributions=2, budget_per_period=2.0, lifetime_loss=2.0, tables=(
    TablePlan(name="by_category", dimensions=("category",), epsilon=1.0),))


@pytest.fixture
def team(node_ctx: NodeContext) -> Team:
    return make_team(node_ctx)


def service(ctx: NodeContext, plan: StatisticsPlan = PLAN) -> StatisticsService:
    cfg = ctx.config.model_copy(update={"statistics": plan})
    return StatisticsService(ctx.db, cfg, ctx.keys, ctx.audit, ctx.clock)


def report(ctx: NodeContext, statistics: bool = True) -> Any:
    return ctx.intake.submit(ReportInput(consent=Consent(statistics=statistics),
                                         narrative="what happened"),
                             DataKey.generate(), [], "test")


def code(ctx: NodeContext, team: Team, report_id: str, year: int,
         category: str = "rape") -> str:
    return ctx.incidents.code(team.coordinator, report_id, IncidentCoding(
        category=category, date_from=date(year, 5, 1)))  # type: ignore[arg-type]


def counted(monkeypatch: pytest.MonkeyPatch) -> list[np.ndarray]:
    calls: list[np.ndarray] = []
    real = rel._draw

    def spy(measurement: Any, cells: np.ndarray) -> list[int]:
        calls.append(cells.copy())
        return real(measurement, cells)

    monkeypatch.setattr(rel, "_draw", spy)
    return calls


def test_a_report_spanning_six_years_loses_at_most_the_lifetime_bound(
        node_ctx: NodeContext, team: Team, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = counted(monkeypatch)
    stats = service(node_ctx)
    survivor = report(node_ctx).report_id
    for year in range(2019, 2025):
        code(node_ctx, team, survivor, year)
        code(node_ctx, team, survivor, year)
    for year in range(2019, 2025):  # each year's whole budget, twice over
        for _ in range(2):
            draft = stats.draft(team.analyst, ReleasePeriod(year))
            stats.approve(team.coordinator, draft.release.release_id)
    spent = Ledger.report_spent(node_ctx.db.read())
    assert spent[survivor] <= PLAN.lifetime_loss * (1 + 1e-9)
    # 2 records in all, whatever the years: the per-year bound counted 12 (loss 12.0)
    assert sum(len(c) for c in calls) <= 2 * 2
    assert stats.lifetime().highest == pytest.approx(spent[survivor])


def test_a_shared_incident_counts_on_the_consenting_reports_account(
        node_ctx: NodeContext, team: Team, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = counted(monkeypatch)
    stats = service(node_ctx)
    survivor, witness = report(node_ctx).report_id, report(node_ctx, False).report_id
    shared = code(node_ctx, team, survivor, 2024, "sexual_slavery")
    node_ctx.incidents.link(team.coordinator, witness, shared, survivor)
    draft = stats.draft(team.analyst, ReleasePeriod(2024))
    assert np.bincount(calls[0], minlength=len(CATEGORIES))[
        CATEGORIES.index("sexual_slavery")] == 1
    assert draft.selection is not None and set(draft.selection.charged()) == {survivor}


def test_a_withdrawn_consent_or_an_erasure_voids_the_pending_draft(
        node_ctx: NodeContext, team: Team) -> None:
    stats = service(node_ctx)
    revoking, erased, other = report(node_ctx), report(node_ctx), report(node_ctx)
    for r in (revoking, erased, other):
        code(node_ctx, team, r.report_id, 2024)
    first = stats.draft(team.analyst, ReleasePeriod(2024))
    # the reporter withdraws statistics consent: the draft that counted them is voided
    access = node_ctx.intake.open_receipt(revoking.code, revoking.secret)
    node_ctx.intake.change_consent(access, Consent(statistics=False))
    entry = stats.ledger()[0]
    assert (entry.status, entry.void_reason) == ("discarded", "consent")
    with pytest.raises(ReleaseNotFound):
        stats.approve(team.coordinator, first.release.release_id)
    assert stats.budget(2024).spent == pytest.approx(1.0)  # its loss stays charged
    # a new draft is a deliberate act, and pays again
    second = stats.draft(team.analyst, ReleasePeriod(2024))
    assert stats.budget(2024).spent == pytest.approx(2.0)
    assert second.selection is not None
    assert revoking.report_id not in second.selection.charged()
    node_ctx.deletion.by_staff(team.coordinator, erased.report_id, "duplicate")
    last = stats.ledger()[-1]
    assert (last.id, last.status, last.void_reason) == (
        second.release.release_id, "discarded", "erasure")
    assert erased.report_id not in Ledger.report_spent(node_ctx.db.read())


def test_voiding_by_a_coding_reaches_the_drafts_its_reports_counted_in(
        node_ctx: NodeContext, team: Team) -> None:
    stats = service(node_ctx)
    a, b = report(node_ctx).report_id, report(node_ctx).report_id
    incident = code(node_ctx, team, a, 2024)
    code(node_ctx, team, b, 2023)
    draft = stats.draft(team.analyst, ReleasePeriod(2024))
    with node_ctx.db.write() as conn:  # a coding of another period's report: untouched
        assert void_drafts_counting(conn, reports=[b], reason="coding") == []
    with node_ctx.db.write() as conn:
        assert void_drafts_counting(conn, incidents=[incident], reason="coding") == [
            draft.release.release_id]
    with pytest.raises(ValueError):
        with node_ctx.db.write() as conn:
            void_drafts_counting(conn, reports=[a], reason="whim")


def test_the_schema10_ledger_migrates_to_lifetime_accounts(tmp_path: Path) -> None:
    """The fixture has an approved release and a pending draft of the per-year ledger: the
    draft is voided (its loss stays charged), the approved release can still be sent, and
    every report that described an incident is charged both losses."""
    datadir, answers = copy_fixture(tmp_path)
    ctx = open_node(datadir, staff_params=pw.INSECURE_FAST_FOR_TESTS,
                    receipt_params=pw.INSECURE_FAST_FOR_TESTS)
    try:
        conn = ctx.db.read()
        status = {r[0]: (r[1], r[2]) for r in conn.execute(
            "SELECT id, status, void_reason FROM statistics_releases")}
        assert status[str(answers["approved_release"])] == ("approved", None)
        assert status[str(answers["pending_draft"])] == ("discarded", "upgrade")
        assert ctx.statistics.budget(2026).spent == pytest.approx(1.0)  # still charged
        linked = {r[0] for r in conn.execute("SELECT report_id FROM incident_links")}
        spent = Ledger.report_spent(conn)
        assert linked and set(spent) == linked
        assert all(s == pytest.approx(2.0) for s in spent.values())
        with pytest.raises(Exception, match="cannot change"):
            with ctx.db.write() as w:
                w.execute("UPDATE statistics_report_charges SET epsilon = 0")
        assert ctx.statistics.pending() == []
    finally:
        ctx.close()
