"""Coding a case through the real staff server (issue 15): an untouched form saves nothing
and asks the coder to choose; a complete one is reviewed with its provision before it is
saved; codings are edited and withdrawn with their history sealed and custody entries
written; links are removed; candidates to link read as summaries, not hex ids. Also the
invitation page's roles, a coordinator without keys, case numbers and the receipt lookup.
Real SQLite files, a real aiohttp server on 127.0.0.1."""

from __future__ import annotations

import re
import sqlite3
from datetime import date
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from crypto import passphrase as pw
from crypto.keys import DataKey
from node import accounts
from node.backoffice.case_incidents import LastLink
from node.backoffice.case_numbers import number_of
from node.backoffice.codings import open_codings
from node.backoffice.incidents import IncidentCoding
from node.context import NodeContext
from node.intake.models import Consent, ReportInput
from node.web import appkeys
from node.web.app import create_app
from node.web.staff.common import STAFF_COOKIE
from tests.conftest import CANARY, files_containing
from tests.team import make_team

COMPLETE = {"category": "sexual_slavery", "region": "R1",
            "perpetrator_affiliation": "militia", "survivor_sex": "unknown",
            "survivor_age_group": "unknown", "context": "widespread_or_systematic_attack",
            "date_from": "2025-03-01", "date_to": "", "unit_named": "", "perpetrator_count": ""}


def _report(ctx: NodeContext, **fields: Any) -> str:
    fields.setdefault("narrative", "what happened")
    return ctx.intake.submit(ReportInput(consent=Consent(statistics=True), **fields),
                             DataKey.generate(), [], "test").report_id


async def _client(ctx: NodeContext, aiohttp_client: Any, who: Any
                  ) -> tuple[TestClient[Any, Any], str]:
    app = create_app(ctx, {"staff"})
    client: TestClient[Any, Any] = await aiohttp_client(app)
    session = app[appkeys.STAFF_SESSIONS].new(who)
    client.session.cookie_jar.update_cookies({STAFF_COOKIE: session.id})
    return client, session.csrf


def _incident_count(ctx: NodeContext) -> int:
    return int(ctx.db.read().execute("SELECT COUNT(*) FROM incidents").fetchone()[0])


async def test_the_untouched_coding_form_saves_nothing_and_asks_to_choose(
        node_ctx: NodeContext, aiohttp_client: Any) -> None:
    team = make_team(node_ctx)
    rid = _report(node_ctx, region="R1", perpetrator_affiliation="militia")
    client, csrf = await _client(node_ctx, aiohttp_client, team.coordinator)
    form = await client.get(f"/staff/cases/{rid}/incidents/new")
    html = await form.text()
    assert form.status == 200
    # nothing is pre-selected but the empty "choose" option of each question
    selected = re.findall(r'<option value="([^"]*)" selected>', html)
    assert selected == [""] * 6, selected
    # what the reporter said is offered, not chosen
    assert "The reporter said: North" in html and "as the reporter said" in html

    # the form as it comes, submitted to review and straight to save: nothing saved
    untouched = {"csrf": csrf, **dict.fromkeys(COMPLETE, "")}
    for path in ("incidents/review", "incidents"):
        r = await client.post(f"/staff/cases/{rid}/{path}", data=untouched)
        page = await r.text()
        assert r.status == 400
        assert "choose an answer for each marked question" in page
        assert page.count('aria-invalid="true"') == 6
        assert _incident_count(node_ctx) == 0
    # in the coder's language, with what was typed kept
    r = await client.post(f"/staff/cases/{rid}/incidents/review",
                          data={**untouched, "unit_named": "Bataillon 7", "category": "rape"},
                          headers={"Accept-Language": "fr"})
    page = await r.text()
    assert r.status == 400 and "Rien n’a été enregistré" in page
    assert 'value="Bataillon 7"' in page
    assert '<option value="rape" selected>' in page
    assert page.count('aria-invalid="true"') == 5
    assert _incident_count(node_ctx) == 0


async def test_a_complete_coding_is_reviewed_with_its_provision_then_saved(
        node_ctx: NodeContext, aiohttp_client: Any) -> None:
    team = make_team(node_ctx)
    rid = _report(node_ctx)
    client, csrf = await _client(node_ctx, aiohttp_client, team.coordinator)
    r = await client.post(f"/staff/cases/{rid}/incidents/review", data={"csrf": csrf,
                                                                        **COMPLETE})
    review = await r.text()
    assert r.status == 200
    assert "Art. 7(1)(g)" in review and "crime against humanity" in review
    assert _incident_count(node_ctx) == 0  # reviewing saves nothing
    # a post to save that did not come from the review page is shown for review
    r = await client.post(f"/staff/cases/{rid}/incidents", data={"csrf": csrf, **COMPLETE})
    assert r.status == 200 and "Art. 7(1)(g)" in await r.text()
    assert _incident_count(node_ctx) == 0
    # "change the answers" goes back to the form with every answer kept
    r = await client.post(f"/staff/cases/{rid}/incidents/review",
                          data={"csrf": csrf, **COMPLETE, "change": "1"})
    assert '<option value="sexual_slavery" selected>' in await r.text()
    r = await client.post(f"/staff/cases/{rid}/incidents",
                          data={"csrf": csrf, **COMPLETE, "reviewed": "yes"},
                          allow_redirects=False)
    assert r.status == 303 and r.headers["Location"].endswith(f"/staff/cases/{rid}#incidents")
    (incident,) = node_ctx.cases.read(team.coordinator, rid).incidents
    assert incident.coding == IncidentCoding(
        category="sexual_slavery", region="R1", perpetrator_affiliation="militia",
        survivor_sex="unknown", survivor_age_group="unknown",
        context="widespread_or_systematic_attack",
        date_from=date(2025, 3, 1))
    case = await (await client.get(f"/staff/cases/{rid}")).text()
    assert f"Case {number_of(rid)}" in case and "Art. 7(1)(g)" in case


async def test_edits_and_withdrawals_keep_history_write_custody_and_call_the_hooks(
        node_ctx: NodeContext, aiohttp_client: Any) -> None:
    team = make_team(node_ctx)
    survivor, witness = _report(node_ctx), _report(node_ctx)
    changed: list[str] = []
    node_ctx.incidents.coding_changed.append(lambda conn, incident_id: changed.append(
        incident_id))
    first = IncidentCoding(category="rape", unit_named=CANARY, survivor_sex="female",
                           survivor_age_group="18-24", context="unknown")
    incident = node_ctx.incidents.code(team.coordinator, survivor, first)
    assert changed == []  # a new coding changes no count a draft already has
    node_ctx.incidents.link(team.coordinator, witness, incident, survivor)
    client, csrf = await _client(node_ctx, aiohttp_client, team.coordinator)

    # the edit form starts from the coding as saved
    edit = await (await client.get(f"/staff/cases/{survivor}/incidents/{incident}/edit")).text()
    assert '<option value="rape" selected>' in edit and f'value="{incident}"' in edit
    # the linking candidates on a third case read as case number and summary
    third = _report(node_ctx)
    page = await (await client.get(f"/staff/cases/{third}")).text()
    assert f"{number_of(survivor)} — Rape — " in page or f"{number_of(witness)} — Rape" in page
    assert f">{incident[:8]} (" not in page

    r = await client.post(f"/staff/cases/{survivor}/incidents", allow_redirects=False, data={
        "csrf": csrf, **COMPLETE, "incident_id": incident, "reviewed": "yes"})
    assert r.status == 303
    r = await client.post(f"/staff/cases/{witness}/incidents/{incident}/withdraw",
                          data={"csrf": csrf})
    assert r.status == 400  # not confirmed: nothing withdrawn
    assert open_codings(node_ctx.db, team.analyst)
    r = await client.post(f"/staff/cases/{witness}/incidents/{incident}/withdraw",
                          data={"csrf": csrf, "confirm": "yes"}, allow_redirects=False)
    assert r.status == 303
    assert changed == [incident, incident, incident]  # the link, the edit, the withdrawal
    assert open_codings(node_ctx.db, team.analyst) == []  # withdrawn: no statistics count it

    (seen,) = node_ctx.cases.read(team.coordinator, survivor).incidents
    assert seen.withdrawn and seen.coding.category == "sexual_slavery"
    assert [(h.action, h.coding.category, h.actor) for h in seen.history] == [
        ("withdrawn", "sexual_slavery", team.coordinator.member.id),
        ("edited", "rape", team.coordinator.member.id)]
    # the history is sealed like the codings: the first version's words are nowhere in clear
    assert files_containing(node_ctx.datadir.root, CANARY.encode()) == []
    case = await (await client.get(f"/staff/cases/{survivor}")).text()
    assert "withdrawn" in case and "History (2 earlier versions)" in case
    # a withdrawn coding is not changed again
    r = await client.post(f"/staff/cases/{survivor}/incidents", data={
        "csrf": csrf, **COMPLETE, "incident_id": incident, "reviewed": "yes"})
    assert r.status == 400 and _incident_count(node_ctx) == 1

    actions = [row[0] for row in node_ctx.db.read().execute(
        "SELECT action FROM audit_log WHERE object_id IN (?, ?) ORDER BY seq",
        (survivor, witness))]
    for action in ("case.code", "case.link_incident", "case.recode", "case.withdraw_coding"):
        assert action in actions
    # translated on the custody page, the code kept for the CSV
    custody = await (await client.get(f"/staff/cases/{survivor}/custody",
                                      headers={"Accept-Language": "fr"})).text()
    assert "case.recode" not in re.sub(r'title="[^"]*"', "", custody)
    csv = await (await client.get(f"/staff/cases/{survivor}/custody.csv")).text()
    assert "case.recode" in csv


async def test_links_are_removed_but_never_the_last(node_ctx: NodeContext,
                                                     aiohttp_client: Any) -> None:
    team = make_team(node_ctx)
    survivor, witness = _report(node_ctx), _report(node_ctx)
    incident = node_ctx.incidents.code(team.coordinator, survivor, IncidentCoding(
        category="rape"))
    node_ctx.incidents.link(team.coordinator, witness, incident, survivor)
    client, csrf = await _client(node_ctx, aiohttp_client, team.coordinator)
    r = await client.post(f"/staff/cases/{witness}/incidents/{incident}/unlink",
                          data={"csrf": csrf}, allow_redirects=False)
    assert r.status == 303
    assert node_ctx.cases.read(team.coordinator, witness).incidents == []
    with pytest.raises(LastLink):
        node_ctx.incidents.unlink(team.coordinator, survivor, incident)
    r = await client.post(f"/staff/cases/{survivor}/incidents/{incident}/unlink",
                          data={"csrf": csrf})
    assert r.status == 400 and "withdraw the coding" in await r.text()
    assert "case.unlink_incident" in [row[0] for row in node_ctx.db.read().execute(
        "SELECT action FROM audit_log WHERE object_id = ?", (witness,))]


async def test_the_invitation_page_shows_the_invited_persons_roles(
        node_ctx: NodeContext, aiohttp_client: Any) -> None:
    """The navigation bar's `roles` once overwrote the page's: an admin inviting an
    analyst read "Administrator" (issue 15)."""
    team = make_team(node_ctx)
    client, csrf = await _client(node_ctx, aiohttp_client, team.admin)  # admin only
    r = await client.post("/staff/accounts/invite", data={
        "csrf": csrf, "username": "newanalyst", "roles": ["analyst", "caseworker"]})
    page = await r.text()
    assert r.status == 200
    sentence = re.search(r"It creates an account with these roles: ([^.]*)\.", page)
    assert sentence is not None
    assert "Analyst" in sentence.group(1) and "Caseworker" in sentence.group(1)
    assert "Administrator" not in sentence.group(1)


async def test_a_coordinator_without_keys_is_told_what_is_missing_and_who_gives_it(
        node_ctx: NodeContext, aiohttp_client: Any) -> None:
    team = make_team(node_ctx)
    with node_ctx.db.write() as conn:
        accounts.create(conn, "newcoord", "umbrella gravel orbit nineteen lantern",
                        {"coordinator"}, pw.INSECURE_FAST_FOR_TESTS, 0,
                        certifier=node_ctx.keys.certifier)
    newcoord = accounts.unlock(node_ctx.db.read(), "newcoord",
                               "umbrella gravel orbit nineteen lantern")
    assert not newcoord.node_keys
    rid = _report(node_ctx)
    client, _ = await _client(node_ctx, aiohttp_client, newcoord)
    for path in ("/staff/queue", f"/staff/cases/{rid}", "/staff/codings"):
        r = await client.get(path)
        page = await r.text()
        assert r.status == 403, path
        assert "Pending access" in page and team.coordinator.member.username in page, path
        assert "newcoord" not in page.split("Pending access", 1)[1].split("</p>")[0]
    # the list shows only the cases assigned to them, and says why
    listing = await (await client.get("/staff/cases")).text()
    assert "Pending access" in listing and team.coordinator.member.username in listing


def test_case_numbers_are_short_readable_and_find_their_case(node_ctx: NodeContext) -> None:
    from node.backoffice import case_numbers

    rid = _report(node_ctx)
    number = number_of(rid)
    assert re.fullmatch(r"[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}", number)
    conn = node_ctx.db.read()
    assert case_numbers.find(conn, number) == [rid]
    spoken = number.lower().replace("-", " ").replace("0", "o").replace("1", "l")
    assert case_numbers.find(conn, spoken) == [rid]
    assert case_numbers.find(conn, "not a number") == []
    assert number_of("ffffffffff" + "0" * 22) == "ZZZZ-ZZZZ"
    assert case_numbers.id_prefix("ZZZZ-ZZZZ") == "ffffffffff"


async def test_receipt_lookup_warns_checks_the_secret_and_records_every_lookup(
        node_ctx: NodeContext, aiohttp_client: Any) -> None:
    team = make_team(node_ctx)
    r = node_ctx.intake.submit(ReportInput(narrative="x"), DataKey.generate(), [], "test")
    other = node_ctx.intake.submit(ReportInput(narrative="y"), DataKey.generate(), [], "test")
    client, csrf = await _client(node_ctx, aiohttp_client, team.coordinator)
    assert (await client.get("/staff/receipt")).status == 200
    found = await client.post("/staff/receipt", data={"csrf": csrf, "receipt": r.code})
    page = await found.text()
    assert found.status == 200 and "no-store" in found.headers["Cache-Control"]
    assert "Verify the caller before you say anything" in page
    assert number_of(r.report_id) in page and r.report_id in page
    wrong = await client.post("/staff/receipt/check", data={
        "csrf": csrf, "receipt": r.code, "report_id": r.report_id,
        "secret": other.secret})  # well formed, not this receipt's
    assert "does not match" in await wrong.text()
    typo = await client.post("/staff/receipt/check", data={
        "csrf": csrf, "receipt": r.code, "report_id": r.report_id, "secret": "1" * 21})
    assert typo.status == 400 and 'aria-invalid="true"' in await typo.text()
    right = await client.post("/staff/receipt/check", data={
        "csrf": csrf, "receipt": r.code, "report_id": r.report_id, "secret": r.secret})
    assert "The secret matches" in await right.text()
    unknown_code = "0000000000"
    missing = await client.post("/staff/receipt", data={"csrf": csrf, "receipt": unknown_code})
    assert missing.status in (400, 404)
    conn = node_ctx.db.read()
    entries = conn.execute("SELECT action, detail FROM audit_log WHERE object_id = ?"
                           " ORDER BY seq", (r.report_id,)).fetchall()
    assert [tuple(e) for e in entries if e[0].startswith("case.receipt")] == [
        ("case.receipt_lookup", ""), ("case.receipt_check", "did not match"),
        ("case.receipt_check", "matched")]
    # no number and no secret anywhere in the node's files
    for needle in (r.code, r.secret, other.secret):
        assert files_containing(node_ctx.datadir.root, needle.encode()) == []
    # caseworkers cannot look up receipts
    worker, wcsrf = await _client(node_ctx, aiohttp_client, team.caseworker)
    assert (await worker.post("/staff/receipt", data={"csrf": wcsrf, "receipt": r.code})
            ).status == 403


def test_migration_16_from_the_schema10_fixture(tmp_path: Any) -> None:
    from node.context import open_node
    from tests.integration.test_schema10_fixture import copy_fixture

    datadir, answers = copy_fixture(tmp_path)
    before = sqlite3.connect(datadir.root / "node.db")
    coded = before.execute("SELECT COUNT(*) FROM incidents").fetchone()[0]
    before.close()
    assert coded > 0
    ctx = open_node(datadir, staff_params=pw.INSECURE_FAST_FOR_TESTS,
                    receipt_params=pw.INSECURE_FAST_FOR_TESTS)
    try:
        conn = ctx.db.read()
        assert conn.execute("SELECT COUNT(*) FROM incidents WHERE withdrawn = 0"
                            ).fetchone()[0] == coded
        assert conn.execute("SELECT COUNT(*) FROM incident_history").fetchone()[0] == 0
        analyst = accounts.unlock(conn, str(answers["analyst"]), str(answers["passphrase"]))
        rows = open_codings(ctx.db, analyst, statistics_only=False)
        assert len(rows) == coded
        # the fixture's admin is also its coordinator: it edits and withdraws a coding
        admin = accounts.unlock(conn, str(answers["admin"]), str(answers["passphrase"]))
        incident_id, report_id = conn.execute(
            "SELECT incident_id, report_id FROM incident_links LIMIT 1").fetchone()
        old = ctx.incidents.editable(admin, report_id, incident_id)
        ctx.incidents.code(admin, report_id, old.model_copy(update={"perpetrator_count": 2}),
                           incident_id)
        ctx.incidents.withdraw(admin, report_id, incident_id)
        (seen,) = [i for i in ctx.cases.read(admin, report_id).incidents if i.id == incident_id]
        assert seen.withdrawn and [h.coding for h in seen.history][-1] == old
        assert len(open_codings(ctx.db, analyst, statistics_only=False)) == coded - 1
    finally:
        ctx.close()


def test_deleting_the_reports_erases_the_history_of_their_codings(
        node_ctx: NodeContext) -> None:
    team = make_team(node_ctx)
    survivor, witness = _report(node_ctx), _report(node_ctx)
    incident = node_ctx.incidents.code(team.coordinator, survivor, IncidentCoding(
        category="rape", unit_named=CANARY))
    node_ctx.incidents.link(team.coordinator, witness, incident, survivor)
    node_ctx.incidents.code(team.coordinator, survivor, IncidentCoding(category="rape"),
                            incident)
    conn = node_ctx.db.read()
    node_ctx.deletion.by_staff(team.coordinator, survivor, "reporter request", "")
    # the witness still describes the incident: its coding and history stay
    assert conn.execute("SELECT COUNT(*) FROM incident_history").fetchone()[0] == 1
    node_ctx.deletion.by_staff(team.coordinator, witness, "reporter request", "")
    assert conn.execute("SELECT COUNT(*) FROM incident_history").fetchone()[0] == 0
    assert conn.execute("SELECT COUNT(*) FROM incidents").fetchone()[0] == 0
