"""Staff accounts over a real server on 127.0.0.1 and a real SQLite file: invitations,
pending node-key grants, two-step sign-in, failed sign-ins slowed per source (never a lock
strangers can set), admin
safeguards -- and recovery through the real CLI in a subprocess (SLIP-39 shares too).
Every audit entry written along the way verifies."""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import aiohttp
import pyotp
import pytest
from aiohttp.test_utils import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crypto import passphrase as pw
from crypto.keys import DataKey
from crypto.recovery import RecoveryKey
from node import accounts, invitations, keyring, second_factor
from node.backoffice import audit
from node.context import NodeContext, init_node, open_node
from node.datadir import DataDir
from node.intake.models import ReportInput
from node.web import appkeys
from node.web.app import create_app
from node.web.staff.sessions import PENDING_SECONDS, SecondFactorState
from node.web.staff.sign_in_guard import SIGN_INS_AT_ONCE, SIGN_INS_WAITING, new_guard
from tests import conftest as shared
from tests import intake_views
from tests.conftest import ADMIN, ADMIN_PASSPHRASE, CANARY, ROOT, files_containing
from tests.integration.conftest import csrf_of

FAST = pw.INSECURE_FAST_FOR_TESTS
PASS = "a long enough passphrase"
T0 = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)


@dataclass
class Office:
    client: TestClient[Any, Any]
    app: Any
    ctx: NodeContext
    delays: list[float]
    now: list[datetime]       # the node's clock
    monotonic: list[float]    # the pending second steps' clock
    waited: list[float]       # the sign-in throttle's clock, moved by each held-back answer

    def row(self, username: str) -> dict[str, Any]:
        found = self.ctx.db.read().execute("SELECT * FROM staff WHERE username = ?",
                                           (username,)).fetchone()
        assert found is not None
        return dict(found)

    def actions(self) -> list[tuple[str, str, str]]:
        return [(e.actor, e.action, e.detail) for e in audit.entries(self.ctx.db.read())]

    def assert_chain(self) -> None:
        verdict = self.ctx.audit.verify(self.ctx.db.read())
        assert verdict.ok, verdict.reason


@pytest.fixture
async def office(node_dir: DataDir, aiohttp_client: Any) -> AsyncIterator[Office]:
    now = [T0]
    mono = [1000.0]
    ctx = open_node(node_dir, staff_params=FAST, receipt_params=FAST, clock=lambda: now[0])
    app = create_app(ctx)
    delays: list[float] = []
    waited = [5000.0]

    async def record(seconds: float) -> None:  # the answer is held back; tests do not wait
        delays.append(seconds)
        waited[0] += seconds

    app[appkeys.LOGIN_DELAY] = record
    app[appkeys.SECOND_FACTOR] = SecondFactorState(monotonic=lambda: mono[0])
    app[appkeys.SIGN_IN_GUARD] = new_guard(monotonic=lambda: waited[0])
    client = await aiohttp_client(app)
    yield Office(client, app, ctx, delays, now, mono, waited)
    ctx.close()


async def sign_in(client: TestClient[Any, Any] | aiohttp.ClientSession, username: str,
                  passphrase: str) -> aiohttp.ClientResponse:
    client.cookie_jar.clear() if isinstance(client, aiohttp.ClientSession) else (
        client.session.cookie_jar.clear())
    r = await client.get("/staff/login")
    token = csrf_of(await r.text())
    return await client.post("/staff/login", data={"csrf": token, "username": username,
                                                   "passphrase": passphrase},
                             allow_redirects=False)


async def csrf(client: TestClient[Any, Any], path: str = "/staff/account") -> str:
    r = await client.get(path)
    assert r.status == 200, (path, r.status)
    return csrf_of(await r.text())


async def invite_link(client: TestClient[Any, Any], username: str, *roles: str,
                      headers: dict[str, str] | None = None) -> str:
    """As a signed-in admin: the invitation link, shown once."""
    token = await csrf(client, "/staff/accounts")
    r = await client.post("/staff/accounts/invite", headers=headers, data=[
        ("csrf", token), ("username", username), *(("roles", role) for role in roles)])
    html = await r.text()
    assert r.status == 200, html
    found = re.search(r'id="invitation-link">([^<]+)<', html)
    assert found
    return found.group(1)


async def invite(client: TestClient[Any, Any], username: str, *roles: str) -> str:
    return urlsplit(await invite_link(client, username, *roles)).path


async def accept(client: TestClient[Any, Any], path: str, passphrase: str = PASS,
                 repeat: str | None = None) -> aiohttp.ClientResponse:
    client.session.cookie_jar.clear()
    r = await client.get(path)
    assert r.status == 200, await r.text()
    token = csrf_of(await r.text())
    return await client.post(path, data={"csrf": token, "passphrase": passphrase,
                                         "repeat": passphrase if repeat is None else repeat},
                             allow_redirects=False)


@asynccontextmanager
async def other_browser(client: TestClient[Any, Any]) -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(base_url=str(client.make_url("/")),
                                     cookie_jar=aiohttp.CookieJar(unsafe=True)) as session:
        yield session


# ------------------------------------------------------------------ invitations

async def test_invitation_round_trip_and_single_use(office: Office) -> None:
    c = office.client
    assert (await sign_in(c, ADMIN, ADMIN_PASSPHRASE)).status == 303
    path = await invite(c, "amina", "caseworker", "analyst")
    code = path.rsplit("/", 1)[1]
    assert path == f"/staff/invite/{code}" and len(code) * 6 >= 128
    assert not files_containing(office.ctx.datadir.root, code.encode())  # only its hash

    r = await accept(c, path, PASS, PASS + " but different")
    assert r.status == 400 and "not the same" in await r.text()
    r = await accept(c, path, "short", "short")
    assert r.status == 400 and "at least 12 characters" in await r.text()
    r = await accept(c, path)
    assert r.status == 303 and r.headers["Location"] == "/staff/account?done=welcome"
    page = await (await c.get(r.headers["Location"])).text()
    assert "Your account is ready" in page and "amina" in page
    assert office.row("amina")["roles"] == "analyst,caseworker"

    r = await sign_in(c, "amina", PASS)
    assert r.status == 303 and r.headers["Location"] == "/staff/"

    # the link cannot be used again, by GET or by POST
    c.session.cookie_jar.clear()
    r = await c.get(path)
    assert r.status == 410 and "already been used" in await r.text()
    token = csrf_of(await (await c.get("/staff/login")).text())
    r = await c.post(path, data={"csrf": token, "passphrase": PASS, "repeat": PASS},
                     allow_redirects=False)
    assert r.status == 410
    assert [a for _, a, _ in office.actions()] == [
        "account.sign_in", "account.invite", "account.create", "account.sign_in"]
    office.assert_chain()


async def test_expired_cancelled_and_made_up_links_are_refused(office: Office) -> None:
    c = office.client
    await sign_in(c, ADMIN, ADMIN_PASSPHRASE)
    late = await invite(c, "late", "analyst")
    cancelled = await invite(c, "cancelled", "analyst")
    page = await (await c.get("/staff/accounts")).text()
    ids = re.findall(r'/staff/accounts/invitations/([0-9a-f]+)/cancel', page)
    assert len(ids) == 2
    code = cancelled.rsplit("/", 1)[1]
    target = next(i for i in ids if invitations._code_hash(code).hex() == i)
    r = await c.post(f"/staff/accounts/invitations/{target}/cancel",
                     data={"csrf": await csrf(c)}, allow_redirects=False)
    # behind a TLS proxy the link keeps the scheme the admin's browser uses
    host = c.make_url("/").authority
    link = await invite_link(c, "tls", "analyst", headers={"Origin": f"https://{host}"})
    assert link.startswith(f"https://{host}/staff/invite/")
    assert r.status == 303
    c.session.cookie_jar.clear()
    assert (await c.get(cancelled)).status == 404

    office.now[0] = T0 + timedelta(days=7)
    r = await c.get(late)
    assert r.status == 410 and "expired" in await r.text()
    r = await c.get("/staff/invite/" + "A" * 32)
    assert r.status == 404 and "not valid" in await r.text()
    assert (await c.get("/staff/invite/short")).status == 404
    office.assert_chain()


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.text(min_size=1, max_size=60))
async def test_invitation_links_never_crash(client: TestClient[Any, Any], text: str) -> None:
    r = await client.get("/staff/invite/" + quote(text, safe=""))
    assert r.status in (404, 410), (text, r.status)


# ------------------------------------------------------------------ pending access

def _submit(ctx: NodeContext) -> str:
    return ctx.intake.submit(ReportInput(narrative=f"{CANARY} before"), DataKey.generate(), [],
                             "test").report_id


def _sessions_of(office: Office, username: str) -> list[Any]:
    store = office.app[appkeys.STAFF_SESSIONS]
    return [s for s in store._items.values() if s.staff.member.username == username]


async def test_new_coordinator_reads_reports_only_after_a_grant(office: Office) -> None:
    report_id = _submit(office.ctx)
    c = office.client
    await sign_in(c, ADMIN, ADMIN_PASSPHRASE)
    path = await invite(c, "coord2", "coordinator")
    async with other_browser(c) as newcomer:
        r = await newcomer.get(path)
        token = csrf_of(await r.text())
        r = await newcomer.post(path, data={"csrf": token, "passphrase": PASS, "repeat": PASS},
                                allow_redirects=False)
        assert r.status == 303
        page = await (await newcomer.get("/staff/account")).text()
        assert "access you do not have yet" in page
        assert accounts.unlock(office.ctx.db.read(), "coord2", PASS).intake_key is None
        # a coordinator without the keys sees who waits but cannot give what they lack
        page = await (await newcomer.get("/staff/grants")).text()
        assert "You do not hold this access yourself." in page
        coord_id = office.row("coord2")["id"]
        r = await newcomer.post(f"/staff/grants/{coord_id}", data={"csrf": csrf_of(page)})
        assert r.status == 409

        page = await (await c.get("/staff/grants")).text()
        assert "coord2" in page
        r = await c.post(f"/staff/grants/{coord_id}", data={"csrf": csrf_of(page)},
                         allow_redirects=False)
        assert r.status == 303 and r.headers["Location"] == "/staff/grants?done=granted"
        # the open session has the keys at once; so has the next sign-in
        (live,) = _sessions_of(office, "coord2")
        assert live.staff.intake_key is not None
        key = accounts.unlock(office.ctx.db.read(), "coord2", PASS).intake_key
        assert key is not None
        assert report_id in [v.id for v in intake_views.list_reports(office.ctx, key)]
        view = intake_views.read_report(office.ctx, key, report_id)
        assert view.record["narrative"].startswith(CANARY)
        assert "Nobody is waiting for access." in await (await c.get("/staff/grants")).text()

        # a role removed takes its keys: in the database and in the open session
        r = await c.post(f"/staff/accounts/{coord_id}/roles",
                         data={"csrf": await csrf(c), "roles": "caseworker"},
                         allow_redirects=False)
        assert r.status == 303
        assert accounts.get_account(office.ctx.db.read(), coord_id).keys == frozenset()  # type: ignore[union-attr]
        (live,) = _sessions_of(office, "coord2")
        assert live.staff.intake_key is None and live.staff.member.roles == {"caseworker"}
        assert (await newcomer.get("/staff/grants", allow_redirects=False)).status == 403

        # disabling ends the session
        r = await c.post(f"/staff/accounts/{coord_id}/disable", data={"csrf": await csrf(c)},
                         allow_redirects=False)
        assert r.status == 303 and not _sessions_of(office, "coord2")
        r = await newcomer.get("/staff/account", allow_redirects=False)
        assert r.status == 303 and r.headers["Location"] == "/staff/login"
    granted = [(a, d) for _, a, d in office.actions() if a.startswith("key.")]
    assert granted == [("key.grant", "key=analysis"), ("key.grant", "key=intake"),
                       ("key.revoke", "key=analysis"), ("key.revoke", "key=intake")]
    office.assert_chain()


async def test_an_admin_who_grants_themselves_a_role_is_flagged(office: Office) -> None:
    """Issue 11: the coordinators see who gave themselves which role, and when."""
    c = office.client
    await sign_in(c, ADMIN, ADMIN_PASSPHRASE)
    path = await invite(c, "it-admin", "admin")
    office.now[0] = T0 + timedelta(hours=2)
    async with other_browser(c) as rogue:
        r = await rogue.get(path)
        r = await rogue.post(path, data={"csrf": csrf_of(await r.text()), "passphrase": PASS,
                                         "repeat": PASS}, allow_redirects=False)
        assert r.status == 303
        rogue_id = office.row("it-admin")["id"]
        page = await (await rogue.get("/staff/accounts")).text()
        r = await rogue.post(f"/staff/accounts/{rogue_id}/roles", allow_redirects=False,
                             data=[("csrf", csrf_of(page)), ("roles", "admin"),
                                   ("roles", "coordinator"), ("roles", "caseworker")])
        assert r.status == 303
    page = await (await c.get("/staff/grants")).text()
    flagged = re.findall(r'<tr class="self-grant">(.*?)</tr>', page)
    assert len(flagged) == 1
    assert "it-admin" in flagged[0] and "Coordinator" in flagged[0]
    assert "Caseworker" in flagged[0] and "Administrator" not in flagged[0]
    assert "2026-03-01 14:00 UTC" in flagged[0]
    assert ("it-admin", "account.self_grant", "added=caseworker,coordinator") in [
        (office.row("it-admin")["username"] if a == rogue_id else a, act, d)
        for a, act, d in office.actions()]
    # roles another admin gives are not flagged
    me = office.row(ADMIN)["id"]
    r = await c.post(f"/staff/accounts/{rogue_id}/roles", allow_redirects=False,
                     data=[("csrf", await csrf(c)), ("roles", "admin"), ("roles", "analyst")])
    assert r.status == 303
    page = await (await c.get("/staff/grants")).text()
    assert len(re.findall(r'<tr class="self-grant">', page)) == 1
    assert me not in [a for a, act, _ in office.actions() if act == "account.self_grant"]
    office.assert_chain()


# ------------------------------------------------------------------ two-step sign-in

async def test_totp_enrolment_and_sign_in_with_and_without_the_code(office: Office) -> None:
    c = office.client
    await sign_in(c, ADMIN, ADMIN_PASSPHRASE)
    r = await c.post("/staff/account/totp/start", data={"csrf": await csrf(c)},
                     allow_redirects=False)
    assert r.status == 303 and r.headers["Location"] == "/staff/account/totp"
    page = await (await c.get("/staff/account/totp")).text()
    found = re.search(r'id="totp-secret">([^<]+)<', page)
    assert found
    secret = found.group(1).replace(" ", "")
    totp = pyotp.TOTP(secret)
    assert "otpauth://totp/" in page and "Garden+notes" in page.replace("%20", "+")
    assert 'src="data:image/svg+xml' in page  # the QR code is drawn here, not fetched
    token = csrf_of(page)
    wrong = "000000" if totp.at(T0) != "000000" else "111111"
    r = await c.post("/staff/account/totp", data={"csrf": token, "code": wrong})
    assert r.status == 401 and "not right" in await r.text()
    assert office.row(ADMIN)["totp_sealed"] is None
    r = await c.post("/staff/account/totp", data={"csrf": token, "code": totp.at(T0)},
                     allow_redirects=False)
    assert r.headers["Location"] == "/staff/account?done=totp_on"
    assert not files_containing(office.ctx.datadir.root, secret.encode())

    # passphrase alone is not enough any more
    r = await sign_in(c, ADMIN, ADMIN_PASSPHRASE)
    assert r.status == 303 and r.headers["Location"] == "/staff/login/code"
    assert "staff" not in {cookie.key for cookie in c.session.cookie_jar}
    r = await c.get("/staff/account", allow_redirects=False)
    assert r.headers["Location"] == "/staff/login"
    token = csrf_of(await (await c.get("/staff/login/code")).text())
    r = await c.post("/staff/login/code", data={"csrf": token, "code": wrong})
    assert r.status == 401 and "not right" in await r.text()
    # the code used to enrol cannot be used again (RFC 6238, section 5.2)
    r = await c.post("/staff/login/code", data={"csrf": token, "code": totp.at(T0)})
    assert r.status == 401 and "not right" in await r.text()
    r = await c.post("/staff/login/code", data={"csrf": token, "code": "12 ab"})
    assert r.status == 400 and "6 digits" in await r.text()
    office.now[0] = T0 + timedelta(seconds=30)
    r = await c.post("/staff/login/code", data={"csrf": token, "code": totp.at(office.now[0])},
                     allow_redirects=False)
    assert r.status == 303 and r.headers["Location"] == "/staff/"
    assert office.row(ADMIN)["failed_logins"] == 0 and office.delays == []
    page = await (await c.get("/staff/account")).text()
    assert "Turn off two-step sign-in" in page

    # turned off with a current code only
    office.now[0] = T0 + timedelta(seconds=60)
    r = await c.post("/staff/account/totp/disable", data={"csrf": csrf_of(page), "code": wrong})
    assert r.status == 401 and office.row(ADMIN)["totp_sealed"] is not None
    r = await c.post("/staff/account/totp/disable",
                     data={"csrf": csrf_of(page), "code": totp.at(office.now[0])},
                     allow_redirects=False)
    assert r.headers["Location"] == "/staff/account?done=totp_off"
    assert office.row(ADMIN)["totp_sealed"] is None
    assert ("account.totp_on" in [a for _, a, _ in office.actions()]
            and "account.totp_off" in [a for _, a, _ in office.actions()])
    office.assert_chain()


async def test_the_second_step_waits_five_minutes_at_most(office: Office) -> None:
    secret = second_factor.new_totp_secret()
    me = accounts.unlock(office.ctx.db.read(), ADMIN, ADMIN_PASSPHRASE)
    second_factor.enable_totp(office.ctx.db, office.ctx.audit, me, secret,
                              pyotp.TOTP(secret).at(T0), T0)
    office.now[0] = T0 + timedelta(minutes=1)
    c = office.client
    r = await sign_in(c, ADMIN, ADMIN_PASSPHRASE)
    assert r.headers["Location"] == "/staff/login/code"
    token = csrf_of(await (await c.get("/staff/login/code")).text())
    office.monotonic[0] += PENDING_SECONDS + 1
    r = await c.post("/staff/login/code",
                     data={"csrf": token, "code": pyotp.TOTP(secret).at(office.now[0])})
    assert r.status == 403 and "more than 5 minutes" in await r.text()
    assert "staff" not in {cookie.key for cookie in c.session.cookie_jar}


# ------------------------------------------------------------------ failed sign-ins

@asynccontextmanager
async def browser_from(client: TestClient[Any, Any], address: str
                       ) -> AsyncIterator[aiohttp.ClientSession]:
    """A browser on another loopback address (127.0.0.x): another source to the node."""
    connector = aiohttp.TCPConnector(local_addr=(address, 0))
    async with aiohttp.ClientSession(base_url=str(client.make_url("/")), connector=connector,
                                     cookie_jar=aiohttp.CookieJar(unsafe=True)) as session:
        yield session


def _answer(html: str) -> str:
    """A sign-in page without what differs by design (the token and the echoed username)."""
    return re.sub(r'value="[^"]*"', 'value=""', html)


async def test_a_stranger_cannot_lock_a_coordinator_out(office: Office) -> None:
    """Issue 11, finding 2: thirty wrong passphrases for the first coordinator from one
    source slow that source only; the coordinator, from another, signs in at once."""
    c = office.client
    for n in range(1, 31):
        r = await sign_in(c, ADMIN, f"wrong passphrase {n}")
        assert r.status == 401 and "not right" in await r.text()
    assert office.delays[:7] == [1, 2, 4, 8, 16, 30, 30]  # from the 3rd failure, capped
    assert max(office.delays) == accounts.MAX_DELAY_SECONDS
    assert not office.row(ADMIN)["locked"] and office.row(ADMIN)["failed_logins"] == 0
    before = len(office.delays)
    async with browser_from(c, "127.0.0.2") as coordinator:
        r = await sign_in(coordinator, ADMIN, ADMIN_PASSPHRASE)
        assert r.status == 303 and r.headers["Location"] == "/staff/"
    assert len(office.delays) == before  # not held back at all
    # the stranger's own source, after its wait, is not locked either
    r = await sign_in(c, ADMIN, ADMIN_PASSPHRASE)
    assert r.status == 303 and r.headers["Location"] == "/staff/"
    assert "account.lock" not in [a for _, a, _ in office.actions()]
    office.assert_chain()


async def test_unknown_usernames_are_answered_like_real_ones(office: Office) -> None:
    with office.ctx.db.write() as conn:
        accounts.create(conn, "bob", PASS, {"caseworker"}, FAST, 0,
                        certifier=office.ctx.keys.certifier)
    c = office.client
    answers: dict[str, list[tuple[int, str]]] = {}
    delays: dict[str, list[float]] = {}
    for username in ("bob", "nobody-here"):
        office.delays.clear()
        answers[username] = []
        for n in range(6):
            r = await sign_in(c, username, f"wrong passphrase {n}")
            answers[username].append((r.status, _answer(await r.text())))
        delays[username] = list(office.delays)
    assert answers["bob"] == answers["nobody-here"]
    assert delays["bob"] == delays["nobody-here"] == [1, 2, 4, 8]


async def test_a_held_back_attempt_answers_like_a_wrong_passphrase(office: Office) -> None:
    c = office.client
    for n in range(3):
        r = await sign_in(c, ADMIN, f"wrong passphrase {n}")
    wrong = _answer(await r.text())
    assert office.delays == [1]
    office.waited[0] -= 1  # a second attempt sent while the first was still held back
    r = await sign_in(c, ADMIN, ADMIN_PASSPHRASE)  # the right passphrase, not even checked
    assert r.status == 401 and _answer(await r.text()) == wrong
    assert office.delays == [1, 1]
    assert "account.sign_in" not in [a for _, a, _ in office.actions()]
    r = await sign_in(c, ADMIN, ADMIN_PASSPHRASE)  # once the wait is over
    assert r.status == 303


async def test_a_flood_of_sign_ins_is_told_busy(office: Office) -> None:
    """Argon2id runs a few at a time; beyond those and a short queue, "busy" at once."""
    guard = office.app[appkeys.SIGN_IN_GUARD]
    release = asyncio.Event()
    entered = 0

    async def hold() -> None:
        nonlocal entered
        async with guard.gate.slot():
            entered += 1
            await release.wait()

    flood = [asyncio.create_task(hold())
             for _ in range(SIGN_INS_AT_ONCE + SIGN_INS_WAITING)]
    while entered < SIGN_INS_AT_ONCE:
        await asyncio.sleep(0)
    r = await sign_in(office.client, ADMIN, ADMIN_PASSPHRASE)
    assert r.status == 503 and "busy" in await r.text()
    assert "staff" not in {cookie.key for cookie in office.client.session.cookie_jar}
    # A coordinator who keeps retrying through the flood, as the page tells them to, is not
    # stopped by their own rate limit: a "busy" answer did no work and costs nothing.
    limit = office.ctx.config.rate_limits.staff_logins_per_minute
    for _ in range(2 * limit):  # more than the bucket holds, however fast it refills
        r = await sign_in(office.client, ADMIN, ADMIN_PASSPHRASE)
        assert r.status == 503
    release.set()
    await asyncio.gather(*flood)
    r = await sign_in(office.client, ADMIN, ADMIN_PASSPHRASE)
    assert r.status == 303 and r.headers["Location"] == "/staff/"


async def test_a_used_code_is_refused_after_a_restart(node_dir: DataDir, office: Office,
                                                      aiohttp_client: Any) -> None:
    """Issue 11: the last accepted TOTP step is in the database, not only in memory."""
    secret = second_factor.new_totp_secret()
    me = accounts.unlock(office.ctx.db.read(), ADMIN, ADMIN_PASSPHRASE)
    second_factor.enable_totp(office.ctx.db, office.ctx.audit, me, secret,
                              pyotp.TOTP(secret).at(T0), T0)
    office.now[0] = later = T0 + timedelta(seconds=30)
    code = pyotp.TOTP(secret).at(later)
    c = office.client
    await sign_in(c, ADMIN, ADMIN_PASSPHRASE)
    token = csrf_of(await (await c.get("/staff/login/code")).text())
    r = await c.post("/staff/login/code", data={"csrf": token, "code": code},
                     allow_redirects=False)
    assert r.status == 303 and r.headers["Location"] == "/staff/"

    # the node restarts; someone who saw the code over the person's shoulder replays it
    await office.client.close()
    office.ctx.close()
    ctx = open_node(node_dir, staff_params=FAST, receipt_params=FAST, clock=lambda: later)
    try:
        again = await aiohttp_client(create_app(ctx))
        r = await sign_in(again, ADMIN, ADMIN_PASSPHRASE)
        assert r.headers["Location"] == "/staff/login/code"
        token = csrf_of(await (await again.get("/staff/login/code")).text())
        r = await again.post("/staff/login/code", data={"csrf": token, "code": code},
                             allow_redirects=False)
        assert r.status == 401 and "not right" in await r.text()
        assert not files_containing(node_dir.root, secret.encode())
    finally:
        ctx.close()


def test_init_asks_for_the_first_admin_username(tmp_path: Path) -> None:
    """No default `admin`: without a terminal, `--admin NAME` is required."""
    root = tmp_path / "node"
    out = _cli("init", "--data", str(root), BACKUP_ADMIN_PASSPHRASE=PASS)
    assert out.returncode != 0 and "--admin NAME" in out.stderr
    assert not (root / "node.toml").exists()
    out = _cli("init", "--data", str(root), "--admin", "no spaces allowed",
               BACKUP_ADMIN_PASSPHRASE=PASS)
    assert out.returncode != 0 and "username" in out.stderr
    assert not (root / "node.toml").exists()


# ------------------------------------------------------------------ admin safeguards

async def test_the_last_admin_cannot_remove_or_disable_themselves(office: Office) -> None:
    c = office.client
    await sign_in(c, ADMIN, ADMIN_PASSPHRASE)
    me = office.row(ADMIN)["id"]
    r = await c.post(f"/staff/accounts/{me}/roles",
                     data={"csrf": await csrf(c), "roles": "coordinator"})
    assert r.status == 409 and "no administrator" in await r.text()
    r = await c.post(f"/staff/accounts/{me}/disable", data={"csrf": await csrf(c)})
    assert r.status == 409
    assert office.row(ADMIN)["roles"] == "admin,coordinator" and not office.row(ADMIN)["disabled"]
    page = await (await c.get("/staff/accounts")).text()
    for column in ("Username", "Roles", "State", "Two-step sign-in", "Access held"):
        assert column in page
    assert "new reports (intake key)" in page
    office.assert_chain()


# ------------------------------------------------------------------ recovery (real CLI)

def _cli(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "node.cli", *args], cwd=ROOT,
                          env={**os.environ, **env}, capture_output=True, text=True,
                          timeout=180, stdin=subprocess.DEVNULL)


@pytest.fixture
def recoverable(tmp_path: Path) -> Iterator[tuple[NodeContext, str, str]]:
    """A node whose recovery key we know, with one report submitted before the loss."""
    datadir = DataDir(tmp_path / "node")
    result = init_node(datadir, ADMIN, ADMIN_PASSPHRASE, shared.test_config(), FAST)
    ctx = open_node(datadir, staff_params=FAST, receipt_params=FAST)
    report_id = _submit(ctx)
    yield ctx, result.recovery_key, report_id
    ctx.close()


def _assert_rescued(ctx: NodeContext, username: str, report_id: str) -> None:
    rescued = accounts.unlock(ctx.db.read(), username, PASS)
    assert rescued.member.roles == {"admin", "coordinator"}
    assert rescued.intake_key is not None and rescued.analysis_key is not None
    view = intake_views.read_report(ctx, rescued.intake_key, report_id)
    assert view.record["narrative"] == f"{CANARY} before"
    entries = [e for e in audit.entries(ctx.db.read()) if e.actor == "recovery"]
    assert [e.action for e in entries] == ["account.recover", "key.grant", "key.grant"]
    verdict = ctx.audit.verify(ctx.db.read())
    assert verdict.ok, verdict.reason


def test_recover_admin_with_the_recovery_key(recoverable: tuple[NodeContext, str, str]
                                             ) -> None:
    ctx, key, report_id = recoverable
    data = str(ctx.datadir.root)
    wrong = RecoveryKey.generate().text()
    out = _cli("recover-admin", "--data", data, "--username", "nobody",
               BACKUP_RECOVERY_KEY=wrong, BACKUP_ADMIN_PASSPHRASE=PASS)
    assert out.returncode != 0 and "not the recovery key" in out.stderr
    assert accounts.find_id(ctx.db.read(), "nobody") is None
    out = _cli("recover-admin", "--data", data, "--username", "rescuer",
               BACKUP_RECOVERY_KEY=key.lower(), BACKUP_ADMIN_PASSPHRASE=PASS)
    assert out.returncode == 0, out.stderr
    assert key not in out.stdout + out.stderr
    _assert_rescued(ctx, "rescuer", report_id)


def test_slip39_split_two_of_three_then_recover_from_two_shares(
        recoverable: tuple[NodeContext, str, str]) -> None:
    ctx, key, report_id = recoverable
    data = str(ctx.datadir.root)
    out = _cli("recovery-split", "--data", data, "--threshold", "2", "--shares", "3",
               BACKUP_RECOVERY_KEY=key)
    assert out.returncode == 0, out.stderr
    shares = re.findall(r"Share \d of 3:\n    ([a-z ]+)\n", out.stdout)
    assert len(shares) == 3 and all(len(s.split()) == 33 for s in shares)
    assert "trustee" in out.stdout

    out = _cli("recover-admin", "--data", data, "--username", "lonely", "--from-shares",
               BACKUP_RECOVERY_SHARES=shares[1], BACKUP_ADMIN_PASSPHRASE=PASS)
    assert out.returncode != 0 and "do not combine" in out.stderr
    assert accounts.find_id(ctx.db.read(), "lonely") is None

    out = _cli("recover-admin", "--data", data, "--username", "trustees", "--from-shares",
               BACKUP_RECOVERY_SHARES=f"{shares[0]}\n{shares[2]}\n",
               BACKUP_ADMIN_PASSPHRASE=PASS)
    assert out.returncode == 0, out.stderr
    _assert_rescued(ctx, "trustees", report_id)
    split = [e for e in audit.entries(ctx.db.read()) if e.action == "recovery.split"]
    assert [e.detail for e in split] == ["threshold=2 shares=3"]
    assert keyring.RECOVERY_HOLDER == "recovery"


def test_unlock_account_from_the_server(recoverable: tuple[NodeContext, str, str]) -> None:
    ctx, _, _ = recoverable
    with ctx.db.write() as conn:
        conn.execute("UPDATE staff SET locked = 1, failed_logins = 10")
    out = _cli("unlock-account", "--data", str(ctx.datadir.root), "--username", ADMIN)
    assert out.returncode == 0, out.stderr
    assert accounts.begin_sign_in(ctx.db, ctx.audit, ADMIN, ADMIN_PASSPHRASE, FAST, 0)
    assert _cli("unlock-account", "--data", str(ctx.datadir.root), "--username",
                "ghost").returncode == 1
