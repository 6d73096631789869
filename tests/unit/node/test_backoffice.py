"""Case work over a real node: access enforced by the application AND by cryptography,
consent gates, crypto-shredding, urgency, incidents, search, retention."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from crypto.errors import DecryptionError
from crypto.keys import DataKey
from node import errors, keyring
from node.backoffice.codings import open_codings
from node.backoffice.incidents import IncidentCoding
from node.backoffice.search import index_for
from node.backoffice.urgency import assess
from node.context import NodeContext
from node.demo import tiny_png
from node.intake.models import Consent, ReportInput
from tests.conftest import CANARY, files_containing
from tests.team import Team, make_team


@pytest.fixture
def team(node_ctx: NodeContext) -> Team:
    return make_team(node_ctx)


def report(ctx: NodeContext, consent: Consent | None = None, **fields: object):  # type: ignore[no-untyped-def]
    key = DataKey.generate()
    w = ctx.intake.attachment_writer(key, ctx.intake.allowance(), f"{CANARY}.png")
    w.feed(tiny_png(2) + CANARY.encode())
    fields.setdefault("narrative", f"{CANARY} what happened")
    return ctx.intake.submit(ReportInput(consent=consent or Consent(), **fields),  # type: ignore[arg-type]
                             key, [w.finish()], "test")


def test_caseworker_cannot_open_unassigned_case_even_through_the_service(
        node_ctx: NodeContext, team: Team) -> None:
    r = report(node_ctx)
    cases = node_ctx.cases
    with pytest.raises(errors.Forbidden):
        cases.read(team.caseworker, r.report_id)
    # bypass the application check: the key itself is missing
    with pytest.raises(errors.Forbidden):
        cases.case_key(team.caseworker, r.report_id)
    # even with the sealed row in hand, the caseworker's key cannot open it
    sealed = node_ctx.db.read().execute("SELECT sealed_key FROM reports WHERE id = ?",
                                        (r.report_id,)).fetchone()[0]
    with pytest.raises(DecryptionError):
        team.caseworker.secret_key.open_data_key(sealed)

    cases.assign(team.coordinator, r.report_id, team.caseworker.member.id)
    view = cases.read(team.caseworker, r.report_id)
    assert CANARY in view.report.record["narrative"]
    assert view.report.status == "assigned"
    with pytest.raises(errors.Forbidden):
        cases.read(team.other_caseworker, r.report_id)

    cases.unassign(team.coordinator, r.report_id, team.caseworker.member.id)
    with pytest.raises(errors.Forbidden):
        cases.case_key(team.caseworker, r.report_id)


def test_roles_are_enforced_by_the_service(node_ctx: NodeContext, team: Team) -> None:
    r = report(node_ctx)
    cases = node_ctx.cases
    for person in (team.admin, team.analyst, team.caseworker):
        with pytest.raises(errors.Forbidden):
            cases.assign(person, r.report_id, team.caseworker.member.id)
        with pytest.raises(errors.Forbidden):
            cases.queue(person)
        with pytest.raises(errors.Forbidden):
            cases.delete(person, r.report_id, "no")
    with pytest.raises(errors.Forbidden):
        cases.read(team.admin, r.report_id)  # admin: accounts, never case content by default
    with pytest.raises(errors.Forbidden):
        cases.read(team.analyst, r.report_id)


def test_case_work_and_conversation(node_ctx: NodeContext, team: Team) -> None:
    r = report(node_ctx, Consent(care=True))
    cases = node_ctx.cases
    cases.assign(team.coordinator, r.report_id, team.caseworker.member.id)
    cases.add_note(team.caseworker, r.report_id, f"{CANARY} note")
    cases.add_task(team.caseworker, r.report_id, f"{CANARY} task", None)
    cases.send_message(team.caseworker, r.report_id, f"{CANARY} hello from staff")
    access = node_ctx.intake.open_receipt(r.code, r.secret)
    msgs = cases.reporter_messages(access.report_id, access.data_key)
    assert [m.body["text"] for m in msgs] == [f"{CANARY} hello from staff"]
    cases.reporter_reply(access.report_id, access.data_key, f"{CANARY} thank you")
    view = cases.read(team.caseworker, r.report_id)
    assert [m.extra["direction"] for m in view.messages] == ["to_reporter", "from_reporter"]
    assert view.notes[0].body["text"] == f"{CANARY} note"
    cases.complete_task(team.caseworker, r.report_id, view.tasks[0].id)
    cases.set_status(team.caseworker, r.report_id, "closed")
    view = cases.read(team.coordinator, r.report_id)
    assert [s for _, _, s in view.statuses] == ["assigned", "closed"]
    assert view.tasks[0].extra["done_at"] is not None
    assert files_containing(node_ctx.datadir.root, CANARY.encode()) == []


def test_referral_consent_gate(node_ctx: NodeContext, team: Team) -> None:
    r = report(node_ctx)
    cases = node_ctx.cases
    with pytest.raises(errors.ConsentMissing):
        cases.refer(team.coordinator, r.report_id, "clinic", "medical need")
    access = node_ctx.intake.open_receipt(r.code, r.secret)
    node_ctx.intake.change_consent(access, Consent(referral=True))
    ref = cases.refer(team.coordinator, r.report_id, "clinic", "medical need")
    cases.record_referral_outcome(team.coordinator, r.report_id, ref, "seen next day")
    view = cases.read(team.coordinator, r.report_id)
    assert view.referrals[0].body["outcome"] == "seen next day"
    assert view.report.status == "referred"
    node_ctx.intake.change_consent(access, Consent(referral=False))
    with pytest.raises(errors.ConsentMissing):
        cases.refer(team.coordinator, r.report_id, "clinic", "again")
    with pytest.raises(errors.UnknownChoice):
        cases.refer(team.coordinator, r.report_id, "no-such-service", "x")


def test_urgency_windows() -> None:
    now = datetime(2026, 6, 10, 12, tzinfo=UTC)
    hour = int(now.timestamp()) // 3600
    day = now.date()

    def level(d: object, **kw: object) -> str:
        rec = {"incident_year": d.year, "incident_month": d.month, "incident_day": d.day}  # type: ignore[attr-defined]
        return assess(rec | kw, hour, now).level

    assert level(day) == "pep"
    # the latest moment an incident dated 3 days ago can have happened is 60 h ago
    assert level(day - timedelta(days=3)) == "pep"
    assert level(day - timedelta(days=4)) == "ec"
    assert level(day - timedelta(days=5)) == "ec"
    assert level(day - timedelta(days=6)) == "routine"
    assert assess({}, hour, now).level == "check"  # unknown date, fresh report
    assert assess({}, hour - 200, now).level == "routine"
    assert assess({"incident_year": 2026, "incident_month": 6}, hour, now).level == "check"
    assert assess({"incident_year": 2025}, hour, now).level == "routine"
    assert assess({"incident_year": 2026, "incident_month": 6, "incident_day": 10}, hour,
                  now).hours_left == 60


def test_queue_puts_urgent_first(node_ctx: NodeContext, team: Team) -> None:
    today = datetime.now(UTC).date()
    old = report(node_ctx, incident_year=2020)
    urgent = report(node_ctx, incident_year=today.year, incident_month=today.month,
                    incident_day=today.day)
    queue = node_ctx.cases.queue(team.coordinator)
    assert [e.view.id for e in queue][:2] == [urgent.report_id, old.report_id]
    assert queue[0].urgency.level == "pep"


def test_incidents_and_analyst_view(node_ctx: NodeContext, team: Team) -> None:
    cases = node_ctx.cases
    survivor = report(node_ctx, Consent(statistics=True))
    witness = report(node_ctx, Consent(statistics=True))
    coding = IncidentCoding(category="rape", region="R1", perpetrator_affiliation="militia",
                            survivor_sex="female", survivor_age_group="18-24",
                            context="non_international_armed_conflict")
    inc = cases.code_incident(team.coordinator, survivor.report_id, coding)
    cases.link_incident(team.coordinator, witness.report_id, inc, survivor.report_id)
    rows = open_codings(node_ctx.db, team.analyst)
    assert len(rows) == 1 and rows[0].coding == coding
    assert sorted(rows[0].report_ids) == sorted([survivor.report_id, witness.report_id])
    assert coding.provision() == "Art. 8(2)(e)(vi)"
    # the analyst cannot read a narrative
    with pytest.raises(errors.Forbidden):
        cases.read(team.analyst, survivor.report_id)
    # revoking statistics consent removes the incident from analysis at once
    access = node_ctx.intake.open_receipt(witness.code, witness.secret)
    node_ctx.intake.change_consent(access, Consent(statistics=False))
    assert open_codings(node_ctx.db, team.analyst) == []
    # an assigned caseworker reads and recodes the incidents of their case
    cases.assign(team.coordinator, survivor.report_id, team.caseworker.member.id)
    assert cases.read(team.caseworker, survivor.report_id).incidents[0][1] == coding
    cases.code_incident(team.caseworker, survivor.report_id,
                        coding.model_copy(update={"perpetrator_count": 3}), inc)
    assert cases.read(team.coordinator, witness.report_id).incidents[0][1].perpetrator_count == 3


def test_crypto_shredding(node_ctx: NodeContext, team: Team, tmp_path) -> None:  # type: ignore[no-untyped-def]
    cases = node_ctx.cases
    r = report(node_ctx, Consent(statistics=True))
    cases.assign(team.coordinator, r.report_id, team.caseworker.member.id)
    cases.add_note(team.caseworker, r.report_id, f"{CANARY} note")
    cases.send_message(team.caseworker, r.report_id, f"{CANARY} message")
    cases.code_incident(team.coordinator, r.report_id, IncidentCoding(category="rape",
                                                                      unit_named=CANARY))
    sealed = node_ctx.db.read().execute("SELECT sealed_key FROM reports WHERE id = ?",
                                        (r.report_id,)).fetchone()[0]
    cases.delete(team.coordinator, r.report_id, "reporter asked by phone")

    db = node_ctx.db.read()
    for table in ("reports", "case_key_wraps", "case_notes", "messages", "incident_links",
                  "report_items", "consent_events", "status_events"):
        assert db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0] == 0, table
    assert db.execute("SELECT COUNT(*) FROM incidents").fetchone()[0] == 0
    # no key anyone holds opens it: every wrap is gone, and nothing is left to open
    for person in (team.coordinator, team.caseworker):
        with pytest.raises((errors.Forbidden, errors.ReportGone)):
            cases.case_key(person, r.report_id)
    with pytest.raises(errors.ReceiptRejected):
        node_ctx.intake.open_receipt(r.code, r.secret)
    recovered_intake = keyring.open_with_recovery  # the recovery key opens the intake key...
    assert recovered_intake is not None
    # ...but the report's sealed key no longer exists anywhere in the database files
    assert files_containing(node_ctx.datadir.root, sealed) == []
    assert files_containing(node_ctx.datadir.root, CANARY.encode()) == []
    assert db.execute("SELECT reason FROM deletions").fetchone()[0] == "reporter asked by phone"
    actions = [r[0] for r in db.execute("SELECT action FROM audit_log")]
    assert actions[-1] == "case.delete"


def test_search_is_in_memory_and_scoped(node_ctx: NodeContext, team: Team) -> None:
    a = report(node_ctx, narrative="the soldiers came at dawn to the river village")
    b = report(node_ctx, narrative="a convoy near the market")
    cases = node_ctx.cases
    index = index_for(cases, team.coordinator)
    assert index.search("river VILL") == {a.report_id}
    assert index.search("convoy") == {b.report_id}
    cases.assign(team.coordinator, b.report_id, team.caseworker.member.id)
    assert index_for(cases, team.caseworker).search("river") == set()
    assert files_containing(node_ctx.datadir.root, b"soldiers") == []


def test_retention_notice_and_sweep(node_ctx: NodeContext, team: Team) -> None:
    cases = node_ctx.cases
    r = report(node_ctx)
    keep = report(node_ctx)
    cases.set_retention(team.coordinator, r.report_id, 30)
    assert cases.due_for_deletion(within_days=29) == []
    assert [i for i, _ in cases.due_for_deletion(within_days=31)] == [r.report_id]
    later = datetime.now(UTC) + timedelta(days=31)
    cases.clock = lambda: later
    node_ctx.intake.clock = lambda: later
    assert cases.sweep_retention() == [r.report_id]
    assert node_ctx.intake.count_reports() == 1
    assert cases.read(team.coordinator, keep.report_id)


def test_queue_never_drops_a_report_in_an_urgent_window(node_ctx: NodeContext,
                                                         team: Team) -> None:
    today = datetime.now(UTC).date()
    urgent = report(node_ctx, incident_year=today.year, incident_month=today.month,
                    incident_day=today.day)
    for i in range(5):  # newer routine reports fill a small queue
        report(node_ctx, narrative=f"routine {i}", incident_year=2020)
    ids = [e.view.id for e in node_ctx.cases.queue(team.coordinator, limit=3)]
    assert ids[0] == urgent.report_id


def test_search_index_follows_new_unassigned_and_deleted_cases(node_ctx: NodeContext,
                                                               team: Team) -> None:
    cases = node_ctx.cases
    a = report(node_ctx, narrative="the convoy at the bridge")
    index = index_for(cases, team.coordinator)
    assert index.search("convoy") == {a.report_id}
    b = report(node_ctx, narrative="another convoy later")
    index = index_for(cases, team.coordinator, index)
    assert index.search("convoy") == {a.report_id, b.report_id}  # the new case is added
    cases.delete(team.coordinator, a.report_id, "test")
    index = index_for(cases, team.coordinator, index)
    assert index.search("bridge") == set()  # nothing of a deleted case stays
    cases.assign(team.coordinator, b.report_id, team.caseworker.member.id)
    mine = index_for(cases, team.caseworker)
    assert mine.search("convoy") == {b.report_id}
    cases.unassign(team.coordinator, b.report_id, team.caseworker.member.id)
    assert index_for(cases, team.caseworker, mine).search("convoy") == set()
