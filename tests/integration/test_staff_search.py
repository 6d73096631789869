"""Search over HTTP: a coordinator's matches come newest first when asked, with the count
of all; a word in no case finds none; a caseworker finds only the cases assigned to them.
The words are posted with the form's token (issue 15: never in the address)."""

from __future__ import annotations

import re
from typing import Any

from aiohttp.test_utils import TestClient

from crypto.keys import DataKey
from node import accounts
from node.context import NodeContext
from node.intake.models import ReportInput
from node.web import appkeys
from node.web.app import create_app
from node.web.staff.case_lists import SEARCH_INDEX
from node.web.staff.common import STAFF_COOKIE
from tests.conftest import ADMIN, ADMIN_PASSPHRASE
from tests.integration.conftest import csrf_of
from tests.team import make_team


def shown(html: str) -> list[str]:
    """The report ids the page lists, in page order (each row links to its case)."""
    found = re.findall(r'href="/staff/cases/([0-9a-zA-Z_-]+)"', html)
    return list(dict.fromkeys(found))


async def test_matches_newest_first(node_ctx: NodeContext, aiohttp_client: Any) -> None:
    team = make_team(node_ctx)
    hours = [500, 900, 100, 700]  # received out of order
    ids = []
    for n, hour in enumerate(hours):
        words = "soldiers at the river crossing" if n < 3 else "a quiet market day"
        r = node_ctx.intake.submit(ReportInput(narrative=f"{words} report{n}"),
                                   DataKey.generate(), [], "test")
        with node_ctx.db.write() as conn:
            conn.execute("UPDATE reports SET received_hour = ? WHERE id = ?",
                         (hour, r.report_id))
        ids.append(r.report_id)
    node_ctx.case_access.assign(team.coordinator, ids[2], team.caseworker.member.id)

    app = create_app(node_ctx, {"staff"})
    client: TestClient[Any, Any] = await aiohttp_client(app)
    session = app[appkeys.STAFF_SESSIONS].new(team.coordinator)
    client.session.cookie_jar.update_cookies({STAFF_COOKIE: session.id})

    async def search(q: str, csrf: str) -> Any:
        return await client.post("/staff/search", data={"q": q, "csrf": csrf,
                                                        "sort": "received"})

    r = await search("soldiers river", session.csrf)
    html = await r.text()
    assert r.status == 200
    assert "Cases found: 3" in html
    assert shown(html) == [ids[1], ids[0], ids[2]]  # hours 900, 500, 100; not the market

    r = await search("market", session.csrf)
    assert shown(await r.text()) == [ids[3]]
    r = await search("helicopter", session.csrf)
    html = await r.text()
    assert "Cases found: 0" in html and shown(html) == []

    # a caseworker's index holds only their assigned case
    worker = app[appkeys.STAFF_SESSIONS].new(team.caseworker)
    client.session.cookie_jar.update_cookies({STAFF_COOKIE: worker.id})
    r = await search("soldiers", worker.csrf)
    html = await r.text()
    assert "Cases found: 1" in html and shown(html) == [ids[2]]


async def test_signing_in_starts_building_the_index(node_ctx: NodeContext,
                                                    aiohttp_client: Any) -> None:
    """Issue 3: the index is built in the background from the moment the person signs in
    (not from their first list page), so that a first search finds it ready or nearly."""
    r0 = node_ctx.intake.submit(ReportInput(narrative="the soldiers came at dawn"),
                                DataKey.generate(), [], "test")
    app = create_app(node_ctx, {"staff"})
    client: TestClient[Any, Any] = await aiohttp_client(app)
    r = await client.get("/staff/login")
    r = await client.post("/staff/login", data={
        "csrf": csrf_of(await r.text()), "username": ADMIN, "passphrase": ADMIN_PASSPHRASE},
        allow_redirects=False)
    assert r.status == 303
    admin_id = accounts.find_id(node_ctx.db.read(), ADMIN)
    assert admin_id is not None
    [session] = app[appkeys.STAFF_SESSIONS].of_staff(admin_id)
    building = session.cache[SEARCH_INDEX]  # started by the sign-in; no page opened yet
    assert (await building).search("soldiers") == {r0.report_id}
