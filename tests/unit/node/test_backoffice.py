"""Case work over a real node: access enforced by the application AND by cryptography,
consent gates, crypto-shredding, urgency, incidents, search, retention."""

from __future__ import annotations

import gc
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crypto import passphrase as pw
from crypto.errors import DecryptionError
from crypto.keys import DataKey
from node import accounts, errors, keyring
from node.backoffice.codings import open_codings
from node.backoffice.incidents import IncidentCoding
from node.backoffice.search import SearchIndex, index_for, words
from node.backoffice.urgency import assess
from node.context import NodeContext, open_node
from node.datadir import DataDir
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
    with pytest.raises(errors.Forbidden):
        node_ctx.cases.read(team.caseworker, r.report_id)
    # bypass the application check: the key itself is missing
    with pytest.raises(errors.Forbidden):
        node_ctx.case_access.case_key(team.caseworker, r.report_id)
    # even with the sealed row in hand, the caseworker's key cannot open it
    sealed = node_ctx.db.read().execute("SELECT sealed_key FROM reports WHERE id = ?",
                                        (r.report_id,)).fetchone()[0]
    with pytest.raises(DecryptionError):
        team.caseworker.secret_key.open_data_key(sealed)

    node_ctx.case_access.assign(team.coordinator, r.report_id, team.caseworker.member.id)
    view = node_ctx.cases.read(team.caseworker, r.report_id)
    assert CANARY in view.report.record["narrative"]
    assert view.report.status == "assigned"
    with pytest.raises(errors.Forbidden):
        node_ctx.cases.read(team.other_caseworker, r.report_id)

    node_ctx.case_access.unassign(team.coordinator, r.report_id, team.caseworker.member.id)
    with pytest.raises(errors.Forbidden):
        node_ctx.case_access.case_key(team.caseworker, r.report_id)


def test_roles_are_enforced_by_the_service(node_ctx: NodeContext, team: Team) -> None:
    r = report(node_ctx)
    for person in (team.admin, team.analyst, team.caseworker):
        with pytest.raises(errors.Forbidden):
            node_ctx.case_access.assign(person, r.report_id, team.caseworker.member.id)
        with pytest.raises(errors.Forbidden):
            node_ctx.cases.queue(person)
        with pytest.raises(errors.Forbidden):
            node_ctx.deletion.by_staff(person, r.report_id, "other", "no")
    with pytest.raises(errors.Forbidden):
        # admin: accounts, never case content by default
        node_ctx.cases.read(team.admin, r.report_id)
    with pytest.raises(errors.Forbidden):
        node_ctx.cases.read(team.analyst, r.report_id)


def test_case_work_and_conversation(node_ctx: NodeContext, team: Team) -> None:
    r = report(node_ctx, Consent(care=True))
    node_ctx.case_access.assign(team.coordinator, r.report_id, team.caseworker.member.id)
    node_ctx.timeline.add_note(team.caseworker, r.report_id, f"{CANARY} note")
    node_ctx.timeline.add_task(team.caseworker, r.report_id, f"{CANARY} task", None)
    node_ctx.conversations.send(team.caseworker, r.report_id, f"{CANARY} hello from staff")
    access = node_ctx.intake.open_receipt(r.code, r.secret)
    msgs = node_ctx.conversations.for_reporter(access.report_id, access.data_key)
    assert [m.body["text"] for m in msgs] == [f"{CANARY} hello from staff"]
    node_ctx.conversations.reply(access.report_id, access.data_key, f"{CANARY} thank you")
    view = node_ctx.cases.read(team.caseworker, r.report_id)
    assert [m.extra["direction"] for m in view.messages] == ["to_reporter", "from_reporter"]
    assert view.notes[0].body["text"] == f"{CANARY} note"
    node_ctx.timeline.complete_task(team.caseworker, r.report_id, view.tasks[0].id)
    node_ctx.timeline.set_status(team.caseworker, r.report_id, "closed")
    view = node_ctx.cases.read(team.coordinator, r.report_id)
    assert [s for _, _, s in view.statuses] == ["assigned", "closed"]
    assert view.tasks[0].extra["done_at"] is not None
    assert files_containing(node_ctx.datadir.root, CANARY.encode()) == []


def test_referral_consent_gate(node_ctx: NodeContext, team: Team) -> None:
    r = report(node_ctx)
    with pytest.raises(errors.ConsentMissing):
        node_ctx.referrals.refer(team.coordinator, r.report_id, "clinic", "medical need")
    access = node_ctx.intake.open_receipt(r.code, r.secret)
    node_ctx.intake.change_consent(access, Consent(referral=True))
    ref = node_ctx.referrals.refer(team.coordinator, r.report_id, "clinic", "medical need")
    node_ctx.referrals.record_outcome(team.coordinator, r.report_id, ref, "seen next day")
    view = node_ctx.cases.read(team.coordinator, r.report_id)
    assert view.referrals[0].body["outcome"] == "seen next day"
    assert view.report.status == "referred"
    node_ctx.intake.change_consent(access, Consent(referral=False))
    with pytest.raises(errors.ConsentMissing):
        node_ctx.referrals.refer(team.coordinator, r.report_id, "clinic", "again")
    with pytest.raises(errors.UnknownChoice):
        node_ctx.referrals.refer(team.coordinator, r.report_id, "no-such-service", "x")


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
    survivor = report(node_ctx, Consent(statistics=True))
    witness = report(node_ctx, Consent(statistics=True))
    coding = IncidentCoding(category="rape", region="R1", perpetrator_affiliation="militia",
                            survivor_sex="female", survivor_age_group="18-24",
                            context="non_international_armed_conflict")
    inc = node_ctx.incidents.code(team.coordinator, survivor.report_id, coding)
    node_ctx.incidents.link(team.coordinator, witness.report_id, inc, survivor.report_id)
    rows = open_codings(node_ctx.db, team.analyst)
    assert len(rows) == 1 and rows[0].coding == coding
    assert sorted(rows[0].report_ids) == sorted([survivor.report_id, witness.report_id])
    assert coding.provision() == "Art. 8(2)(e)(vi)"
    # the analyst cannot read a narrative
    with pytest.raises(errors.Forbidden):
        node_ctx.cases.read(team.analyst, survivor.report_id)
    # revoking statistics consent removes the incident from analysis at once
    access = node_ctx.intake.open_receipt(witness.code, witness.secret)
    node_ctx.intake.change_consent(access, Consent(statistics=False))
    assert open_codings(node_ctx.db, team.analyst) == []
    # an assigned caseworker reads and recodes the incidents of their case
    node_ctx.case_access.assign(team.coordinator, survivor.report_id, team.caseworker.member.id)
    assert node_ctx.cases.read(team.caseworker, survivor.report_id).incidents[0][1] == coding
    node_ctx.incidents.code(team.caseworker, survivor.report_id,
                            coding.model_copy(update={"perpetrator_count": 3}), inc)
    recoded = node_ctx.cases.read(team.coordinator, witness.report_id).incidents[0][1]
    assert recoded.perpetrator_count == 3


def test_crypto_shredding(node_ctx: NodeContext, team: Team, tmp_path) -> None:  # type: ignore[no-untyped-def]
    r = report(node_ctx, Consent(statistics=True))
    node_ctx.case_access.assign(team.coordinator, r.report_id, team.caseworker.member.id)
    node_ctx.timeline.add_note(team.caseworker, r.report_id, f"{CANARY} note")
    node_ctx.conversations.send(team.caseworker, r.report_id, f"{CANARY} message")
    node_ctx.incidents.code(team.coordinator, r.report_id, IncidentCoding(category="rape",
                                                                      unit_named=CANARY))
    sealed = node_ctx.db.read().execute("SELECT sealed_key FROM reports WHERE id = ?",
                                        (r.report_id,)).fetchone()[0]
    node_ctx.deletion.by_staff(team.coordinator, r.report_id, "reporter request",
                               "reporter asked by phone")

    db = node_ctx.db.read()
    for table in ("reports", "case_key_wraps", "case_notes", "messages", "incident_links",
                  "report_items", "consent_events", "status_events"):
        assert db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0] == 0, table
    assert db.execute("SELECT COUNT(*) FROM incidents").fetchone()[0] == 0
    # no key anyone holds opens it: every wrap is gone, and nothing is left to open
    for person in (team.coordinator, team.caseworker):
        with pytest.raises((errors.Forbidden, errors.ReportGone)):
            node_ctx.case_access.case_key(person, r.report_id)
    with pytest.raises(errors.ReceiptRejected):
        node_ctx.intake.open_receipt(r.code, r.secret)
    recovered_intake = keyring.open_with_recovery  # the recovery key opens the intake key...
    assert recovered_intake is not None
    # ...but the report's sealed key no longer exists anywhere in the database files
    assert files_containing(node_ctx.datadir.root, sealed) == []
    assert files_containing(node_ctx.datadir.root, CANARY.encode()) == []
    # the reason is a code of the closed list; the coordinator's words are sealed to the
    # intake key, and in clear nowhere (issue 11)
    reason, note_ct = db.execute("SELECT reason, note_ct FROM deletions").fetchone()
    assert reason == "reporter request"
    assert files_containing(node_ctx.datadir.root, b"asked by phone") == []
    intake = team.coordinator.node_keys[accounts.INTAKE_KEY]
    assert intake.open(note_ct) == b"reporter asked by phone"
    actions = [r[0] for r in db.execute("SELECT action FROM audit_log")]
    assert actions[-1] == "case.delete"


def test_search_is_in_memory_and_scoped(node_ctx: NodeContext, team: Team) -> None:
    a = report(node_ctx, narrative="the soldiers came at dawn to the river village")
    b = report(node_ctx, narrative="a convoy near the market")
    index = index_for(node_ctx.cases, team.coordinator)
    assert index.search("river VILL") == {a.report_id}
    assert index.search("convoy") == {b.report_id}
    node_ctx.case_access.assign(team.coordinator, b.report_id, team.caseworker.member.id)
    assert index_for(node_ctx.cases, team.caseworker).search("river") == set()
    assert files_containing(node_ctx.datadir.root, b"soldiers") == []


_WORDS = ("river", "rivers", "convoy", "bridge", "ri", "soldiers", "Rivière", "br")


@settings(max_examples=100, deadline=None)
@given(st.lists(st.lists(st.sampled_from(_WORDS), max_size=5), max_size=12),
       st.integers(0, 12), st.lists(st.sampled_from([*_WORDS, "riv", "sol"]), max_size=3))
def test_search_index_built_in_pieces_finds_what_a_scan_finds(
        docs: list[list[str]], cut: int, query: list[str]) -> None:
    """Postings are packed bytes, extended by each `add`: an index built in two steps
    answers every query like a scan of the texts (all terms, prefixes of 3 letters or
    more)."""
    texts = [(f"doc{n}", " ".join(ws)) for n, ws in enumerate(docs)]
    index = SearchIndex(texts[:cut])
    index.add(texts[cut:])
    terms = words(" ".join(query))

    def holds(text: str, term: str) -> bool:
        return any(w == term or (len(term) >= 3 and w.startswith(term)) for w in words(text))

    expected = {i for i, t in texts if all(holds(t, term) for term in terms)} if terms else set()
    assert index.search(" ".join(query)) == expected


def test_search_postings_are_not_walked_by_the_garbage_collector() -> None:
    """A full collection walks every tracked object, every signed-in person's index
    included: words to packed bytes are not tracked (arrays are, since Python 3.10)."""
    index = SearchIndex([("a", "soldiers at the river"), ("b", "the river crossing")])
    index.add([("c", "soldiers again")])
    gc.collect()
    assert not gc.is_tracked(index._postings)
    assert index.search("riv") == {"a", "b"} and index.search("soldiers") == {"a", "c"}


def test_retention_notice_and_sweep(node_dir: DataDir) -> None:
    now = [datetime.now(UTC)]
    ctx = open_node(node_dir, staff_params=pw.INSECURE_FAST_FOR_TESTS,
                    receipt_params=pw.INSECURE_FAST_FOR_TESTS, clock=lambda: now[0])
    try:
        team = make_team(ctx)
        r = report(ctx)
        keep = report(ctx)
        ctx.retention.set(team.coordinator, r.report_id, 30)
        assert ctx.retention.due(within_days=29) == []
        assert [i for i, _ in ctx.retention.due(within_days=31)] == [r.report_id]
        assert ctx.retention.of_case(r.report_id)[0] == 30
        now[0] += timedelta(days=31)
        assert ctx.retention.sweep() == [r.report_id]
        assert ctx.db.read().execute("SELECT COUNT(*) FROM reports").fetchone()[0] == 1
        assert ctx.cases.read(team.coordinator, keep.report_id)
        assert ctx.db.read().execute("SELECT reason FROM deletions").fetchone()[0] == (
            "retention period ended")
    finally:
        ctx.close()


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
    a = report(node_ctx, narrative="the convoy at the bridge")
    index = index_for(node_ctx.cases, team.coordinator)
    assert index.search("convoy") == {a.report_id}
    b = report(node_ctx, narrative="another convoy later")
    index = index_for(node_ctx.cases, team.coordinator, index)
    assert index.search("convoy") == {a.report_id, b.report_id}  # the new case is added
    node_ctx.deletion.by_staff(team.coordinator, a.report_id, "not a report")
    index = index_for(node_ctx.cases, team.coordinator, index)
    assert index.search("bridge") == set()  # nothing of a deleted case stays
    node_ctx.case_access.assign(team.coordinator, b.report_id, team.caseworker.member.id)
    mine = index_for(node_ctx.cases, team.caseworker)
    assert mine.search("convoy") == {b.report_id}
    node_ctx.case_access.unassign(team.coordinator, b.report_id, team.caseworker.member.id)
    assert index_for(node_ctx.cases, team.caseworker, mine).search("convoy") == set()
