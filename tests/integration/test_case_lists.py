"""The queue, the case list and search through a real aiohttp server (issue 15): every case
reachable page by page (nothing stops at 200 rows), each filter and sort against what the
seeded cases say, who a case is assigned to, the row that opens its case, search over
notes, messages, region names and case numbers, search words never in an address, and a
caseworker finding only what they may read."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from html import unescape
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
from aiohttp.test_utils import TestClient

from crypto.keys import DataKey
from node.backoffice.case_listing import PAGE_SIZE
from node.backoffice.case_numbers import number_of
from node.context import NodeContext
from node.intake.models import Consent, ReportInput
from node.intake.service import hour_of
from node.web import appkeys
from node.web.app import create_app
from node.web.staff.common import STAFF_COOKIE
from tests.team import Team, make_team

ROW = re.compile(r'<a class="row-link" href="/staff/cases/([0-9a-f]+)"')
NEXT = re.compile(r'<a href="([^"]+)" rel="next">')


@pytest.fixture
def team(node_ctx: NodeContext) -> Team:
    return make_team(node_ctx)


def listed(html: str) -> list[str]:
    return ROW.findall(html)


class Seeded:
    def __init__(self, ctx: NodeContext, team: Team, n: int) -> None:
        """`n` cases: received an hour apart (case i the i-th newest), updated in another
        order, in regions R1/R2/none, every fifth in the PEP window, every third giving
        contact consent, every fourth assigned to the caseworker, every seventh closed."""
        self.ids: list[str] = []
        self.region: dict[str, str | None] = {}
        self.contact: set[str] = set()
        self.pep: set[str] = set()
        self.mine: set[str] = set()
        self.status: dict[str, str] = {}
        now_hour = hour_of(datetime.now(UTC))
        today = datetime.now(UTC).date()
        rows = []
        for i in range(n):
            region = ("R1", "R2", None)[i % 3]
            fields: dict[str, Any] = {"narrative": f"case {i} walked to the well"}
            if region:
                fields["region"] = region
            if i % 5 == 0:
                fields |= {"incident_year": today.year, "incident_month": today.month,
                           "incident_day": today.day}
            else:
                fields["incident_year"] = 2020
            r = ctx.intake.submit(ReportInput(consent=Consent(contact=i % 3 == 1), **fields),
                                  DataKey.generate(), [], "test")
            rid = r.report_id
            self.ids.append(rid)
            self.region[rid] = region
            if i % 3 == 1:
                self.contact.add(rid)
            if i % 5 == 0:
                self.pep.add(rid)
            self.status[rid] = "new"
            # received: case 0 newest; updated: the reverse order
            rows.append((now_hour - i, now_hour - n + i, rid))
        with ctx.db.write() as conn:
            conn.executemany("UPDATE reports SET received_hour = ?, updated_hour = ? WHERE id = ?",
                             rows)
        for i, rid in enumerate(self.ids):
            if i % 4 == 0:
                ctx.case_access.assign(team.coordinator, rid, team.caseworker.member.id)
                self.mine.add(rid)
        with ctx.db.write() as conn:  # statuses without touching the updated hour
            for i, rid in enumerate(self.ids):
                if i % 7 == 3:
                    conn.execute("UPDATE reports SET status = 'closed' WHERE id = ?", (rid,))
                    self.status[rid] = "closed"
            conn.executemany("UPDATE reports SET updated_hour = ? WHERE id = ?",
                             [(u, rid) for _, u, rid in rows])
        # an assignment moves a case on (out of the queue)
        self.status = dict(ctx.db.read().execute("SELECT id, status FROM reports"))


async def signed_in(ctx: NodeContext, aiohttp_client: Any, who: Any) -> tuple[
        TestClient[Any, Any], str]:
    app = create_app(ctx, {"staff"})
    client: TestClient[Any, Any] = await aiohttp_client(app)
    session = app[appkeys.STAFF_SESSIONS].new(who)
    client.session.cookie_jar.update_cookies({STAFF_COOKIE: session.id})
    return client, session.csrf


async def walk(client: TestClient[Any, Any], path: str) -> tuple[list[str], int]:
    """Every case a list shows, following its Next links; and how many pages it had."""
    seen: list[str] = []
    pages = 0
    url: str | None = path
    while url:
        r = await client.get(url)
        assert r.status == 200
        html = await r.text()
        rows = listed(html)
        assert len(rows) <= PAGE_SIZE
        seen += rows
        pages += 1
        found = NEXT.search(html)
        url = unescape(found.group(1)) if found else None
    return seen, pages


async def test_queue_and_list_page_through_every_case_filtered_and_sorted(
        node_ctx: NodeContext, team: Team, aiohttp_client: Any) -> None:
    n = 330  # the queue holds more than the 200 rows it used to stop at
    s = Seeded(node_ctx, team, n)
    client, _ = await signed_in(node_ctx, aiohttp_client, team.coordinator)

    # the queue: every untriaged case, however many, most urgent first
    queue, pages = await walk(client, "/staff/queue")
    untriaged = [i for i in s.ids if s.status[i] == "new"]
    assert len(untriaged) > 200
    assert sorted(queue) == sorted(untriaged) and len(queue) == len(set(queue))
    assert pages == -(-len(untriaged) // PAGE_SIZE)
    pep_first = [i for i in untriaged if i in s.pep]
    assert queue[:len(pep_first)] == pep_first  # PEP window first, newest first among them
    r = await client.get("/staff/queue")
    assert f"Triage queue ({len(untriaged)})" in await r.text()

    # the case list: everything, newest first by default for a coordinator
    everything, _ = await walk(client, "/staff/cases")
    assert everything == s.ids
    updated, _ = await walk(client, "/staff/cases?sort=updated")
    assert updated == list(reversed(s.ids))
    urgent, _ = await walk(client, "/staff/cases?sort=urgency")
    assert set(urgent[:len(s.pep)]) == s.pep

    # each filter, alone and together, against the seed
    async def only(query: str) -> list[str]:
        found, _ = await walk(client, "/staff/cases?" + query)
        return found

    assert await only("status=closed") == [i for i in s.ids if s.status[i] == "closed"]
    assert await only("region=R1") == [i for i in s.ids if s.region[i] == "R1"]
    assert await only("consent=contact") == [i for i in s.ids if i in s.contact]
    assert await only("urgency=pep") == [i for i in s.ids if i in s.pep]
    assert await only(f"assignee={team.caseworker.member.id}") == [
        i for i in s.ids if i in s.mine]
    assert await only("assignee=none") == [i for i in s.ids if i not in s.mine]
    assert await only("region=R2&consent=contact&sort=updated") == list(reversed(
        [i for i in s.ids if s.region[i] == "R2" and i in s.contact]))
    # an unknown value is ignored, not an error
    assert await only("region=nowhere&status=bogus&sort=sideways") == s.ids
    # the filters stay in the Next link (codes only)
    r = await client.get("/staff/cases?region=R1&sort=updated")
    link = dict(parse_qsl(urlsplit(unescape(NEXT.search(await r.text()).group(1))).query))
    assert link == {"region": "R1", "sort": "updated", "offset": str(PAGE_SIZE)}

    # who a case is assigned to is on its row; the whole row is one link to the case
    html = await (await client.get(f"/staff/cases?assignee={team.caseworker.member.id}")).text()
    assert html.count("<bdi>worker</bdi>") == len(listed(html))
    assert "a.row-link::after" in await (await client.get("/static/site.css")).text()


async def test_a_caseworker_lists_their_cases_most_urgent_first(
        node_ctx: NodeContext, team: Team, aiohttp_client: Any) -> None:
    s = Seeded(node_ctx, team, 40)
    client, _ = await signed_in(node_ctx, aiohttp_client, team.caseworker)
    mine, _ = await walk(client, "/staff/cases")
    assert sorted(mine) == sorted(s.mine)
    assert mine == sorted(s.mine, key=lambda i: (i not in s.pep, s.ids.index(i)))
    assert mine[0] in s.pep
    # the queue is not theirs
    assert (await client.get("/staff/queue")).status == 403


async def search(client: TestClient[Any, Any], csrf: str, words: str,
                 **form: str) -> tuple[str, list[str]]:
    r = await client.post("/staff/search", data={"csrf": csrf, "q": words, **form},
                          allow_redirects=False)
    assert r.status == 200
    assert "Location" not in r.headers
    html = await r.text()
    return html, listed(html)


def assert_not_in_any_address(html: str, word: str) -> None:
    """No link, form action or source of the page carries `word`."""
    for address in re.findall(r'(?:href|action|src)="([^"]*)"', html):
        assert word.lower() not in unescape(address).lower(), address


async def test_search_covers_notes_messages_regions_and_case_numbers(
        node_ctx: NodeContext, team: Team, aiohttp_client: Any) -> None:
    s = Seeded(node_ctx, team, 12)
    noted, messaged, other = s.ids[4], s.ids[8], s.ids[1]  # 4 and 8 are the caseworker's
    client, csrf = await signed_in(node_ctx, aiohttp_client, team.coordinator)
    _, found = await search(client, csrf, "well")  # the index is built: now it must follow
    assert sorted(found) == sorted(s.ids)
    node_ctx.timeline.add_note(team.coordinator, noted, "called the aunt in Kalehe")
    node_ctx.conversations.send(team.coordinator, messaged, "the clinic opens on Tuesday")
    node_ctx.timeline.add_note(team.coordinator, other, "the aunt moved to Uvira")

    for words, expected in (
            ("kalehe", [noted]), ("aunt kaleh", [noted]),    # a note, by prefix
            ("tuesday clinic", [messaged]),                  # a message
            ("aunt", [noted, other]),
            ("North", [i for i in s.ids if s.region[i] == "R1"]),    # a region's name
            ("Nord", [i for i in s.ids if s.region[i] == "R1"]),     # in another language
            ("south", [i for i in s.ids if s.region[i] == "R2"]),
            (number_of(other), [other]),                      # its case number
            (number_of(other).replace("-", "").lower(), [other]),
            (number_of(other).replace("-", " "), [other]),
            ("helicopter", [])):
        html, found = await search(client, csrf, words)
        assert sorted(found) == sorted(expected), words
        assert f"Cases found: {len(expected)}" in html
        assert_not_in_any_address(html, words)

    # results sort and filter like a list, and page with buttons of the posted form
    _, found = await search(client, csrf, "well", sort="updated", region="R1")
    assert found == list(reversed([i for i in s.ids if s.region[i] == "R1"]))

    # a caseworker finds only the cases assigned to them, notes and messages included
    worker, worker_csrf = await signed_in(node_ctx, aiohttp_client, team.caseworker)
    for words, expected in (("aunt", [noted]), ("tuesday", [messaged]), ("uvira", []),
                            (number_of(other), []), ("well", sorted(s.mine))):
        _, found = await search(worker, worker_csrf, words)
        assert sorted(found) == sorted(expected), words


async def test_search_words_never_travel_in_an_address(
        node_ctx: NodeContext, team: Team, aiohttp_client: Any) -> None:
    s = Seeded(node_ctx, team, 120)  # results span pages
    client, csrf = await signed_in(node_ctx, aiohttp_client, team.coordinator)

    # words in the address are neither searched nor shown again
    r = await client.get("/staff/search", params={"q": "walked"})
    html = await r.text()
    assert r.status == 200 and listed(html) == [] and "walked" not in html
    # a search without the form's token is refused
    r = await client.post("/staff/search", data={"q": "walked"}, allow_redirects=False)
    assert r.status == 403

    html, first = await search(client, csrf, "walked well", sort="received")
    assert first == s.ids[:PAGE_SIZE]
    assert_not_in_any_address(html, "walked")
    assert 'name="offset" value="50"' in html and "<a href=\"/staff/search?" not in html
    html, second = await search(client, csrf, "walked well", sort="received", offset="50")
    assert second == s.ids[PAGE_SIZE:2 * PAGE_SIZE]
    assert_not_in_any_address(html, "walked")
    # the form that carries the next page is posted, with its token
    form = html[html.index('<form method="post" action="/staff/search">'):]
    assert 'name="csrf"' in form.split("</form>")[0]


@pytest.mark.parametrize("path", ["/staff/queue", "/staff/cases"])
async def test_a_coordinator_without_the_intake_key_is_told_what_is_missing(
        node_ctx: NodeContext, team: Team, aiohttp_client: Any, path: str) -> None:
    with node_ctx.db.write() as conn:
        conn.execute("DELETE FROM key_wraps WHERE holder = ?",
                     (f"staff:{team.coordinator.member.id}",))
    from node import accounts
    from tests.team import PASSPHRASE

    keyless = accounts.unlock(node_ctx.db.read(), "coord", PASSPHRASE)
    client, _ = await signed_in(node_ctx, aiohttp_client, keyless)
    r = await client.get(path)
    html = await r.text()
    assert "not yet" in html
