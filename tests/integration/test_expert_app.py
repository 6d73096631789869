"""The expert app (issue 16) over real aiohttp servers on 127.0.0.1 and a real SQLite file:
invited like staff, own keys and passphrase, a second factor that is required, a profile
and availability in one tap, its own address apart from the staff office, every route x
every role, and its pages in every language of the node."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import aiohttp
import pyotp
import pytest
from aiohttp.test_utils import TestClient

from crypto import passphrase as pw
from node import accounts, invitations
from node.context import NodeContext, open_node
from node.datadir import DataDir
from node.experts import profiles
from node.server import running, sites
from node.web import appkeys
from node.web.app import create_app
from node.web.expert import all_routes
from node.web.expert.common import EXPERT_COOKIE, NEEDS_SECOND_FACTOR, SESSIONS, Access
from node.web.staff.common import STAFF_COOKIE
from node.web.staff.sign_in_guard import SIGN_INS_AT_ONCE, SIGN_INS_WAITING
from tests.conftest import ADMIN, ADMIN_PASSPHRASE
from tests.integration.conftest import csrf_of
from tests.team import ROLES, make_team

FAST = pw.INSECURE_FAST_FOR_TESTS
PASS = "a long enough passphrase"
T0 = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)


@dataclass
class App:
    client: TestClient[Any, Any]
    app: Any
    ctx: NodeContext
    now: list[datetime]


@pytest.fixture
async def expert_app(node_dir: DataDir, aiohttp_client: Any) -> AsyncIterator[App]:
    now = [T0]
    ctx = open_node(node_dir, staff_params=FAST, receipt_params=FAST, clock=lambda: now[0])
    app = create_app(ctx, {"staff", "expert"})

    async def no_wait(seconds: float) -> None:
        pass

    app[appkeys.LOGIN_DELAY] = no_wait
    client = await aiohttp_client(app)
    yield App(client, app, ctx, now)
    ctx.close()


def _admin_id(ctx: NodeContext) -> str:
    return accounts.unlock(ctx.db.read(), ADMIN, ADMIN_PASSPHRASE).member.id


def invite_expert(ctx: NodeContext, username: str = "medic", now: datetime = T0) -> str:
    return invitations.invite(ctx.db, ctx.audit, _admin_id(ctx), username, {"expert"},
                              int(now.timestamp()))


async def accept(client: TestClient[Any, Any], code: str) -> aiohttp.ClientResponse:
    r = await client.get(f"/expert/invite/{code}")
    assert r.status == 200, await r.text()
    return await client.post(f"/expert/invite/{code}", allow_redirects=False, data={
        "csrf": csrf_of(await r.text()), "passphrase": PASS, "repeat": PASS})


async def enrol(app: App) -> pyotp.TOTP:
    """The second-factor page, as an expert who just signed in without one."""
    c = app.client
    page = await (await c.get("/expert/second-factor")).text()
    secret = re.search(r'id="totp-secret">([^<]+)<', page)
    assert secret
    totp = pyotp.TOTP(secret.group(1).replace(" ", ""))
    r = await c.post("/expert/second-factor", allow_redirects=False,
                     data={"csrf": csrf_of(page), "code": totp.at(app.now[0])})
    assert r.status == 303 and r.headers["Location"] == "/expert/?done=second_factor"
    return totp


async def sign_in(client: TestClient[Any, Any], path: str, username: str, passphrase: str
                  ) -> aiohttp.ClientResponse:
    client.session.cookie_jar.clear()
    r = await client.get(f"{path}/login")
    return await client.post(f"{path}/login", allow_redirects=False, data={
        "csrf": csrf_of(await r.text()), "username": username, "passphrase": passphrase})


async def test_an_invited_expert_must_turn_on_the_second_factor_before_anything(
        expert_app: App) -> None:
    c = expert_app.client
    r = await accept(c, invite_expert(expert_app.ctx))
    assert r.status == 303 and r.headers["Location"] == "/expert/second-factor"
    # Until the second factor is on, the app is the enrolment page and nothing else.
    r = await c.get("/expert/", allow_redirects=False)
    assert r.status == 303 and r.headers["Location"] == "/expert/second-factor"
    assert (await c.post("/expert/availability", data={"availability": "now"},
                         allow_redirects=False)).status == 403
    page = await (await c.get("/expert/second-factor")).text()
    found = re.search(r'id="totp-secret">([^<]+)<', page)
    assert found
    right = pyotp.TOTP(found.group(1).replace(" ", "")).at(T0)
    r = await c.post("/expert/second-factor", data={
        "csrf": csrf_of(page), "code": "000000" if right != "000000" else "111111"})
    assert r.status == 401 and "authenticator" in await r.text()
    totp = await enrol(expert_app)
    assert (await c.get("/expert/")).status == 200
    # Signing in again asks for the code; a wrong one is refused.
    r = await sign_in(c, "/expert", "medic", PASS)
    assert r.status == 303 and r.headers["Location"] == "/expert/login/code"
    expert_app.now[0] = expert_app.now[0].replace(minute=5)
    page = await (await c.get("/expert/login/code")).text()
    wrong = "000000" if totp.at(expert_app.now[0]) != "000000" else "111111"
    r = await c.post("/expert/login/code", data={"csrf": csrf_of(page), "code": wrong})
    assert r.status == 401
    r = await c.post("/expert/login/code", allow_redirects=False,
                     data={"csrf": csrf_of(page), "code": totp.at(expert_app.now[0])})
    assert r.status == 303 and r.headers["Location"] == "/expert/"
    home = await (await c.get("/expert/")).text()
    assert "Nothing has been shared with you." in home
    verdict = expert_app.ctx.audit.verify(expert_app.ctx.db.read())
    assert verdict.ok, verdict.reason


async def signed_in_expert(app: App, username: str = "medic") -> None:
    r = await accept(app.client, invite_expert(app.ctx, username))
    assert r.status == 303
    await enrol(app)


async def test_availability_in_one_tap_and_the_profile(expert_app: App) -> None:
    c, ctx = expert_app.client, expert_app.ctx
    await signed_in_expert(expert_app)
    home = await (await c.get("/expert/")).text()
    assert "Fill in your profile" in home
    assert home.count('action="/expert/availability"') == 3  # now, this week, away
    r = await c.post("/expert/availability", allow_redirects=False,
                     data={"csrf": csrf_of(home), "availability": "now"})
    assert r.status == 303
    staff_id = ctx.db.read().execute("SELECT id FROM staff WHERE username = 'medic'"
                                     ).fetchone()[0]
    stored = profiles.get(ctx.db.read(), staff_id)
    assert stored is not None and stored.availability == "now" and stored.profile is None
    r = await c.post("/expert/availability", data={"csrf": csrf_of(home),
                                                   "availability": "tomorrow"})
    assert r.status == 400

    form = await (await c.get("/expert/profile")).text()
    bad = await c.post("/expert/profile", data={
        "csrf": csrf_of(form), "specialties": "forensic_medicine", "countries": "CD",
        "regions": "UG-W", "modes": "remote"})  # no language, a region outside CD
    assert bad.status == 400 and "Choose at least one specialty" in await bad.text()
    assert profiles.get(ctx.db.read(), staff_id).profile is None  # type: ignore[union-attr]
    r = await c.post("/expert/profile", allow_redirects=False, data=[
        ("csrf", csrf_of(form)), ("specialties", "forensic_medicine"),
        ("specialties", "interpretation"), ("languages", "fr"), ("languages", "sw"),
        ("other_languages", "ln, rw"), ("countries", "cd iq"), ("regions", "CD-NK, cd-sk"),
        ("modes", "on_site")])
    assert r.status == 303, await r.text()
    stored = profiles.get(ctx.db.read(), staff_id)
    assert stored is not None and stored.profile is not None
    assert stored.profile.specialties == ("forensic_medicine", "interpretation")
    assert stored.profile.languages == ("fr", "ln", "rw", "sw")
    assert stored.profile.regions == ("CD-NK", "CD-SK")
    home = await (await c.get("/expert/")).text()
    assert "Forensic medicine" in home and "CD-NK" in home


async def test_the_experts_own_signing_key_opens_only_with_their_own_key(
        expert_app: App) -> None:
    await signed_in_expert(expert_app)
    assert (await expert_app.client.get("/expert/")).status == 200  # made on first use
    ctx = expert_app.ctx
    expert = accounts.unlock(ctx.db.read(), "medic", PASS)
    stored = profiles.get(ctx.db.read(), expert.member.id)
    assert stored is not None
    key = profiles.signing_key(ctx.db.read(), expert)
    assert key.verify_key.raw() == stored.signing_public_key
    sealed = ctx.db.read().execute("SELECT signing_seed_sealed FROM expert_profiles"
                                   ).fetchone()[0]
    assert key.seed() not in bytes(sealed)  # sealed at rest


async def test_experts_and_staff_each_sign_in_at_their_own_door(expert_app: App) -> None:
    c = expert_app.client
    await signed_in_expert(expert_app)
    r = await sign_in(c, "/staff", "medic", PASS)
    assert r.status == 401 and STAFF_COOKIE not in r.cookies  # like a wrong passphrase
    r = await sign_in(c, "/expert", ADMIN, ADMIN_PASSPHRASE)
    assert r.status == 401 and EXPERT_COOKIE not in r.cookies
    # A staff invitation is not accepted on the expert app.
    code = invitations.invite(expert_app.ctx.db, expert_app.ctx.audit,
                              _admin_id(expert_app.ctx), "worker", {"caseworker"},
                              int(T0.timestamp()))
    r = await c.get(f"/expert/invite/{code}")  # answered like a made-up code
    assert r.status == 404 and "This invitation link is not valid" in await r.text()
    # An expert role comes alone.
    with pytest.raises(accounts.ExpertAlone):
        invitations.invite(expert_app.ctx.db, expert_app.ctx.audit,
                           _admin_id(expert_app.ctx), "both", {"expert", "caseworker"},
                           int(T0.timestamp()))


async def test_the_expert_door_has_the_office_brakes_on_guessing(expert_app: App) -> None:
    """One guarded sign-in for both doors (`node.web.sign_in`): Argon2id a few at a time,
    "busy" beyond, and a busy answer costs the expert nothing of their own rate limit."""
    await signed_in_expert(expert_app)
    guard = expert_app.app[appkeys.SIGN_IN_GUARD]
    release = asyncio.Event()
    entered = 0

    async def hold() -> None:
        nonlocal entered
        async with guard.gate.slot():
            entered += 1
            await release.wait()

    flood = [asyncio.create_task(hold()) for _ in range(SIGN_INS_AT_ONCE + SIGN_INS_WAITING)]
    while entered < SIGN_INS_AT_ONCE:
        await asyncio.sleep(0)
    limit = expert_app.ctx.config.rate_limits.staff_logins_per_minute
    for _ in range(2 * limit):  # more than the bucket holds
        r = await sign_in(expert_app.client, "/expert", "medic", PASS)
        assert r.status == 503 and EXPERT_COOKIE not in r.cookies
    release.set()
    await asyncio.gather(*flood)
    r = await sign_in(expert_app.client, "/expert", "medic", PASS)
    assert r.status == 303 and r.headers["Location"] == "/expert/login/code"


EXPERT_ROUTES = all_routes()


@pytest.mark.parametrize("route", EXPERT_ROUTES, ids=[r.name for r in EXPERT_ROUTES])
async def test_expert_route_matrix(route: Any, expert_app: App) -> None:
    """Every expert route x anonymous, every staff role, an expert without their second
    factor yet, and an expert: the expert app's half of the role x route matrix."""
    c, app, ctx = expert_app.client, expert_app.app, expert_app.ctx
    team = make_team(ctx)
    with ctx.db.write() as conn:
        accounts.create(conn, "expert1", PASS, {"expert"}, FAST, 0, certifier=ctx.keys.certifier)
    expert = accounts.unlock(ctx.db.read(), "expert1", PASS)
    sessions = app[SESSIONS]
    path = "/expert" + re.sub(r"\{(\w+)\}", "x" * 32, route.path)
    data = {"availability": "now", "specialties": "investigation"}

    async def call(who: Any, enrolled: bool) -> int:
        c.session.cookie_jar.clear()
        form = dict(data)
        if who is not None:
            session = sessions.new(who)
            if not enrolled:
                session.cache[NEEDS_SECOND_FACTOR] = True
            c.session.cookie_jar.update_cookies({EXPERT_COOKIE: session.id})
            form["csrf"] = session.csrf
        r = await c.request(route.method, path, data=form, allow_redirects=False)
        return r.status

    anonymous = await call(None, True)
    if route.access is Access.PUBLIC:
        assert anonymous != 401 and anonymous < 500
        return
    assert anonymous in (303, 401)
    for role in ROLES:  # a staff session cannot exist here; if it did, it is refused
        assert await call(team.by_role(role), True) == 403, role
    enrolling = await call(expert, False)
    full = await call(expert, True)
    def let_in(status: int) -> bool:  # an answer, maybe to a bad form, never a refusal
        return status not in (401, 403) and status < 500

    assert let_in(full), full
    if route.access is Access.ENROLLING:
        assert let_in(enrolling), enrolling
    else:
        assert enrolling in (303, 403), enrolling


@pytest.mark.parametrize("lang", ["fr", "ar", "sw", "uk"])
async def test_the_expert_pages_are_translated(expert_app: App, lang: str) -> None:
    c = expert_app.client
    await signed_in_expert(expert_app)
    english = {path: await (await c.get(path)).text()
               for path in ("/expert/", "/expert/profile")}
    for path, text in english.items():
        r = await c.get(path, headers={"Accept-Language": lang})
        translated = await r.text()
        assert f'lang="{lang}" dir="{"rtl" if lang == "ar" else "ltr"}"' in translated
        for msgid in ("Your availability", "Shared with you", "Specialties",
                      "Forensic medicine", "Available now", "How you work"):
            if msgid in text:
                assert msgid not in translated, (lang, path, msgid)


async def test_the_expert_app_is_served_on_its_own_address(node_ctx: NodeContext) -> None:
    listen = sites(expert=("127.0.0.1", 0))
    async with running(node_ctx, listen) as node, aiohttp.ClientSession() as session:
        assert len({node.public_url, node.staff_url, node.expert_url}) == 3

        async def status(url: str) -> int:
            async with session.get(url, allow_redirects=False) as r:
                return r.status

        assert await status(f"{node.expert_url}/expert/login") == 200
        assert await status(f"{node.public_url}/expert/login") == 404
        assert await status(f"{node.staff_url}/expert/login") == 404
        assert await status(f"{node.expert_url}/staff/login") == 404
        assert await status(f"{node.expert_url}/en/") == 404
        async with session.get(f"{node.expert_url}/expert/login") as r:
            page = await r.text()
        assert "<script" not in page  # works without JavaScript; nothing to load
        assert 'name="viewport" content="width=device-width' in page
    assert sites() == sites(expert=None)  # off unless configured
