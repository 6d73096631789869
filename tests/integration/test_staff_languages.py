"""Staff pages in every language (issue 15, "Language"): the switcher on every page keeps the
choice in a cookie, not in the URL; forms mark their fields in error and keep what was
typed; and no staff page, walked in French and Arabic, shows English left untranslated or a
raw code (custody actions, coding summaries, option labels).

Real SQLite files, a real aiohttp server on 127.0.0.1. Expected texts come from the node's
own catalogues.
"""

from __future__ import annotations

import re
from datetime import date
from html.parser import HTMLParser
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from babel.dates import format_skeleton

from crypto.keys import DataKey
from node.backoffice.incidents import IncidentCoding
from node.context import NodeContext
from node.i18n import load
from node.intake.models import Consent, ReportInput
from node.web import appkeys
from node.web.app import create_app
from node.web.language import LANG_COOKIE
from node.web.staff import all_routes
from node.web.staff.common import STAFF_COOKIE
from tests.team import make_team

# -------------------------------------------------------------------- reading a page


class _Text(HTMLParser):
    """The text a person reads, node by node, and the attributes read aloud or shown
    (placeholder, aria-label, data-label), outside <code>, <bdi> and what people typed.
    A title may hold the stable code on purpose (the custody page: the CSV's code)."""

    SKIP = frozenset({"code", "bdi", "script", "style", "textarea", "pre"})

    def __init__(self) -> None:
        super().__init__()
        self.texts: list[str] = []
        self.skipping = 0
        self.html_attrs: dict[str, str] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "html":
            self.html_attrs = {k: v or "" for k, v in attrs}
        if tag in self.SKIP:
            self.skipping += 1
        for name, value in attrs:
            if name in ("aria-label", "placeholder", "data-label") and value:
                self.texts.append(value)

    def handle_endtag(self, tag: str) -> None:
        if tag in self.SKIP and self.skipping:
            self.skipping -= 1

    def handle_data(self, data: str) -> None:
        if not self.skipping and data.strip():
            self.texts.append(" ".join(data.split()))


def _read(html: str) -> _Text:
    parser = _Text()
    parser.feed(html)
    return parser


RAW_CODE = re.compile(r"^[a-z0-9]+(?:[._][a-z0-9]+)+$")


def _untranslated(html: str, lang: str) -> list[str]:
    """Text nodes that are an English catalogue message whose translation differs, or a
    raw code (snake_case, dotted)."""
    catalogue = load(lang)
    english = {m for m in _english_messages() if catalogue.gettext(m) != m}
    found = []
    for text in _read(html).texts:
        stripped = text.strip(" :()·—-,.")
        if stripped in english or text in english or RAW_CODE.match(stripped):
            found.append(text)
    return found


def _english_messages() -> set[str]:
    from importlib import resources

    from babel.messages.pofile import read_po

    po = resources.files("node").joinpath("locales", "fr", "LC_MESSAGES", "messages.po")
    with po.open("rb") as f:
        return {str(m.id) for m in read_po(f) if m.id and isinstance(m.id, str)
                and "%(" not in m.id and len(m.id) > 1}


# -------------------------------------------------------------------- the node


def _report(ctx: NodeContext, **fields: Any) -> str:
    fields.setdefault("narrative", "Fatima a vu Mr. Smith")
    return ctx.intake.submit(ReportInput(consent=Consent(statistics=True, referral=True,
                                                         legal=True), **fields),
                             DataKey.generate(), [], "test").report_id


async def _client(ctx: NodeContext, aiohttp_client: Any, who: Any
                  ) -> tuple[TestClient[Any, Any], str]:
    app = create_app(ctx, {"staff"})
    client: TestClient[Any, Any] = await aiohttp_client(app)
    session = app[appkeys.STAFF_SESSIONS].new(who)
    client.session.cookie_jar.update_cookies({STAFF_COOKIE: session.id})
    return client, session.csrf


# -------------------------------------------------------------------- the switcher


async def test_the_switcher_keeps_the_language_in_a_cookie_not_in_the_url(
        node_ctx: NodeContext, aiohttp_client: Any) -> None:
    team = make_team(node_ctx)
    rid = _report(node_ctx, region="R1")
    client, _ = await _client(node_ctx, aiohttp_client, team.root)
    case = f"/staff/cases/{rid}"
    first = await (await client.get(case)).text()
    # on the page: a form posting to the switcher, back to this very page, no script
    assert 'action="/staff/language"' in first
    assert f'name="back" value="{case}"' in first
    assert '<html lang="en" dir="ltr">' in first

    r = await client.post("/staff/language", data={"lang": "ar", "back": case},
                          allow_redirects=False)
    assert r.status == 303 and r.headers["Location"] == case
    cookie = r.cookies[LANG_COOKIE]
    assert cookie.value == "ar" and cookie["path"] == "/staff" and cookie["httponly"]
    assert not cookie["expires"] and not cookie["max-age"]  # ends with the browser session
    page = await client.get(case)
    html = await page.text()
    assert str(page.url).endswith(case)  # the case's address is the same in every language
    assert '<html lang="ar" dir="rtl">' in html
    assert load("ar").gettext("Internal notes") in html
    # the switcher shows where one is
    assert re.search(r'<button class="alt" name="lang" value="ar" lang="ar" aria-current="true"',
                     html)


@pytest.mark.parametrize("back", ["//evil.example/x", "https://evil.example/", "/reporter",
                                  "/staff\\\\evil", "/staff/ x", ""])
async def test_the_switcher_never_sends_anyone_off_the_staff_office(
        node_ctx: NodeContext, aiohttp_client: Any, back: str) -> None:
    client = await aiohttp_client(create_app(node_ctx, {"staff"}))
    r = await client.post("/staff/language", data={"lang": "fr", "back": back},
                          allow_redirects=False)
    assert r.status == 303 and r.headers["Location"] == "/staff/"


async def test_an_unknown_language_is_refused_and_nothing_is_remembered(
        node_ctx: NodeContext, aiohttp_client: Any) -> None:
    client = await aiohttp_client(create_app(node_ctx, {"staff"}))
    r = await client.post("/staff/language", data={"lang": "xx", "back": "/staff/login"},
                          allow_redirects=False)
    assert r.status == 400 and LANG_COOKIE not in r.cookies


async def test_another_site_cannot_switch_a_persons_language(
        node_ctx: NodeContext, aiohttp_client: Any) -> None:
    client = await aiohttp_client(create_app(node_ctx, {"staff"}))
    for headers in ({"Origin": "https://evil.example"}, {"Sec-Fetch-Site": "cross-site"}):
        r = await client.post("/staff/language", data={"lang": "ar", "back": "/staff/login"},
                              headers=headers, allow_redirects=False)
        assert r.status >= 400 and LANG_COOKIE not in r.cookies


async def test_the_sign_in_page_has_the_switcher_before_anyone_signs_in(
        node_ctx: NodeContext, aiohttp_client: Any) -> None:
    client = await aiohttp_client(create_app(node_ctx, {"staff"}))
    client.session.cookie_jar.update_cookies({LANG_COOKIE: "fr"})
    html = await (await client.get("/staff/login")).text()
    assert 'action="/staff/language"' in html and '<html lang="fr" dir="ltr">' in html
    assert load("fr").gettext("Staff sign-in") in html


# -------------------------------------------------------------------- forms


async def test_a_refused_task_marks_its_date_and_keeps_what_was_typed(
        node_ctx: NodeContext, aiohttp_client: Any) -> None:
    team = make_team(node_ctx)
    rid = _report(node_ctx)
    client, csrf = await _client(node_ctx, aiohttp_client, team.root)
    html = await (await client.get(f"/staff/cases/{rid}")).text()
    assert '<input type="date" id="due" name="due"' in html
    r = await client.post(f"/staff/cases/{rid}/tasks",
                          data={"csrf": csrf, "text": "Appeler la clinique", "due": "2026-02-30"})
    html = await r.text()
    assert r.status == 400
    assert 'value="Appeler la clinique"' in html and 'value="2026-02-30"' in html
    assert 'id="due" name="due" autocomplete="off" min="2000-01-01" max="2999-12-31" ' \
           'value="2026-02-30" aria-invalid="true" aria-describedby="due-err"' in html
    assert '<span class="err" id="due-err">' in html
    assert '<li><a href="#due">Due date: ' in html  # the summary links to the field
    # only the form that was posted shows it: the note form stays empty
    assert '<textarea id="note" name="text" dir="auto" rows="3"></textarea>' in html

    # a task saved with its due day: shown as the page's language writes a day
    client.session.cookie_jar.update_cookies({LANG_COOKIE: "fr"})
    r = await client.post(f"/staff/cases/{rid}/tasks",
                          data={"csrf": csrf, "text": "Appeler", "due": "2026-03-02"})
    assert r.status == 200 and "2 mars 2026" in await r.text()

    r = await client.post(f"/staff/cases/{rid}/referrals",
                          data={"csrf": csrf, "service_id": "nowhere", "shared": "Only this"})
    html = await r.text()
    assert r.status == 400 and ">Only this</textarea>" in html
    assert 'id="service" name="service_id" aria-invalid="true"' in html


async def test_a_refused_invitation_marks_the_field_and_keeps_what_was_typed(
        node_ctx: NodeContext, aiohttp_client: Any) -> None:
    team = make_team(node_ctx)
    client, csrf = await _client(node_ctx, aiohttp_client, team.root)
    r = await client.post("/staff/accounts/invite",
                          data={"csrf": csrf, "username": "new person", "roles": "caseworker"})
    html = await r.text()
    assert r.status == 400
    assert 'value="new person"' in html and 'value="caseworker" checked' in html
    assert 'aria-invalid="true" aria-describedby="username-err"' in html
    r = await client.post("/staff/accounts/invite", data={"csrf": csrf, "username": "newbie"})
    html = await r.text()
    assert r.status == 400 and '<fieldset aria-invalid="true" aria-describedby="roles-err">' in html


async def test_a_partial_date_goes_through_the_coding_form(
        node_ctx: NodeContext, aiohttp_client: Any) -> None:
    team = make_team(node_ctx)
    rid = _report(node_ctx, region="R1")
    client, csrf = await _client(node_ctx, aiohttp_client, team.root)
    client.session.cookie_jar.update_cookies({LANG_COOKIE: "fr"})
    answers = {"category": "rape", "region": "R1", "perpetrator_affiliation": "militia",
               "survivor_sex": "unknown", "survivor_age_group": "unknown",
               "context": "non_international_armed_conflict", "date_from": "",
               "date_from_approx": "mars 2024", "date_to": "", "date_to_approx": "",
               "unit_named": "", "perpetrator_count": ""}
    html = await (await client.post(f"/staff/cases/{rid}/incidents/review",
                                    data={"csrf": csrf, **answers})).text()
    assert "mars 2024" in html and "2024-03-01" not in html
    r = await client.post(f"/staff/cases/{rid}/incidents",
                          data={"csrf": csrf, "reviewed": "yes", **answers})
    assert r.status == 200  # followed to the case page
    case = await r.text()
    assert "mars 2024" in case
    bad = await client.post(f"/staff/cases/{rid}/incidents/review",
                            data={"csrf": csrf, **answers, "date_to_approx": "Marchember"})
    html = await bad.text()
    assert bad.status == 400 and 'value="Marchember"' in html
    assert 'aria-invalid="true" aria-describedby="c_date_to_approx-err"' in html
    # the summary at the top names the field and links to it
    fr = load("fr").gettext
    assert f'<li><a href="#c_date_to_approx">{fr("To")}: ' in html

    untouched = await client.post(f"/staff/cases/{rid}/incidents/review", data={"csrf": csrf})
    html = await untouched.text()
    assert untouched.status == 400
    assert html.count(f': {fr("Choose an answer.")}</a></li>') == 6


# -------------------------------------------------------------------- the walk


def _get_routes() -> list[Any]:
    return [r for r in all_routes() if r.method == "GET"]


@pytest.mark.parametrize("lang", ["fr", "ar", "sw", "uk"])
async def test_no_staff_page_shows_english_or_raw_codes(
        node_ctx: NodeContext, aiohttp_client: Any, lang: str) -> None:
    team = make_team(node_ctx)
    rid = _report(node_ctx, region="R1", perpetrator_affiliation="militia",
                  incident_year=2024, incident_month=3)
    other = _report(node_ctx, region="R1")
    coding = IncidentCoding(category="rape", region="R1", perpetrator_affiliation="militia",
                            context="widespread_or_systematic_attack")
    node_ctx.incidents.code(team.root, rid, coding)
    node_ctx.incidents.code(team.root, other, coding)
    node_ctx.timeline.add_task(team.root, rid, "call back", None)
    node_ctx.timeline.set_status(team.root, rid, "in_triage")
    client, csrf = await _client(node_ctx, aiohttp_client, team.root)
    # the audit log holds account entries too (an invitation, its cancellation)
    await client.post("/staff/accounts/invite",
                      data={"csrf": csrf, "username": "someone", "roles": "caseworker"})
    client.session.cookie_jar.update_cookies({LANG_COOKIE: lang})
    raw: dict[str, list[str]] = {}
    walked: list[str] = []
    for route in _get_routes():
        if "{" in route.path and "{report_id}" not in route.path:
            continue
        if route.path.endswith((".csv", "/export", "/edit")) or "/files/" in route.path:
            continue
        path = "/staff" + route.path.replace("{report_id}", rid)
        r = await client.get(path, allow_redirects=False)
        if r.status != 200 or not r.content_type.startswith("text/html"):
            continue
        html = await r.text()
        walked.append(route.path)
        head = _read(html).html_attrs
        assert head.get("lang") == lang and head.get("dir") == ("rtl" if lang == "ar" else "ltr")
        assert 'action="/staff/language"' in html, path
        if route.path == "/cases/{report_id}":  # the month the reporter gave, in words
            march = format_skeleton("yMMMM", date(2024, 3, 1), locale=lang)
            assert march in html and "2024-3" not in html
        if route.path == "/audit":  # account entries are named, not coded
            assert load(lang).gettext("Invited someone") in html
        found = _untranslated(html, lang)
        if found:
            raw[route.path] = found
    assert raw == {}
    assert len(walked) >= 12, walked


async def test_the_expert_app_has_its_own_switcher_and_cookie(
        node_ctx: NodeContext, aiohttp_client: Any) -> None:
    client = await aiohttp_client(create_app(node_ctx, {"staff", "expert"}))
    html = await (await client.get("/expert/login")).text()
    assert 'action="/expert/language"' in html and 'name="back" value="/expert/login"' in html
    r = await client.post("/expert/language", data={"lang": "uk", "back": "/expert/login"},
                          allow_redirects=False)
    assert r.status == 303 and r.headers["Location"] == "/expert/login"
    assert r.cookies[LANG_COOKIE]["path"] == "/expert"
    html = await (await client.get("/expert/login")).text()
    assert '<html lang="uk" dir="ltr">' in html
    # a way back to the staff office is never offered from the expert app
    r = await client.post("/expert/language", data={"lang": "uk", "back": "/staff/queue"},
                          allow_redirects=False)
    assert r.headers["Location"] == "/expert/"
    # the staff office does not read the expert app's choice
    html = await (await client.get("/staff/login")).text()
    assert '<html lang="en" dir="ltr">' in html
