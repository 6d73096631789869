"""The one deletion path (`node.backoffice.deletion`): whoever asks -- a coordinator, the
reporter, the end of the retention period -- every store derived from the report is
erased, with canaries in each, and no byte of them is left in the data directory.

`ERASED` lists how each derived store is checked: registering a store without adding its
check here fails `test_every_derived_store_has_an_erasure_check`.
"""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from crypto import passphrase as pw
from crypto.keys import BoxSecretKey, DataKey, SigningKey
from node import errors
from node.analysis.adapted import AdaptedModels
from node.analysis.model import Example
from node.backoffice import inbox
from node.backoffice.incidents import IncidentCoding
from node.backoffice.search import index_for
from node.channels import sms_pins
from node.context import NodeContext, open_node
from node.datadir import DataDir
from node.demo import tiny_png
from node.experts import needs
from node.experts.thread_content import checked
from node.imports.importer import original_context
from node.intake.models import AdditionInput, Consent, ReportInput
from node.intake.service import Receipt
from node.matching import introductions
from node.matching.notices import record_notice
from node.matching.recipe import Identifiers
from node.statistics.budget import Ledger
from node.web.app import create_app
from node.web.staff import suggestions
from protocol.matching import MatchNotice
from tests.conftest import ADMIN, ADMIN_PASSPHRASE, CANARY, files_containing
from tests.expert_vetting import engaged, vetted_expert
from tests.integration.conftest import csrf_of
from tests.team import Team, make_team

# What each derived store holds about a report, counted in SQL.
ERASED: dict[str, str] = {
    "incident codings and links": "SELECT COUNT(*) FROM incident_links WHERE report_id = ?",
    "report items and their files": "SELECT COUNT(*) FROM report_items WHERE report_id = ?",
    "consent history": "SELECT COUNT(*) FROM consent_events WHERE report_id = ?",
    "case key wraps (assignments)": "SELECT COUNT(*) FROM case_key_wraps WHERE report_id = ?",
    "case key generations and the reporter's key":  # issue 13: every generation's wrap
        "SELECT (SELECT COUNT(*) FROM case_key_generations WHERE report_id = ?1)"
        " + (SELECT COUNT(*) FROM key_certificates WHERE subject = 'reporter:' || ?1)",
    "status history": "SELECT COUNT(*) FROM status_events WHERE report_id = ?",
    "case notes": "SELECT COUNT(*) FROM case_notes WHERE report_id = ?",
    "case tasks": "SELECT COUNT(*) FROM case_tasks WHERE report_id = ?",
    "messages with the reporter": "SELECT COUNT(*) FROM messages WHERE report_id = ?",
    "referrals": "SELECT COUNT(*) FROM referrals WHERE report_id = ?",
    "statistics drafts and per-report privacy charges":
        "SELECT COUNT(*) FROM statistics_report_charges WHERE report_id = ?",
    "inbox read marks": "SELECT COUNT(*) FROM inbox_marks WHERE report_id = ?",
    "adapted suggestion model and its training examples":
        "SELECT (SELECT COUNT(*) FROM analysis_examples WHERE report_id = ?1)"
        " + (SELECT COUNT(*) FROM analysis_model_reports WHERE report_id = ?1)",
    "decisions on suggested codings":
        "SELECT COUNT(*) FROM suggestion_decisions WHERE report_id = ?",
    "expert shares":  # what was shared from it, and its sealed parts not yet sent
        "SELECT (SELECT COUNT(*) FROM expert_shares_sent WHERE report_id = ?1)"
        " + (SELECT COUNT(*) FROM expert_share_parts p JOIN expert_shares_sent s"
        " ON s.share_id = p.share_id WHERE s.report_id = ?1 OR s.report_id IS NULL)",
    "expert needs and engagements for it":  # the need's sealed description included
        "SELECT (SELECT COUNT(*) FROM expert_needs WHERE report_id = ?1)"
        " + (SELECT COUNT(*) FROM expert_engagements WHERE report_id = ?1)",
    "expert threads":  # issue 16: its threads and every message in them (on this node)
        "SELECT (SELECT COUNT(*) FROM expert_threads WHERE report_id = ?1)"
        " + (SELECT COUNT(*) FROM expert_thread_messages m JOIN expert_threads t"
        " ON t.thread_id = m.thread_id AND t.local_key = m.reader_key"
        " WHERE t.report_id = ?1 OR t.close_reason = 'reporter')",
    "imported submission originals":
        "SELECT COUNT(*) FROM imported_submissions WHERE report_id = ?",
    "SMS status PIN and notice number":
        "SELECT COUNT(*) FROM sms_status_pins WHERE report_id = ?",
    "perpetrator identifiers":  # issue 18
        "SELECT COUNT(*) FROM perpetrator_identifiers WHERE report_id = ?",
    "expert opinions":  # issue 16: an expert's signed opinion about it
        "SELECT COUNT(*) FROM expert_opinions WHERE report_id = ?",
    "matching tokens and matches (withdrawn from the observatory)":
        "SELECT (SELECT COUNT(*) FROM matching_tokens WHERE report_id = ?1)"
        " + (SELECT COUNT(*) FROM matching_matches WHERE report_id = ?1)",
    "matching introductions":  # issue 18: a coordinator's agreement to be introduced
        "SELECT COUNT(*) FROM matching_introductions WHERE report_id = ?",
}
TOKEN = bytes(range(64))  # a made-up OPRF output: what the node stores is opaque bytes


class Clock:
    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def ctx(node_dir: DataDir, clock: Clock) -> Iterator[NodeContext]:
    context = open_node(node_dir, staff_params=pw.INSECURE_FAST_FOR_TESTS,
                        receipt_params=pw.INSECURE_FAST_FOR_TESTS, clock=clock)
    yield context
    context.close()


@pytest.fixture
def team(ctx: NodeContext) -> Team:
    return make_team(ctx)


def submit(ctx: NodeContext, narrative: str) -> Receipt:
    key = DataKey.generate()
    w = ctx.intake.attachment_writer(key, ctx.intake.allowance(), f"{CANARY}-file.png")
    w.feed(tiny_png(1) + CANARY.encode())
    return ctx.intake.submit(ReportInput(narrative=narrative, consent=Consent(
        care=True, referral=True, statistics=True)), key, [w.finish()], "test")


def fill(ctx: NodeContext, team: Team, r: Receipt, shared_incident_from: str) -> str:
    """Something in every derived store of `r`, a canary in each text; returns the id of an
    incident only `r` describes."""
    access = ctx.intake.open_receipt(r.code, r.secret)
    ctx.intake.add_information(access, AdditionInput(text=f"{CANARY} added later"), [])
    ctx.intake.change_consent(access, Consent(care=True, referral=True, legal=True,
                                              sharing=True, share_account=True,
                                              share_scope_set=True, matching=True))
    ctx.case_access.assign(team.coordinator, r.report_id, team.caseworker.member.id)
    ctx.case_access.rotate_key(team.coordinator, r.report_id)  # a second generation (issue 13)
    access = ctx.intake.open_receipt(r.code, r.secret)
    ctx.timeline.add_note(team.caseworker, r.report_id, f"{CANARY} note")
    ctx.timeline.add_task(team.caseworker, r.report_id, f"{CANARY} task", None)
    ctx.conversations.send(team.caseworker, r.report_id, f"{CANARY} from staff")
    ctx.conversations.reply(access.report_id, access.data_key, f"{CANARY} from the reporter")
    inbox.mark_seen(ctx.db, team.caseworker.member.id, r.report_id,
                    inbox.latest(ctx.db.read(), r.report_id), 0)
    ctx.referrals.refer(team.coordinator, r.report_id, "clinic", f"{CANARY} shared")
    own = ctx.incidents.code(team.coordinator, r.report_id, IncidentCoding(
        category="rape", unit_named=f"{CANARY} unit"))
    shared = ctx.incidents.code(team.coordinator, shared_incident_from, IncidentCoding(
        category="sexual_slavery", unit_named="described by another report too"))
    ctx.incidents.link(team.coordinator, r.report_id, shared, shared_incident_from)
    with ctx.db.write() as w:  # a draft that counted it: charged to its lifetime account
        Ledger.charge(w, release_id="d" * 32, period="2025", plan_version=1, tables=["t"],
                      epsilon=0.5, budget=2.0, created_hour=0, payload_key=b"k",
                      payload_ct=b"c", drafted_by=team.analyst.member.id)
        Ledger.charge_reports(w, "d" * 32, {r.report_id: 0.5})
    adapted = AdaptedModels(ctx.db, ctx.keys.intake_public, ctx.keys.analysis_public, lambda: 0)
    adapted.add_example(r.report_id, Example(f"{CANARY} they raped me", True,
                                             frozenset({"rape"})))
    adapted.retrain(team.coordinator)
    suggestions.service(ctx).decide(team.caseworker, r.report_id, "is_crsv", "rejected")
    expert = vetted_expert(ctx, [ctx], ctx.datadir.root.parent / f"vetting-{r.report_id}",
                           username=f"expert-{r.report_id[:8]}")
    ctx.shares.share(team.coordinator,
                     engagement_id=engaged(ctx, expert.expert_key, r.report_id),
                     report_id=r.report_id,
                     expert_key=expert.expert_key, groups=["narrative"], files=[],
                     expires=int(ctx.clock().timestamp()) + 3600,
                     observatory_key=expert.observatory_key)
    needs.post(ctx.db, ctx.audit, team.coordinator, node_id=ctx.keys.node_id,
               observatory_key=expert.observatory_key, specialty="forensic_medicine",
               languages=["fr"], country="CD", regions=[], mode="remote", urgency="routine",
               deadline_hours=24, description=f"{CANARY} needs a doctor",
               report_id=r.report_id, now=int(ctx.clock().timestamp()))
    # a conversation about it with another organisation's coordinator (issue 16)
    thread_id = secrets.token_hex(16)
    ctx.threads.introduce(team.coordinator, thread_id=thread_id, peer_node="0f" * 16,
                          peer_key=SigningKey.generate().verify_key.raw().hex(),
                          peer_box_key=BoxSecretKey.generate().public_key.raw().hex(),
                          report_id=r.report_id)
    ctx.threads.send(team.coordinator, thread_id, checked(f"{CANARY} about the case", None))
    with ctx.db.write() as w:  # its original, as an import from a field tool keeps it
        w.execute("INSERT INTO imported_submissions (submission_index, source, report_id,"
                  " imported_hour, original_ct) VALUES (?, 'kobo', ?, 0, ?)",
                  (ctx.keys.receipt_index.submission_index("kobo", r.report_id), r.report_id,
                   access.data_key.encrypt(f"{CANARY} original".encode(),
                                           original_context(r.report_id))))
    with ctx.db.write() as w:  # an expert's opinion about it, opened under the case key
        w.execute("INSERT INTO expert_opinions (opinion_id, engagement_id, report_id, "
                  "expert_key, statement, signature, credential, digests, opinion_ct, "
                  "leaf_index, received_at) VALUES (?, ?, ?, ?, '{}', '', '{}', '', ?, 0, 0)",
                  ("0f" * 16, "0e" * 16, r.report_id, expert.expert_key,
                   access.data_key.encrypt(f"{CANARY} opinion".encode(), b"expert-opinion:")))
    sms_pins.set_pin(ctx.db, ctx.keys.receipt_index, ctx.intake, r.report_id,
                     access.data_key, sms_pins.Choice("123456", "en", True, f"+243{CANARY}"), 0)
    confirmed, _ = ctx.perpetrators.confirm(team.caseworker, r.report_id, Identifiers(
        names=(f"{CANARY} Commander",), group=f"{CANARY} Brigade of the Hills"))
    ctx.perpetrators.record_tokens(r.report_id, confirmed, 1, [("name_group", TOKEN)])
    with ctx.db.write() as w:  # submitted, and the observatory said it matched
        w.execute("UPDATE matching_tokens SET submitted_at = 1")
        ref = w.execute("SELECT case_ref FROM matching_tokens").fetchone()[0]
        record_notice(w, MatchNotice(notice_id="ab" * 16, case_ref=ref,
                                     other_organisations=1, epoch=1), 1)
        # the coordinator agreed to be introduced to the other side (issue 18)
        introductions.ask(w, ctx.keys.certifier, ctx.keys.node_id, team.coordinator,
                          r.report_id, ref, 1)
    conn = ctx.db.read()
    for name, count in ERASED.items():
        assert conn.execute(count, (r.report_id,)).fetchone()[0] > 0, name
    return own


def test_every_derived_store_has_an_erasure_check(ctx: NodeContext) -> None:
    assert sorted(s.name for s in ctx.deletion.stores) == sorted(ERASED)


@pytest.mark.parametrize("asker", ["coordinator", "reporter", "retention"])
def test_deletion_erases_every_derived_store(ctx: NodeContext, team: Team, clock: Clock,
                                             asker: str) -> None:
    other = submit(ctx, "another report, kept")
    r = submit(ctx, f"{CANARY} what happened")
    own_incident = fill(ctx, team, r, other.report_id)
    sealed = ctx.db.read().execute("SELECT sealed_key FROM reports WHERE id = ?",
                                   (r.report_id,)).fetchone()[0]
    (generation_wrap,) = ctx.db.read().execute(  # generation 0 under generation 1
        "SELECT previous_wrap FROM case_key_generations WHERE report_id = ?",
        (r.report_id,)).fetchone()
    if asker == "coordinator":
        ctx.deletion.by_staff(team.coordinator, r.report_id, "other", f"{CANARY} asked by phone")
        reason, actor = "other", team.coordinator.member.id
    elif asker == "reporter":
        ctx.deletion.by_reporter(ctx.intake.open_receipt(r.code, r.secret).report_id)
        reason, actor = "reporter request", "reporter"
    else:
        ctx.retention.set(team.coordinator, r.report_id, 1)
        clock.now += timedelta(days=2)
        assert ctx.retention.sweep() == [r.report_id]
        reason, actor = "retention period ended", "system"

    conn = ctx.db.read()
    for name, count in ERASED.items():
        assert conn.execute(count, (r.report_id,)).fetchone()[0] == 0, name
    assert conn.execute("SELECT COUNT(*) FROM reports WHERE id = ?",
                        (r.report_id,)).fetchone()[0] == 0
    # an incident only this report described is gone; one another report describes stays
    incidents = {row[0] for row in conn.execute("SELECT id FROM incidents")}
    assert own_incident not in incidents and len(incidents) == 1
    assert ctx.cases.read(team.coordinator, other.report_id).incidents
    # nothing of it is left anywhere: not the canaries, not its sealed key
    assert files_containing(ctx.datadir.root, CANARY.encode()) == []
    assert files_containing(ctx.datadir.root, sealed) == []
    assert files_containing(ctx.datadir.root, generation_wrap) == []
    # its case reference waits to be withdrawn from the observatory, no longer tied to it
    (withdrawn,) = conn.execute("SELECT case_ref FROM matching_withdrawals").fetchall()
    assert len(withdrawn[0]) == 32 and conn.execute(
        "SELECT COUNT(*) FROM matching_tokens WHERE case_ref = ?", withdrawn).fetchone()[0] == 0
    with pytest.raises(errors.ReceiptRejected):
        ctx.intake.open_receipt(r.code, r.secret)
    # what stays: that it existed, when it went, who asked and why
    assert conn.execute("SELECT reason FROM deletions WHERE report_id = ?",
                        (r.report_id,)).fetchone()[0] == reason
    last = conn.execute("SELECT actor, action, detail FROM audit_log WHERE object_id = ?"
                        " ORDER BY seq DESC LIMIT 1", (r.report_id,)).fetchone()
    assert tuple(last) == (actor, "case.delete", reason)


def test_deleting_twice_or_without_the_role(ctx: NodeContext, team: Team) -> None:
    r = submit(ctx, "a report")
    for person in (team.admin, team.analyst, team.caseworker):
        with pytest.raises(errors.Forbidden):
            ctx.deletion.by_staff(person, r.report_id, "other", "no")
    ctx.deletion.by_staff(team.coordinator, r.report_id, "not a report")
    with pytest.raises(errors.ReportGone):
        ctx.deletion.by_staff(team.coordinator, r.report_id, "duplicate")
    with pytest.raises(errors.ReportGone):
        ctx.deletion.by_reporter(r.report_id)


def _assert_erased(ctx: NodeContext, r: Receipt, sealed: bytes, own_incident: str,
                   actor: str, reason: str) -> None:
    conn = ctx.db.read()
    for name, count in ERASED.items():
        assert conn.execute(count, (r.report_id,)).fetchone()[0] == 0, name
    assert conn.execute("SELECT COUNT(*) FROM reports WHERE id = ?",
                        (r.report_id,)).fetchone()[0] == 0
    assert own_incident not in {row[0] for row in conn.execute("SELECT id FROM incidents")}
    assert files_containing(ctx.datadir.root, CANARY.encode()) == []
    assert files_containing(ctx.datadir.root, sealed) == []
    # its case reference waits to be withdrawn from the observatory, no longer tied to it
    (withdrawn,) = conn.execute("SELECT case_ref FROM matching_withdrawals").fetchall()
    assert len(withdrawn[0]) == 32 and conn.execute(
        "SELECT COUNT(*) FROM matching_tokens WHERE case_ref = ?", withdrawn).fetchone()[0] == 0
    last = conn.execute("SELECT actor, action, detail FROM audit_log WHERE object_id = ?"
                        " ORDER BY seq DESC LIMIT 1", (r.report_id,)).fetchone()
    assert tuple(last) == (actor, "case.delete", reason)


@pytest.mark.parametrize("entry", ["receipt page", "JSON API", "staff page"])
async def test_every_entry_point_goes_through_the_one_path(
        ctx: NodeContext, team: Team, entry: str,
        aiohttp_client: Callable[..., Awaitable[TestClient[Any, Any]]]) -> None:
    """The review's finding: the reporter's deletion (receipt page, JSON API) skipped the
    case-level shredding and left the incident coding -- the reporter's own words in "unit
    named" -- readable by analysts, with no custody entry. Through the real web app, each
    entry point now erases every derived store, the in-memory search state included."""
    other = submit(ctx, "another report, kept")
    r = submit(ctx, f"{CANARY} what happened")
    own_incident = fill(ctx, team, r, other.report_id)
    sealed = ctx.db.read().execute("SELECT sealed_key FROM reports WHERE id = ?",
                                   (r.report_id,)).fetchone()[0]
    searched = index_for(ctx.cases, team.coordinator)
    assert r.report_id in searched.search(CANARY)  # the search state holds the case
    client = await aiohttp_client(create_app(ctx))
    if entry == "receipt page":
        page = await client.get("/en/receipt")
        token = csrf_of(await page.text())
        resp = await client.post("/en/receipt", allow_redirects=False, data={
            "csrf": token, "receipt": r.code, "secret": r.secret})
        assert resp.status == 303
        page = await client.get("/en/receipt/delete")
        resp = await client.post("/en/receipt/delete", allow_redirects=False, data={
            "csrf": csrf_of(await page.text()), "confirm": "yes"})
        assert resp.status == 303, await resp.text()
        actor, reason = "reporter", "reporter request"
    elif entry == "JSON API":
        resp = await client.post("/api/v1/reports/deletion", json={
            "receipt": r.code, "secret": r.secret, "confirm": True})
        assert resp.status == 200, await resp.text()
        actor, reason = "reporter", "reporter request"
    else:
        page = await client.get("/staff/login")
        resp = await client.post("/staff/login", allow_redirects=False, data={
            "csrf": csrf_of(await page.text()), "username": ADMIN,
            "passphrase": ADMIN_PASSPHRASE})
        assert resp.status == 303
        case = f"/staff/cases/{r.report_id}"
        page = await client.get(case)
        resp = await client.post(case + "/delete", allow_redirects=False, data={
            "csrf": csrf_of(await page.text()), "reason": "duplicate", "confirm": "yes"})
        assert resp.status == 303, await resp.text()
        admin = ctx.db.read().execute("SELECT id FROM staff WHERE username = ?",
                                      (ADMIN,)).fetchone()[0]
        actor, reason = admin, "duplicate"
    _assert_erased(ctx, r, sealed, own_incident, actor, reason)
    # the search state: a person's index built before drops the case at once
    assert index_for(ctx.cases, team.coordinator, searched).search(CANARY) == set()
    assert not ctx.db.checkpoint_pending
