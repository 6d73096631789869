"""Four eyes and the analyst's statistics pages through the real server (issue 15): analyst
A drafts, A cannot approve (the page does not offer it, and the server refuses the post),
analyst B or a coordinator approves; with four eyes off A approves alone and the page says
four eyes is off. The pages say "privacy loss", keep "epsilon" in the details, warn about
the budget before a draft is computed, and explain negative counts."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient

from crypto import passphrase as pw
from crypto.keys import DataKey
from node import accounts
from node.accounts import UnlockedStaff
from node.backoffice.incidents import IncidentCoding
from node.context import NodeContext, open_node
from node.intake.models import Consent, ReportInput
from node.web import appkeys
from node.web.app import create_app
from node.web.staff.common import STAFF_COOKIE
from tests.conftest import make_node
from tests.conftest import test_config as base_config
from tests.integration.conftest import csrf_of
from tests.team import PASSPHRASE, Team, make_team


def sign_in_as(client: TestClient[Any, Any], app: web.Application,
               staff: UnlockedStaff) -> None:
    session = app[appkeys.STAFF_SESSIONS].new(staff)
    client.session.cookie_jar.update_cookies({STAFF_COOKIE: session.id})


def second_analyst(ctx: NodeContext, team: Team) -> UnlockedStaff:
    with ctx.db.write() as conn:
        member, _ = accounts.create(conn, "analyst-b", PASSPHRASE, {"analyst"},
                                    pw.INSECURE_FAST_FOR_TESTS, 0,
                                    certifier=ctx.keys.certifier)
        accounts.grant_key(conn, accounts.ANALYSIS_KEY, team.root.node_keys[accounts.ANALYSIS_KEY],
                           accounts.staff_holder(member.id), member.public_key,
                           certifier=ctx.keys.certifier)
    return accounts.unlock(ctx.db.read(), "analyst-b", PASSPHRASE)


def coded(ctx: NodeContext, team: Team, n: int = 4) -> None:
    for i in range(n):
        r = ctx.intake.submit(ReportInput(narrative=f"story {i}",
                                          consent=Consent(statistics=True)),
                              DataKey.generate(), [], "test")
        ctx.incidents.code(team.coordinator, r.report_id, IncidentCoding(
            category="rape", region="R1", date_from=date(2025, 3, 1)))


def outside_details(html: str) -> str:
    return re.sub(r"<details>.*?</details>", "", html, flags=re.S)


async def draft(client: TestClient[Any, Any], **extra: Any) -> str:
    html = await (await client.get("/staff/statistics")).text()
    r = await client.post("/staff/statistics/draft",
                          data={"csrf": csrf_of(html), "year": "2025", **extra},
                          allow_redirects=False)
    assert r.status == 303, await r.text()
    return str(r.headers["Location"])


async def test_a_second_person_approves_what_an_analyst_drafted(
        node_ctx: NodeContext, aiohttp_client: Any) -> None:
    team = make_team(node_ctx)
    other = second_analyst(node_ctx, team)
    coded(node_ctx, team)
    app = create_app(node_ctx, {"staff"})
    client: TestClient[Any, Any] = await aiohttp_client(app)
    sign_in_as(client, app, team.analyst)

    page = await (await client.get("/staff/statistics")).text()
    assert 'id="four-eyes"' in page and "Four eyes is on" in page
    # the budget warning comes before the button that spends it
    warning = page.index('id="budget-warning"')
    assert warning < page.index("Compute a draft for review")
    assert "2025: 2 left, 1 after this draft." in page
    for text in (page, outside_details(page)):
        assert "privacy loss" in text.lower()
    assert not re.search(r"epsilon|ε", outside_details(page), re.I)

    review = await draft(client)
    release_id = review.rsplit("/", 1)[1]
    html = await (await client.get(review)).text()
    assert "You drafted this release" in html and "analyst-b" in html
    assert f'action="{review}/approve"' not in html      # not offered to the drafter
    assert f'action="{review}/discard"' in html
    assert 'id="noisy-counts"' in html and "negative" in html
    assert not re.search(r"epsilon|ε", outside_details(html), re.I)
    # posted anyway, the approval is refused by the service, in words
    r = await client.post(f"{review}/approve", data={"csrf": csrf_of(html)},
                          allow_redirects=False)
    assert r.status == 403
    assert "another person must approve it" in await r.text()
    assert node_ctx.statistics.entry(release_id).status == "draft"

    sign_in_as(client, app, other)
    html = await (await client.get(review)).text()
    assert "You are the second person" in html
    r = await client.post(f"{review}/approve", data={"csrf": csrf_of(html)},
                          allow_redirects=False)
    assert r.status == 303
    entry = node_ctx.statistics.entry(release_id)
    assert (entry.status, entry.drafted_by, entry.reviewed_by, entry.four_eyes) == (
        "approved", team.analyst.member.id, other.member.id, True)
    html = await (await client.get(review)).text()
    assert re.search(r'id="drafted-by"><bdi>analyst</bdi>', html)
    assert re.search(r'id="approved-by"><bdi>analyst-b</bdi>', html)

    # the next one: analyst B drafts only one table (spending less), a coordinator approves
    page = await (await client.get("/staff/statistics")).text()
    review = await draft(client, choose_tables="1", tables="category_month")
    release_id = review.rsplit("/", 1)[1]
    assert node_ctx.statistics.entry(release_id).tables == ("category_month",)
    sign_in_as(client, app, team.coordinator)
    html = await (await client.get(review)).text()
    r = await client.post(f"{review}/approve", data={"csrf": csrf_of(html)},
                          allow_redirects=False)
    assert r.status == 303
    assert node_ctx.statistics.entry(release_id).reviewed_by == team.coordinator.member.id
    page = await (await client.get("/staff/statistics")).text()
    assert "<bdi>analyst-b</bdi>" in page and "<bdi>coord</bdi>" in page


async def test_unticking_every_table_drafts_nothing(node_ctx: NodeContext,
                                                    aiohttp_client: Any) -> None:
    team = make_team(node_ctx)
    app = create_app(node_ctx, {"staff"})
    client: TestClient[Any, Any] = await aiohttp_client(app)
    sign_in_as(client, app, team.analyst)
    html = await (await client.get("/staff/statistics")).text()
    r = await client.post("/staff/statistics/draft",
                          data={"csrf": csrf_of(html), "year": "2025", "choose_tables": "1"},
                          allow_redirects=False)
    assert r.status == 400 and 'class="errs"' in await r.text()
    assert node_ctx.statistics.ledger() == []


async def test_with_four_eyes_off_the_drafter_approves_alone(
        tmp_path: Path, aiohttp_client: Any) -> None:
    datadir = make_node(tmp_path / "n", base_config()
                        + "\n[statistics_approval]\nfour_eyes = false\n")
    ctx = open_node(datadir, staff_params=pw.INSECURE_FAST_FOR_TESTS,
                    receipt_params=pw.INSECURE_FAST_FOR_TESTS)
    try:
        team = make_team(ctx)
        coded(ctx, team)
        app = create_app(ctx, {"staff"})
        client: TestClient[Any, Any] = await aiohttp_client(app)
        sign_in_as(client, app, team.analyst)
        page = await (await client.get("/staff/statistics")).text()
        assert "Four eyes is off on this node" in page
        review = await draft(client)
        html = await (await client.get(review)).text()
        assert "Four eyes is off on this node: you can approve" in html
        r = await client.post(f"{review}/approve", data={"csrf": csrf_of(html)},
                              allow_redirects=False)
        assert r.status == 303
        entry = ctx.statistics.entry(review.rsplit("/", 1)[1])
        assert (entry.status, entry.reviewed_by, entry.four_eyes) == (
            "approved", team.analyst.member.id, False)
        html = await (await client.get(review)).text()
        assert "four eyes off" in html
        changes = [r[0] for r in ctx.db.read().execute(
            "SELECT detail FROM audit_log WHERE action = 'statistics.four_eyes'")]
        assert changes == ["off"]  # the node started with the setting changed
    finally:
        ctx.close()
