"""The thread's pages (issue 16) over a real aiohttp server and a real SQLite file, without
JavaScript (plain forms): the coordinator writes from the staff office, the expert sees the
badge, reads and answers with a file in the expert app; a file that is not allowed is
refused in the person's language with what they wrote kept; another expert gets nothing;
pages are never cached and files are always downloads."""

from __future__ import annotations

import re
from typing import Any

from aiohttp import FormData
from aiohttp.test_utils import TestClient

from node.context import NodeContext
from node.demo import tiny_png
from node.web import appkeys
from node.web.app import create_app
from node.web.expert.common import EXPERT_COOKIE, SESSIONS
from node.web.staff.common import STAFF_COOKIE
from tests.team import make_team
from tests.unit.node.test_expert_threads import expert_of, local_engagement


def _csrf(page: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', page)
    assert found, page
    return found.group(1)


async def test_the_thread_pages_without_javascript(node_ctx: NodeContext,
                                                   aiohttp_client: Any) -> None:
    team = make_team(node_ctx)
    expert = expert_of(node_ctx, "expert-pages")
    stranger = expert_of(node_ctx, "expert-stranger")
    thread = local_engagement(node_ctx, team.coordinator, expert)
    app = create_app(node_ctx, {"staff", "expert"})
    c: TestClient[Any, Any] = await aiohttp_client(app)
    staff_session = app[appkeys.STAFF_SESSIONS].new(team.coordinator)
    expert_session = app[SESSIONS].new(expert)

    def as_staff() -> None:
        c.session.cookie_jar.clear()
        c.session.cookie_jar.update_cookies({STAFF_COOKIE: staff_session.id})

    def as_expert(session: Any = expert_session) -> None:
        c.session.cookie_jar.clear()
        c.session.cookie_jar.update_cookies({EXPERT_COOKIE: session.id})

    # The coordinator writes from the staff office.
    as_staff()
    page = await (await c.get(f"/staff/threads/{thread}")).text()
    assert "No messages yet." in page and 'enctype="multipart/form-data"' in page
    r = await c.post(f"/staff/threads/{thread}", allow_redirects=False,
                     data={"csrf": _csrf(page), "text": "Can you see her on Monday?"})
    assert r.status == 303 and r.headers["Location"].endswith("#latest")
    listing = await (await c.get("/staff/threads")).text()
    assert f"/staff/threads/{thread}" in listing

    # The expert sees the badge, then the message.
    as_expert()
    needs = await (await c.get("/expert/needs")).text()
    assert '<span class="badge"' in needs and "1 new messages" in needs
    r = await c.get(f"/expert/engagements/{thread}")
    page = await r.text()
    assert r.status == 200 and "Can you see her on Monday?" in page
    assert "no-store" in r.headers["Cache-Control"]
    assert '<span class="badge"' not in await (await c.get("/expert/needs")).text()

    # A file that is not allowed: refused in their language, what they wrote kept.
    form = FormData({"csrf": _csrf(page), "text": "Voici le rapport"})
    form.add_field("file", b"<html><script>alert(1)</script></html>", filename="r.html",
                   content_type="text/html")
    r = await c.post(f"/expert/threads/{thread}", data=form,
                     headers={"Accept-Language": "fr"})
    refused = await r.text()
    assert r.status == 415 and "Ce type de fichier ne peut pas être joint" in refused
    assert "Voici le rapport" in refused
    form = FormData({"csrf": _csrf(page), "text": "Yes, at ten. The scan:"})
    form.add_field("file", tiny_png(4), filename="scan.png", content_type="image/png")
    r = await c.post(f"/expert/threads/{thread}", data=form, allow_redirects=False)
    assert r.status == 303

    # Another expert: neither the page nor the form nor the file exists for them.
    as_expert(app[SESSIONS].new(stranger))
    assert (await c.get(f"/expert/engagements/{thread}")).status == 404
    assert (await c.post(f"/expert/threads/{thread}", data={
        "csrf": _csrf(needs), "text": "hello"})).status in (403, 404)

    # The coordinator reads the answer and downloads the file.
    as_staff()
    page = await (await c.get(f"/staff/threads/{thread}")).text()
    assert "Yes, at ten. The scan:" in page
    link = re.search(rf'href="(/staff/threads/{thread}/files/[0-9a-f]{{32}})"', page)
    assert link, page
    r = await c.get(link.group(1))
    assert await r.read() == tiny_png(4)
    assert r.headers["Content-Disposition"].startswith("attachment")
    assert r.headers["Content-Type"] == "application/octet-stream"
    fr = await (await c.get(f"/staff/threads/{thread}",
                            headers={"Accept-Language": "fr"})).text()
    assert "Votre message" in fr and "L’autre personne" in fr
