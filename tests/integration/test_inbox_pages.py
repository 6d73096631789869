"""The "my work" page, the navigation's counts, consent flags on the case page and the return
to the section acted on (issue 15), through the real staff server: real SQLite files, a
real aiohttp server on 127.0.0.1."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp.test_utils import TestClient
from babel.dates import format_date

from crypto import passphrase as pw
from crypto.keys import DataKey
from node import accounts
from node.backoffice.case_numbers import number_of
from node.context import NodeContext
from node.intake.models import Consent, ContactPreference, ReportInput
from node.intake.service import Receipt
from node.web import appkeys
from node.web.app import create_app
from node.web.staff.common import STAFF_COOKIE
from tests.team import make_team

PHONE = "+000 5550 1234"


def _report(ctx: NodeContext, **consent: bool) -> Receipt:
    return ctx.intake.submit(ReportInput(
        narrative="what happened", consent=Consent(**consent),
        contact=ContactPreference(method="phone_call", details=PHONE)),
        DataKey.generate(), [], "test")


async def _client(ctx: NodeContext, aiohttp_client: Any, who: Any
                  ) -> tuple[TestClient[Any, Any], str]:
    app = create_app(ctx, {"staff"})
    client: TestClient[Any, Any] = await aiohttp_client(app)
    session = app[appkeys.STAFF_SESSIONS].new(who)
    client.session.cookie_jar.update_cookies({STAFF_COOKIE: session.id})
    return client, session.csrf


def _nav_count(page: str) -> int:
    found = re.search(r'id="nav-inbox">[^<]*(?:<span class="badge new"[^>]*>(\d+)</span>)?',
                      page)
    assert found is not None, "no “My work” link in the navigation"
    return int(found.group(1) or 0)


async def test_a_caseworker_clears_their_inbox(node_ctx: NodeContext,
                                               aiohttp_client: Any) -> None:
    team = make_team(node_ctx)
    worker = team.caseworker
    r = _report(node_ctx, care=True, contact=True)
    node_ctx.case_access.assign(team.coordinator, r.report_id, worker.member.id)
    access = node_ctx.intake.open_receipt(r.code, r.secret)
    node_ctx.conversations.reply(r.report_id, access.data_key, "Please call after six.")
    yesterday = datetime.now(UTC).date() - timedelta(days=1)
    task = node_ctx.timeline.add_task(worker, r.report_id, "Book the clinic visit", yesterday)
    client, csrf = await _client(node_ctx, aiohttp_client, worker)

    # every page's navigation counts: assigned + reply + overdue task
    listing = await (await client.get("/staff/cases")).text()
    assert _nav_count(listing) == 3
    page = await (await client.get("/staff/inbox")).text()
    assert number_of(r.report_id) in page
    assert "Newly assigned to you" in page and "New replies from the reporter: 1" in page
    assert "Overdue since " + format_date(yesterday, format="long", locale="en") in page
    assert "Book the clinic visit" in page  # the listed task's text, decrypted for this page

    # reading the case marks the reply and the assignment read; the task is still due
    case = await (await client.get(f"/staff/cases/{r.report_id}")).text()
    assert "Please call after six." in case
    assert _nav_count(case) == 1
    # finishing the task from "my work" comes back to it, which is then empty
    done = await client.post(f"/staff/cases/{r.report_id}/tasks/{task}/done",
                             data={"csrf": csrf, "back": "inbox"}, allow_redirects=False)
    assert done.status == 303 and done.headers["Location"] == "/staff/inbox"
    page = await (await client.get("/staff/inbox")).text()
    assert "The task is done." in page and "Nothing new." in page
    assert _nav_count(page) == 0
    # "back" is never a target taken from the form
    other = await client.post(f"/staff/cases/{r.report_id}/notes",
                              data={"csrf": csrf, "text": "n", "back": "https://elsewhere"},
                              allow_redirects=False)
    assert other.headers["Location"] == f"/staff/cases/{r.report_id}#notes"


async def test_the_inbox_is_for_case_work_roles(node_ctx: NodeContext,
                                                aiohttp_client: Any) -> None:
    team = make_team(node_ctx)
    for who, status in ((team.caseworker, 200), (team.coordinator, 200),
                        (team.analyst, 403), (team.admin, 403)):
        client, _ = await _client(node_ctx, aiohttp_client, who)
        r = await client.get("/staff/inbox")
        assert r.status == status, who.member.username
        if status == 403:  # and the navigation has no link to it
            assert 'id="nav-inbox"' not in await (await client.get("/staff/account")).text()


async def test_an_action_returns_to_its_section_with_its_notice_there(
        node_ctx: NodeContext, aiohttp_client: Any) -> None:
    team = make_team(node_ctx)
    r = _report(node_ctx, care=True)
    client, csrf = await _client(node_ctx, aiohttp_client, team.coordinator)
    base = f"/staff/cases/{r.report_id}"
    for path, form, section in (
            ("/notes", {"text": "a note"}, "notes"),
            ("/tasks", {"text": "a task", "due": ""}, "tasks"),
            ("/messages", {"text": "hello"}, "conversation"),
            ("/status", {"status": "in_triage"}, "status"),
            ("/assign", {"staff_id": team.caseworker.member.id}, "assigned"),
            ("/retention", {"days": "90"}, "retention")):
        done = await client.post(base + path, data={"csrf": csrf, **form},
                                 allow_redirects=False)
        assert done.status == 303, path
        assert done.headers["Location"] == f"{base}#{section}", path
        page = await (await client.get(base)).text()
        assert f'id="{section}"' in page
        # the notice is inside the section acted on, not at the top of the page
        after = page.split(f'id="{section}"', 1)[1]
        assert 'role="status"' in after.split("<h2", 1)[0], path
        assert 'role="status"' not in page.split("<h1", 1)[0], path
    # an invalid action still shows its error on the case, nothing lost
    bad = await client.post(base + "/tasks", data={"csrf": csrf, "text": "x", "due": "soon"})
    assert bad.status == 400


async def test_withdrawn_consents_are_flagged_where_they_matter(
        node_ctx: NodeContext, aiohttp_client: Any) -> None:
    team = make_team(node_ctx)
    r = _report(node_ctx, care=True, contact=True, referral=True, legal=True,
                statistics=True, sharing=True)
    client, _ = await _client(node_ctx, aiohttp_client, team.coordinator)
    before = await (await client.get(f"/staff/cases/{r.report_id}")).text()
    assert PHONE in before and "withdrew" not in before

    access = node_ctx.intake.open_receipt(r.code, r.secret)
    node_ctx.intake.change_consent(access, Consent(care=True))
    page = await (await client.get(f"/staff/cases/{r.report_id}")).text()
    # contact: the details are hidden, with a note saying why
    assert PHONE not in page
    assert "withdrew their consent to be contacted" in page
    # each gated action says the consent was withdrawn
    assert "No court bundle: the reporter withdrew their consent to legal use" in page
    assert "withdrew their consent to referrals" in page
    assert "withdrew their consent to statistics" in page
    assert "withdrew their consent to sharing" in page
    assert page.count("withdrawn: ") == 5  # the history of changes
    # given again: the flag goes
    node_ctx.intake.change_consent(access, Consent(care=True, contact=True))
    page = await (await client.get(f"/staff/cases/{r.report_id}")).text()
    assert PHONE in page and "withdrew their consent to be contacted" not in page


async def test_a_coordinator_without_the_intake_key_acting_on_a_case_is_told_who_gives_it(
        node_ctx: NodeContext, aiohttp_client: Any) -> None:
    team = make_team(node_ctx)
    passphrase = "umbrella gravel orbit nineteen lantern"
    with node_ctx.db.write() as conn:
        accounts.create(conn, "newcoord", passphrase, {"coordinator"},
                        pw.INSECURE_FAST_FOR_TESTS, 0, certifier=node_ctx.keys.certifier)
    newcoord = accounts.unlock(node_ctx.db.read(), "newcoord", passphrase)
    r = _report(node_ctx, care=True)
    client, csrf = await _client(node_ctx, aiohttp_client, newcoord)
    for path, form in (("/notes", {"text": "n"}), ("/tasks", {"text": "t"}),
                       ("/messages", {"text": "m"})):
        resp = await client.post(f"/staff/cases/{r.report_id}{path}",
                                 data={"csrf": csrf, **form})
        page = await resp.text()
        assert resp.status == 403, path
        assert "Pending access" in page and team.coordinator.member.username in page, path


async def test_a_coordinator_hears_of_replies_in_the_triage_queue(
        node_ctx: NodeContext, aiohttp_client: Any) -> None:
    team = make_team(node_ctx)
    r = _report(node_ctx, care=True)
    access = node_ctx.intake.open_receipt(r.code, r.secret)
    node_ctx.conversations.reply(r.report_id, access.data_key, "Is anyone reading this?")
    client, _ = await _client(node_ctx, aiohttp_client, team.coordinator)
    page = await (await client.get("/staff/inbox")).text()
    assert _nav_count(page) == 1
    assert number_of(r.report_id) in page and "in the triage queue" in page
    assert "New replies from the reporter: 1" in page
    # the caseworker hears nothing of a case not theirs
    worker, _ = await _client(node_ctx, aiohttp_client, team.caseworker)
    assert _nav_count(await (await worker.get("/staff/inbox")).text()) == 0
    case = await (await client.get(f"/staff/cases/{r.report_id}")).text()
    assert _nav_count(case) == 0
