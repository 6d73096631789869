"""Statistics releases through the staff pages: draft, review, approve or discard; the
budget refuses a release before any noise is drawn; analysts never see a narrative."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient

from crypto.keys import DataKey
from node.accounts import UnlockedStaff
from node.backoffice.incidents import IncidentCoding
from node.context import NodeContext
from node.intake.models import Consent, ReportInput
from node.web import appkeys
from node.web.app import create_app
from node.web.staff.common import STAFF_COOKIE
from tests.integration.conftest import csrf_of
from tests.team import make_team


def sign_in_as(client: TestClient[Any, Any], app: web.Application,
               staff: UnlockedStaff) -> None:
    session = app[appkeys.STAFF_SESSIONS].new(staff)
    client.session.cookie_jar.update_cookies({STAFF_COOKIE: session.id})


async def test_release_review_and_budget(node_ctx: NodeContext, aiohttp_client: Any) -> None:
    team = make_team(node_ctx)
    for i in range(6):
        report = ReportInput(narrative=f"narrative-marker-{i}",
                             consent=Consent(statistics=True))
        r = node_ctx.intake.submit(report, DataKey.generate(), [], "test")
        node_ctx.incidents.code(team.coordinator, r.report_id, IncidentCoding(
            category="rape", region="R1", date_from=date(2025, 3 + i % 3, 1)))
    app = create_app(node_ctx, {"staff"})
    client: TestClient[Any, Any] = await aiohttp_client(app)
    session = app[appkeys.STAFF_SESSIONS].new(team.analyst)
    client.session.cookie_jar.update_cookies({STAFF_COOKIE: session.id})

    r = await client.get("/staff/statistics")
    html = await r.text()
    assert r.status == 200 and "2025" in html
    r = await client.post("/staff/statistics/draft", data={"csrf": csrf_of(html), "year": "2025"},
                          allow_redirects=False)
    assert r.status == 303
    review_url = r.headers["Location"]
    r = await client.get(review_url)
    html = await r.text()
    assert r.status == 200 and "category" in html
    assert "narrative-marker" not in html  # counts only, never a narrative
    release_id = review_url.rsplit("/", 1)[1]
    # four eyes (issue 15): a second person approves what the analyst drafted
    sign_in_as(client, app, team.coordinator)
    html = await (await client.get(review_url)).text()
    r = await client.post(f"{review_url}/approve", data={"csrf": csrf_of(html)},
                          allow_redirects=False)
    assert r.status == 303
    entry = {e.id: e for e in node_ctx.statistics.ledger()}[release_id]
    assert entry.status == "approved"
    sign_in_as(client, app, team.analyst)
    html = await (await client.get("/staff/statistics")).text()

    # the default plan allows two releases a year: the second is drafted and discarded
    r = await client.post("/staff/statistics/draft", data={"csrf": csrf_of(html), "year": "2025"},
                          allow_redirects=False)
    second = r.headers["Location"]
    r = await client.post(f"{second}/discard", data={"csrf": csrf_of(html)},
                          allow_redirects=False)
    assert r.status == 303
    spent = node_ctx.statistics.budget(2025).spent
    # the third is refused before any noise is drawn, with a clear message
    r = await client.post("/staff/statistics/draft", data={"csrf": csrf_of(html), "year": "2025"},
                          allow_redirects=False)
    html = await r.text()
    assert r.status == 409 and re.search(r'class="errs"', html)
    assert node_ctx.statistics.budget(2025).spent == spent
    assert len(node_ctx.statistics.ledger()) == 2


async def test_a_scheduled_release_is_offered_and_opening_the_page_spends_nothing(
        tmp_path: Any, aiohttp_client: Any) -> None:
    from crypto import passphrase as pw
    from node.context import open_node
    from tests.conftest import make_node
    from tests.conftest import test_config as base_config

    datadir = make_node(tmp_path / "n", base_config() + '\n[statistics]\nschedule = "quarterly"\n')
    ctx = open_node(datadir, staff_params=pw.INSECURE_FAST_FOR_TESTS,
                    receipt_params=pw.INSECURE_FAST_FOR_TESTS)
    try:
        team = make_team(ctx)
        year = ctx.clock().year
        r = ctx.intake.submit(ReportInput(narrative="x", consent=Consent(statistics=True)),
                              DataKey.generate(), [], "test")
        ctx.incidents.code(team.coordinator, r.report_id,
                                IncidentCoding(category="rape", date_from=date(year, 1, 1)))
        app = create_app(ctx, {"staff"})
        client: TestClient[Any, Any] = await aiohttp_client(app)
        session = app[appkeys.STAFF_SESSIONS].new(team.analyst)
        client.session.cookie_jar.update_cookies({STAFF_COOKIE: session.id})
        # opening the page spends nothing: it says a release is due (issue 14)
        r1 = await client.get("/staff/statistics", allow_redirects=False)
        page = await r1.text()
        assert r1.status == 200 and ctx.statistics.ledger() == []
        assert "A scheduled release is due" in page
        assert "at most ε = 2" in page  # the lifetime bound, stated
        r2 = await client.post("/staff/statistics/draft",
                               data={"csrf": csrf_of(page), "year": str(year)},
                               allow_redirects=False)
        assert r2.status == 303
        [entry] = ctx.statistics.ledger()
        assert entry.status == "draft" and entry.period == str(year)
        sign_in_as(client, app, team.coordinator)  # four eyes: a second person approves
        page = await (await client.get(r2.headers["Location"])).text()
        await client.post(r2.headers["Location"] + "/approve", data={"csrf": csrf_of(page)})
        assert ctx.statistics.ledger()[0].status == "approved"
        sign_in_as(client, app, team.analyst)
        r3 = await client.get("/staff/statistics", allow_redirects=False)
        assert r3.status == 200 and len(ctx.statistics.ledger()) == 1  # once per quarter
        assert "A scheduled release is due" not in await r3.text()
    finally:
        ctx.close()
