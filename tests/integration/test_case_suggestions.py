"""Suggested codings on the case page, linked reports and the analysts' patterns (issue 17),
through the real staff server on 127.0.0.1 with real SQLite files.

- suggestions are shown only to someone who may read the narrative, with their evidence
  highlighted (server-rendered <mark>); accepting opens the coding form with the accepted
  values and only the coding service's review and save store a coding; a rejection is
  remembered (encrypted under the report's key) and is a training example of the adapted
  model;
- a linked report is suggested only to someone who may read both reports, across languages;
- the pattern page and its CSV show codings only, and the free-text unit named never to an
  analyst.
"""

from __future__ import annotations

import csv
import io
import re
from datetime import date
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crypto.keys import DataKey
from node import errors
from node.analysis.adapted import AdaptedModels
from node.analysis.case_suggestions import least_sure_first
from node.backoffice.incidents import IncidentCoding
from node.context import NodeContext
from node.intake.models import Consent, ReportInput
from node.storage import migrations
from node.web import appkeys
from node.web.app import create_app
from node.web.staff import suggestions
from node.web.staff.common import STAFF_COOKIE
from tests.conftest import CANARY, files_containing
from tests.team import Team, make_team

EN = ("On 12 March 2024 soldiers of the 2nd battalion of the 34th brigade came to our village "
      "at night. Three soldiers raped me and my sister, then they took us to their camp for "
      "two weeks.")
UK = ("12 березня 2024 року солдати 2-го батальйону 34-ї бригади прийшли в наше село вночі. "
      "Троє солдатів зґвалтували мене і мою сестру, потім забрали нас до свого табору.")
OTHER = "Our goats were stolen at the market last year and the road was closed."


def _report(ctx: NodeContext, narrative: str, **fields: Any) -> str:
    return ctx.intake.submit(ReportInput(narrative=narrative, consent=Consent(statistics=True),
                                         **fields), DataKey.generate(), [], "test").report_id


async def _client(ctx: NodeContext, aiohttp_client: Any, who: Any
                  ) -> tuple[TestClient[Any, Any], str]:
    app = create_app(ctx, {"staff"})
    client: TestClient[Any, Any] = await aiohttp_client(app)
    session = app[appkeys.STAFF_SESSIONS].new(who)
    client.session.cookie_jar.update_cookies({STAFF_COOKIE: session.id})
    return client, session.csrf


@pytest.fixture
def team(node_ctx: NodeContext) -> Team:
    return make_team(node_ctx)


async def test_suggestions_with_evidence_only_for_narrative_readers(
        node_ctx: NodeContext, team: Team, aiohttp_client: Any) -> None:
    rid = _report(node_ctx, EN)
    node_ctx.case_access.assign(team.coordinator, rid, team.caseworker.member.id)
    client, _ = await _client(node_ctx, aiohttp_client, team.caseworker)
    html = await (await client.get(f"/staff/cases/{rid}")).text()
    assert 'id="suggestions"' in html
    marked = re.findall(r"<mark[^>]*>([^<]*)</mark>", html)
    assert any("raped" in m for m in marked), marked
    assert 'name="item" value="category:rape"' in html
    assert 'name="item" value="is_crsv"' in html
    assert re.search(r"confidence \d+%", html)

    # a caseworker the case is not assigned to, an analyst, an admin: no case page at all,
    # and the service refuses them too
    service = suggestions.service(node_ctx)
    for who in (team.other_caseworker, team.analyst, team.admin):
        other, _ = await _client(node_ctx, aiohttp_client, who)
        r = await other.get(f"/staff/cases/{rid}")
        assert r.status == 403
        assert "raped" not in await r.text()
        with pytest.raises(errors.Forbidden):
            service.of_case(who, rid)
        r = await other.get(f"/staff/cases/{rid}/linked")
        assert r.status == 403


async def test_accepting_opens_the_coding_form_and_the_review_saves_a_coding(
        node_ctx: NodeContext, team: Team, aiohttp_client: Any) -> None:
    rid = _report(node_ctx, EN, region="R1")
    node_ctx.case_access.assign(team.coordinator, rid, team.caseworker.member.id)
    client, csrf = await _client(node_ctx, aiohttp_client, team.caseworker)
    r = await client.post(f"/staff/cases/{rid}/suggestions",
                          data={"csrf": csrf, "item": "category:rape", "decision": "accept"})
    form = await r.text()
    assert r.status == 200
    # the coding form, with the accepted category chosen and nothing else guessed
    assert re.search(r'<option value="rape" selected>', form)
    selected = re.findall(r'<option value="([^"]*)" selected>', form)
    assert selected.count("") == 5, selected
    assert node_ctx.db.read().execute("SELECT COUNT(*) FROM incidents").fetchone()[0] == 0

    # accepting the perpetrators' number as well: the form carries both
    r = await client.post(f"/staff/cases/{rid}/suggestions",
                          data={"csrf": csrf, "item": "perpetrators:3", "decision": "accept"})
    form = await r.text()
    assert re.search(r'<option value="rape" selected>', form)
    assert 'name="perpetrator_count" value="3"' in form

    answers = {"category": "rape", "region": "R1", "perpetrator_affiliation": "state_forces",
               "survivor_sex": "female", "survivor_age_group": "18-24",
               "context": "non_international_armed_conflict", "date_from": "", "date_to": "",
               "unit_named": "", "perpetrator_count": "3"}
    r = await client.post(f"/staff/cases/{rid}/incidents/review", data={"csrf": csrf, **answers})
    assert r.status == 200 and "Art. 8(2)(e)(vi)" in await r.text()
    r = await client.post(f"/staff/cases/{rid}/incidents",
                          data={"csrf": csrf, "reviewed": "yes", **answers},
                          allow_redirects=False)
    assert r.status == 303
    key = node_ctx.case_access.case_key(team.caseworker, rid)
    [incident] = node_ctx.incidents.of_case(rid, key)
    assert incident.coding.category == "rape" and incident.coding.perpetrator_count == 3

    # the decisions are remembered and shown, and are a training example (accepted: CRSV,
    # rape) sealed to the intake key
    html = await (await client.get(f"/staff/cases/{rid}")).text()
    assert html.count("<strong>accepted</strong>") == 2
    adapted = AdaptedModels(node_ctx.db, node_ctx.keys.intake_public,
                            node_ctx.keys.analysis_public, lambda: 0)
    [(example_report, example)] = adapted.examples(team.coordinator)
    assert example_report == rid and example.is_crsv
    assert example.categories == frozenset({"rape"})


async def test_a_rejection_is_remembered_encrypted_and_trains_the_model(
        node_ctx: NodeContext, team: Team, aiohttp_client: Any) -> None:
    rid = _report(node_ctx, f"{CANARY} {EN}")
    node_ctx.case_access.assign(team.coordinator, rid, team.caseworker.member.id)
    client, csrf = await _client(node_ctx, aiohttp_client, team.caseworker)
    r = await client.post(f"/staff/cases/{rid}/suggestions",
                          data={"csrf": csrf, "item": "is_crsv", "decision": "reject"},
                          allow_redirects=False)
    assert r.status == 303 and r.headers["Location"].endswith(f"/cases/{rid}#suggestions")
    html = await (await client.get(f"/staff/cases/{rid}")).text()
    assert "<strong>rejected</strong>" in html
    service = suggestions.service(node_ctx)
    assert service.decisions(team.coordinator, rid) == {"is_crsv": "rejected"}
    adapted = AdaptedModels(node_ctx.db, node_ctx.keys.intake_public,
                            node_ctx.keys.analysis_public, lambda: 0)
    [(_, example)] = adapted.examples(team.coordinator)
    assert not example.is_crsv and example.categories == frozenset()
    # nothing of the decision nor the text in the clear anywhere in the data directory
    assert files_containing(node_ctx.datadir.root, b"is_crsv") == []
    assert files_containing(node_ctx.datadir.root, CANARY.encode()) == []
    # a suggestion the case does not have, or a decision that is none, is refused
    for item, decision in (("category:enforced_sterilization", "reject"),
                           ("is_crsv", "maybe")):
        r = await client.post(f"/staff/cases/{rid}/suggestions",
                              data={"csrf": csrf, "item": item, "decision": decision})
        assert r.status == 400


async def test_linked_reports_only_between_reports_the_person_may_read(
        node_ctx: NodeContext, team: Team, aiohttp_client: Any) -> None:
    en = _report(node_ctx, EN, region="R1")
    uk = _report(node_ctx, UK, region="R1")
    _report(node_ctx, OTHER, region="R2")
    incident = node_ctx.incidents.code(team.coordinator, uk, IncidentCoding(category="rape"))
    # the coordinator reads every report: the Ukrainian one is suggested, with why
    client, csrf = await _client(node_ctx, aiohttp_client, team.coordinator)
    html = await (await client.get(f"/staff/cases/{en}/linked")).text()
    assert f'href="/staff/cases/{uk}"' in html
    assert "the same unit" in html and "battalion:2, brigade:34" in html
    assert html.count('href="/staff/cases/') == 1 + 1  # the back link and the one report
    # and confirms it with one click through the existing incident linking
    assert f'value="{incident}:{uk}"' in html
    r = await client.post(f"/staff/cases/{en}/incidents/link",
                          data={"csrf": csrf, "link": f"{incident}:{uk}"},
                          allow_redirects=False)
    assert r.status == 303
    key = node_ctx.case_access.case_key(team.coordinator, en)
    assert [i.id for i in node_ctx.incidents.of_case(en, key)] == [incident]

    # a caseworker assigned to the English report only: no suggestion of a report they
    # may not read
    node_ctx.case_access.assign(team.coordinator, en, team.caseworker.member.id)
    worker, _ = await _client(node_ctx, aiohttp_client, team.caseworker)
    html = await (await worker.get(f"/staff/cases/{en}/linked")).text()
    assert uk not in html
    # assigned to both, they see it (and, not a coordinator, no link button)
    node_ctx.case_access.assign(team.coordinator, uk, team.caseworker.member.id)
    html = await (await worker.get(f"/staff/cases/{en}/linked")).text()
    assert f'href="/staff/cases/{uk}"' in html and "incidents/link" not in html


def _coded(ctx: NodeContext, team: Team) -> None:
    for n in range(3):
        rid = _report(ctx, f"{CANARY} narrative {n}", region="R1")
        ctx.incidents.code(team.coordinator, rid, IncidentCoding(
            category="rape", region="R1", perpetrator_affiliation="militia",
            date_from=date(2024, 3, 1 + n),
            unit_named=f"{CANARY} unit named", context="widespread_or_systematic_attack"))


async def test_patterns_show_codings_only_and_no_free_text_to_analysts(
        node_ctx: NodeContext, team: Team, aiohttp_client: Any) -> None:
    _coded(node_ctx, team)
    analyst, _ = await _client(node_ctx, aiohttp_client, team.analyst)
    r = await analyst.get("/staff/patterns")
    html = await r.text()
    assert r.status == 200
    assert CANARY not in html  # neither the narratives nor the unit named
    assert "<svg" in html and "<script" not in html
    # one cluster of three: March 2024, region R1, militia, rape, widespread
    assert re.search(r"</svg> 3</td><td>2024-03</td>", html)
    r = await analyst.get("/staff/patterns.csv?category=rape&since=2024-01")
    rows = list(csv.reader(io.StringIO(await r.text())))
    assert r.status == 200 and len(rows) == 4
    assert "unit_named" not in rows[0] and CANARY not in await r.text()
    assert rows[1][rows[0].index("perpetrator_affiliation")] == "militia"
    # filters apply: no incident in 2023
    r = await analyst.get("/staff/patterns.csv?until=2023-12")
    assert len(list(csv.reader(io.StringIO(await r.text())))) == 1
    # a coordinator, who may read the reports, gets the unit named
    coordinator, _ = await _client(node_ctx, aiohttp_client, team.coordinator)
    text = await (await coordinator.get("/staff/patterns.csv")).text()
    assert "unit_named" in text.splitlines()[0] and f"{CANARY} unit named" in text
    # nor the list of codings (the unit named is free text)
    r = await analyst.get("/staff/codings")
    assert r.status == 200 and CANARY not in await r.text()
    assert f"{CANARY} unit named" in await (await coordinator.get("/staff/codings")).text()
    # a caseworker reads no codings
    worker, _ = await _client(node_ctx, aiohttp_client, team.caseworker)
    assert (await worker.get("/staff/patterns")).status == 403
    assert (await worker.get("/staff/patterns.csv")).status == 403


def test_least_sure_first_ranks_the_unsure_first() -> None:
    # an account that hints and never says (the shipped model is sure of "did things to me"
    # since round 7)
    unsure = ("they kept us at the checkpoint all night and the commander called me to his "
              "tent")
    texts = [EN, OTHER, unsure]
    ranked = least_sure_first(texts, lambda t: t)
    assert set(ranked) == set(texts) and ranked[0] == unsure


def test_decisions_table_comes_with_the_migrations(node_ctx: NodeContext) -> None:
    assert node_ctx.db.read().execute("PRAGMA user_version").fetchone()[0] == len(
        migrations.MIGRATIONS)
    node_ctx.db.read().execute("SELECT report_id, decisions_ct, updated_at FROM "
                               "suggestion_decisions").fetchall()


def test_decisions_on_a_node_upgraded_from_the_schema10_fixture(tmp_path: Any) -> None:
    """Migration 26 on the fixture of an earlier version: its reports get suggestions and
    decisions, stored encrypted, and erased with the report."""
    from crypto import passphrase as pw
    from node import accounts
    from node.context import open_node
    from tests.integration.test_schema10_fixture import copy_fixture

    datadir, answers = copy_fixture(tmp_path)
    ctx = open_node(datadir, staff_params=pw.INSECURE_FAST_FOR_TESTS,
                    receipt_params=pw.INSECURE_FAST_FOR_TESTS)
    try:
        admin = accounts.unlock(ctx.db.read(), str(answers["admin"]),
                                str(answers["passphrase"]))
        rid = str(answers["canary_report_id"])
        service = suggestions.service(ctx)
        view = service.of_case(admin, rid)
        assert view.item("is_crsv") is not None
        service.decide(admin, rid, "is_crsv", "rejected")
        assert service.decisions(admin, rid) == {"is_crsv": "rejected"}
        ctx.deletion.by_staff(admin, rid, "other", "")
        assert ctx.db.read().execute("SELECT COUNT(*) FROM suggestion_decisions"
                                     ).fetchone()[0] == 0
    finally:
        ctx.close()


async def test_the_demo_back_office_shows_suggestions_and_patterns(
        tmp_path: Any, aiohttp_client: Any) -> None:
    """Issue 17's "done when": the demo's synthetic cases get suggestions with their
    evidence, and the analyst's pattern page works on their codings."""
    from node import accounts
    from node.context import open_node
    from node.demo import DEMO_PASSPHRASE, prepare

    ctx = open_node(prepare(tmp_path / "demo", reports=12))
    try:
        worker = accounts.unlock(ctx.db.read(), "demo-caseworker", DEMO_PASSPHRASE)
        analyst = accounts.unlock(ctx.db.read(), "demo-analyst", DEMO_PASSPHRASE)
        rid = ctx.db.read().execute("SELECT report_id FROM case_key_wraps WHERE staff_id = ?",
                                    (worker.member.id,)).fetchone()[0]
        client, _ = await _client(ctx, aiohttp_client, worker)
        html = await (await client.get(f"/staff/cases/{rid}")).text()
        assert 'id="suggestions"' in html and "<mark" in html
        assert 'name="item" value="category:rape"' in html
        client, _ = await _client(ctx, aiohttp_client, analyst)
        r = await client.get("/staff/patterns")
        html = await r.text()
        assert r.status == 200 and "<rect" in html and "[SYNTHETIC" not in html
        assert len((await (await client.get("/staff/patterns.csv")).text()).splitlines()) > 1
    finally:
        ctx.close()


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(item=st.one_of(st.text(max_size=60), st.sampled_from(
           ["is_crsv", "category:rape", "perpetrators:3", "unit:battalion:2", "date:2024-03-12",
            "context:abduction", "category:", ":", ""])),
       decision=st.one_of(st.text(max_size=10), st.sampled_from(["accept", "edit", "reject"])))
async def test_any_decision_form_gets_a_clear_answer(
        node_ctx: NodeContext, aiohttp_client: Any, item: str, decision: str) -> None:
    """The decision form fuzzed: a page, a redirect or a clear refusal -- never a crash."""
    from node import accounts
    from tests.team import PASSPHRASE

    # the node lives across the examples: its team is made once
    if node_ctx.db.read().execute("SELECT 1 FROM staff WHERE username = 'coord'").fetchone():
        coordinator = accounts.unlock(node_ctx.db.read(), "coord", PASSPHRASE)
    else:
        coordinator = make_team(node_ctx).coordinator
    rid = _report(node_ctx, EN)
    client, csrf = await _client(node_ctx, aiohttp_client, coordinator)
    r = await client.post(f"/staff/cases/{rid}/suggestions",
                          data={"csrf": csrf, "item": item, "decision": decision},
                          allow_redirects=False)
    assert r.status in (200, 303, 400), (item, decision, r.status)


async def test_signing_in_warms_the_engine_once_for_narrative_readers(
        node_ctx: NodeContext, team: Team, monkeypatch: pytest.MonkeyPatch) -> None:
    # the first case page after a start would otherwise wait ~3 s for the engine to load
    monkeypatch.setattr(suggestions, "_warming", [])
    suggestions.prepare(node_ctx, team.analyst)  # reads no narrative: nothing to warm
    assert suggestions._warming == []
    suggestions.prepare(node_ctx, team.caseworker)
    suggestions.prepare(node_ctx, team.coordinator)  # once per process
    [future] = suggestions._warming
    await future  # loaded without error, in a worker thread
