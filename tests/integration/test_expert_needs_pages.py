"""The needs pages (issue 16) on a real node database and aiohttp server: a coordinator
posts a need on the staff office (a wrong field is explained, nothing stored), follows it,
and engages the local expert who accepted in the expert app, where the badge counts what
they have not seen and the engagement opens the description with their own key."""

from __future__ import annotations

import re
from typing import Any

from node.context import NodeContext
from node.federation.config import FederationConfig
from node.federation.status import FederationStatus
from node.web import appkeys
from node.web.app import create_app
from node.web.expert import common as expert_common
from node.web.staff.common import STAFF_COOKIE
from tests.integration.conftest import csrf_of
from tests.unit.node.test_expert_needs import OBSERVATORY_ID, make_world


async def test_post_follow_and_engage_through_the_pages(node_ctx: NodeContext,
                                                       aiohttp_client: Any) -> None:
    w = make_world(node_ctx)
    node_ctx.config = node_ctx.config.model_copy(update={"federation": FederationConfig(
        observatory_node_id=OBSERVATORY_ID,
        observatory_identity_key=w["observatory"].verify_key.raw().hex(),
        observatory_addrs=["/ip4/127.0.0.1/tcp/9"], organisation_name="A", country="CD",
        contact="a@example.org")})
    woken: list[int] = []
    status = FederationStatus(wake=lambda: woken.append(1))
    app = create_app(node_ctx, {"staff", "expert"}, federation_status=status)
    client = await aiohttp_client(app)
    office = app[appkeys.STAFF_SESSIONS].new(w["coordinator"])
    expert = app[expert_common.SESSIONS].new(w["expert"])
    jar = client.session.cookie_jar
    jar.update_cookies({STAFF_COOKIE: office.id, expert_common.EXPERT_COOKIE: expert.id})

    page = await (await client.get("/staff/needs")).text()
    assert "Post a need" in page
    count = node_ctx.db.read().execute("SELECT count(*) FROM expert_needs").fetchone()[0]
    r = await client.post("/staff/needs", data={
        "csrf": csrf_of(page), "specialty": "forensic_medicine", "languages": "sw",
        "country": "CD", "regions": "XX-NK", "mode": "on_site", "urgency": "urgent",
        "deadline_hours": "24", "description": "Canary-pages-5523"})
    assert r.status == 400 and "Regions must be codes" in await r.text()
    assert node_ctx.db.read().execute(
        "SELECT count(*) FROM expert_needs").fetchone()[0] == count
    r = await client.post("/staff/needs", data={
        "csrf": csrf_of(page), "specialty": "forensic_medicine", "languages": "sw",
        "country": "CD", "regions": "CD-NK", "mode": "on_site", "urgency": "urgent",
        "deadline_hours": "24", "description": "Canary-pages-5523"}, allow_redirects=False)
    assert r.status == 303, await r.text()
    need_path = r.headers["Location"].split("?")[0]
    need_id = need_path.rsplit("/", 1)[1]
    detail = await (await client.get(r.headers["Location"])).text()
    assert "sent to 2 matching experts" in detail and "No answer yet" in detail

    home = await (await client.get("/expert/")).text()
    assert '<span class="badge"' in home
    listing = await (await client.get("/expert/needs")).text()
    assert f"need-{need_id}" in listing and "Canary-pages-5523" not in listing
    home = await (await client.get("/expert/")).text()
    assert '<span class="badge"' not in home  # seen
    r = await client.post(f"/expert/needs/{node_ctx.keys.node_id}/{need_id}/answer",
                          data={"csrf": csrf_of(listing), "answer": "accept"})
    assert r.status == 200 and "You accepted" in await r.text()
    # The expert app alone (its own address, as served) wakes the outbox too.
    alone = create_app(node_ctx, {"expert"}, federation_status=status)
    assert alone[appkeys.FEDERATION_STATUS] is status

    detail = await (await client.get(need_path)).text()
    [key] = re.findall(r'name="expert" value="([0-9a-f]{64})"', detail)
    r = await client.post(f"{need_path}/pick", data={"csrf": csrf_of(detail), "expert": key})
    assert r.status == 200 and "The expert is engaged" in await r.text()
    assert len(woken) == 3  # posted, answered, picked: each message goes at once
    listing = await (await client.get("/expert/needs")).text()
    [engagement] = re.findall(r'/expert/engagements/([0-9a-f]{32})', listing)
    opened = await (await client.get(f"/expert/engagements/{engagement}")).text()
    assert "Canary-pages-5523" in opened
    # Another expert's engagement, or a made-up one, does not exist for them.
    r = await client.get(f"/expert/engagements/{'0' * 32}")
    assert r.status == 404
    for lang, word in (("fr", "Publier un besoin"), ("ar", "نشر احتياج"),
                       ("sw", "Weka hitaji"), ("uk", "Опублікувати потребу")):
        r = await client.get("/staff/needs", headers={"Accept-Language": lang})
        assert r.status == 200 and word in await r.text(), lang
        r = await client.get("/expert/needs", headers={"Accept-Language": lang})
        assert r.status == 200, lang
