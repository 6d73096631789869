"""Search over HTTP: a coordinator's matches come newest first, at most `SEARCH_SHOWN` of
them, with the count of all; a word in no case finds none; a caseworker finds only the
cases assigned to them."""

from __future__ import annotations

import re
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from crypto.keys import DataKey
from node.context import NodeContext
from node.intake.models import ReportInput
from node.web import appkeys
from node.web.app import create_app
from node.web.staff import cases as case_pages
from node.web.staff.common import STAFF_COOKIE
from tests.team import make_team


def shown(html: str) -> list[str]:
    """The report ids the page lists, in page order (each row links to its case)."""
    found = re.findall(r'href="/staff/cases/([0-9a-zA-Z_-]+)"', html)
    return list(dict.fromkeys(found))


async def test_matches_newest_first_within_the_limit(node_ctx: NodeContext, aiohttp_client: Any,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
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
    monkeypatch.setattr(case_pages, "SEARCH_SHOWN", 2)

    app = create_app(node_ctx, {"staff"})
    client: TestClient[Any, Any] = await aiohttp_client(app)
    session = app[appkeys.STAFF_SESSIONS].new(team.coordinator)
    client.session.cookie_jar.update_cookies({STAFF_COOKIE: session.id})

    r = await client.get("/staff/search", params={"q": "soldiers river"})
    html = await r.text()
    assert r.status == 200
    assert "Cases found: 3" in html and "the 2 most recent are shown" in html
    assert shown(html) == [ids[1], ids[0]]  # hours 900 and 500; not 100, not the market

    r = await client.get("/staff/search", params={"q": "market"})
    assert shown(await r.text()) == [ids[3]]
    r = await client.get("/staff/search", params={"q": "helicopter"})
    html = await r.text()
    assert "Cases found: 0" in html and shown(html) == []

    # a caseworker's index holds only their assigned case
    worker = app[appkeys.STAFF_SESSIONS].new(team.caseworker)
    client.session.cookie_jar.update_cookies({STAFF_COOKIE: worker.id})
    r = await client.get("/staff/search", params={"q": "soldiers"})
    html = await r.text()
    assert "Cases found: 1" in html and shown(html) == [ids[2]]
