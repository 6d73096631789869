"""The observatory's web side on a real aiohttp server (127.0.0.1): security headers on every
response, the admin sign-in (cookie flags, throttle, CSRF, cross-site refusal, sign-out),
and the public JSON API (what it shows, and what it never shows)."""

from __future__ import annotations

import re
import time
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from observatory.context import ObservatoryContext
from observatory.web.sessions import COOKIE, PRE_COOKIE, LoginThrottle
from tests.unit.observatory.fakenode import FakeNode
from tests.unit.observatory.support import (
    PASSPHRASE,
    TEST_CONFIG,
    login_data,
    make_observatory,
    serving,
)


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return make_observatory(tmp_path / "observatory")


def client() -> aiohttp.ClientSession:
    return aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))


def assert_safe_headers(response: aiohttp.ClientResponse) -> None:
    headers = response.headers
    assert headers["Cache-Control"].startswith("no-store")
    csp = headers["Content-Security-Policy"]
    assert "default-src 'none'" in csp and "frame-ancestors 'none'" in csp
    assert "script-src" not in csp and "http" not in csp  # no script, nothing external
    assert headers["Referrer-Policy"] == "no-referrer"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["X-Frame-Options"] == "DENY"
    assert "Server" not in headers


@pytest.fixture
async def populated(root: Path) -> AsyncIterator[tuple[ObservatoryContext, str]]:
    async with serving(root) as (ctx, served, _obs):
        now = int(time.time())
        nodes = [FakeNode(organisation_name=f"Org {i}", contact=f"secret-contact-{i}@x.org")
                 for i in range(3)]
        with ctx.db.write() as conn:
            for node in nodes:
                ctx.members.enroll_in(conn, node.membership_request(), now)
        ctx.members.approve(nodes[0].node_id, now)
        ctx.members.approve(nodes[1].node_id, now)
        ctx.members.revoke(nodes[1].node_id, "left_federation", now)
        yield ctx, served.web_url


async def test_every_response_carries_the_security_headers(
        populated: tuple[ObservatoryContext, str]) -> None:
    _, url = populated
    async with client() as http:
        for method, path, status in [
            ("GET", "/admin/en/login", 200), ("GET", "/admin/", 200),  # redirected to sign-in
            ("GET", "/api/v1/nodes", 200), ("GET", "/api/v1/openapi.json", 200),
            ("GET", "/admin/ar/", 200), ("GET", "/admin/fr/login", 200),
            ("GET", "/api/v1/nope", 404), ("GET", "/admin/nope", 404),
            ("GET", "/admin/xx/", 404), ("GET", "/admin/xx/login", 404),
            ("POST", "/admin/en/requests/" + "0" * 32 + "/approve", 403),
            ("POST", "/admin/xx/requests/" + "0" * 32 + "/approve", 404),
            ("GET", "/nope/", 404), ("GET", "/xx/nope", 404),
        ]:
            async with http.request(method, url + path) as r:
                assert r.status == status, (path, r.status)
                assert_safe_headers(r)
                if r.content_type == "text/html":
                    page = await r.text()
                    assert not re.search(r"<script|src=\"http|href=\"http", page), path


async def test_the_api_lists_members_with_keys_and_never_a_contact(
        populated: tuple[ObservatoryContext, str]) -> None:
    ctx, url = populated
    async with client() as http:
        async with http.get(f"{url}/api/v1/nodes") as r:
            body = await r.json()
            text = await r.text()
    assert "secret-contact" not in text
    assert body["observatory"]["node_id"] == ctx.identity.node_id
    assert body["observatory"]["peer_id"] == ctx.identity.peer_id
    assert body["membership_list_sequence"] == 3  # two approvals, one revocation
    by_status = {n["status"]: n for n in body["nodes"]}
    assert set(by_status) == {"approved", "revoked"}  # pending requests are not published
    assert by_status["revoked"]["revocation_reason"] == "left_federation"
    approved = ctx.members.with_status("approved")[0]
    assert by_status["approved"] == {
        "node_id": approved.node_id, "organisation_name": "Org 0", "country": "CD",
        "status": "approved", "identity_key": approved.identity_key,
        "box_key": approved.box_key, "peer_id": approved.peer_id,
        "certificate_serial": approved.certificate_serial, "joined_at": approved.joined_at,
        "revoked_at": None, "revocation_reason": None,
    }


async def test_sign_in_cookie_csrf_cross_site_and_sign_out(
        populated: tuple[ObservatoryContext, str]) -> None:
    ctx, url = populated
    async with client() as http:
        async with http.post(f"{url}/admin/en/login",
                             data=await login_data(http, url, "en", "wrong"),
                             allow_redirects=False) as r:
            assert r.status == 401 and COOKIE not in r.cookies
        async with http.post(f"{url}/admin/en/login",
                             data=await login_data(http, url, "en", PASSPHRASE),
                             allow_redirects=False) as r:
            assert r.status == 303 and r.headers["Location"] == "/admin/en/"
            cookie = r.headers["Set-Cookie"]
        assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/admin" in cookie
        assert "Secure" not in cookie  # secure_cookies = false in the test config
        async with http.get(f"{url}/admin/en/") as r:
            page = await r.text()
            assert "Org 2" in page and "secret-contact-2" in page  # the admin sees contacts
        csrf = re.search(r'name="csrf" value="([^"]+)"', page)
        assert csrf is not None
        pending = ctx.members.with_status("pending")[0].node_id
        target = f"{url}/admin/en/requests/{pending}/approve"
        async with http.post(target, data={"csrf": "forged"}) as r:
            assert r.status == 403
        async with http.post(target, data={"csrf": csrf.group(1)},
                             headers={"Origin": "http://evil.example"}) as r:
            assert r.status == 403
        async with http.post(target, data={"csrf": csrf.group(1)},
                             headers={"Sec-Fetch-Site": "cross-site"}) as r:
            assert r.status == 403
        assert ctx.members.get(pending).status == "pending"  # type: ignore[union-attr]
        async with http.post(f"{url}/admin/en/logout", data={"csrf": csrf.group(1)}) as r:
            assert str(r.url).endswith("/admin/en/login")
        async with http.post(target, data={"csrf": csrf.group(1)},
                             cookies={COOKIE: cookie.split("=", 1)[1].split(";")[0]}) as r:
            assert r.status == 403  # the session is gone on the server, not only here
        assert ctx.members.get(pending).status == "pending"  # type: ignore[union-attr]


async def test_a_reject_without_reason_changes_nothing(
        populated: tuple[ObservatoryContext, str]) -> None:
    ctx, url = populated
    pending = ctx.members.with_status("pending")[0].node_id
    async with client() as http:
        async with http.post(f"{url}/admin/en/login",
                             data=await login_data(http, url, "en", PASSPHRASE)) as r:
            csrf = re.search(r'name="csrf" value="([^"]+)"', await r.text())
        assert csrf is not None
        async with http.post(f"{url}/admin/en/requests/{pending}/reject",
                             data={"csrf": csrf.group(1), "reason": "  "}) as r:
            assert "Not rejected" in await r.text()
        async with http.post(f"{url}/admin/en/members/{pending}/revoke",
                             data={"csrf": csrf.group(1), "reason": "other"}) as r:
            assert "Not revoked" in await r.text()  # pending, not a member
    assert ctx.members.get(pending).status == "pending"  # type: ignore[union-attr]


async def _sign_in_from(url: str, address: str, passphrase: str
                       ) -> aiohttp.ClientResponse:
    """A sign-in from `address` (127.0.0.x) with the form's token. The Secure pre-session
    cookie is sent by hand, as a browser does over TLS (aiohttp's jar keeps it off http)."""
    connector = aiohttp.TCPConnector(local_addr=(address, 0))
    async with aiohttp.ClientSession(connector=connector,
                                     cookie_jar=aiohttp.DummyCookieJar()) as http:
        async with http.get(f"{url}/admin/en/login") as r:
            page = await r.text()
            pre = r.cookies[PRE_COOKIE]
        assert "Secure" in pre.output() and "HttpOnly" in pre.output()
        token = re.search(r'name="csrf" value="([^"]+)"', page)
        assert token is not None and token.group(1) == pre.value
        async with http.post(f"{url}/admin/en/login", allow_redirects=False,
                             headers={"Cookie": f"{PRE_COOKIE}={pre.value}"},
                             data={"csrf": pre.value, "passphrase": passphrase}) as r:
            await r.read()
            return r


async def test_failed_sign_ins_pause_that_client_only(tmp_path: Path) -> None:
    """Issue 11, finding 5: failures were counted for the whole site, so ten strangers'
    guesses kept the admin out for fifteen minutes. Now only the guessing client waits."""
    root = make_observatory(tmp_path / "o", TEST_CONFIG.replace(
        "secure_cookies = false", "secure_cookies = true"))
    throttle = LoginThrottle(max_failures=3, failure_pause=0)
    async with serving(root, throttle) as (_ctx, served, _obs):
        url = served.web_url
        for _ in range(3):
            r = await _sign_in_from(url, "127.0.0.1", "guess")
            assert r.status == 401
        r = await _sign_in_from(url, "127.0.0.1", PASSPHRASE)  # the stranger is paused
        assert r.status == 429 and COOKIE not in r.cookies
        r = await _sign_in_from(url, "127.0.0.2", PASSPHRASE)  # the admin is not
        assert r.status == 303
        assert "Secure" in r.cookies[COOKIE].output()


async def test_the_sign_in_form_needs_its_csrf_token(tmp_path: Path) -> None:
    """Issue 11, finding 5: another site's page cannot post the admin's sign-in form."""
    async with serving(make_observatory(tmp_path / "o")) as (_ctx, served, _obs), \
            client() as http:
        url = served.web_url
        async with http.post(f"{url}/admin/en/login", allow_redirects=False,
                             data={"passphrase": PASSPHRASE}) as r:
            assert r.status == 403 and COOKIE not in r.cookies
        form = await login_data(http, url, "en", PASSPHRASE)
        async with http.post(f"{url}/admin/en/login", allow_redirects=False,
                             data={**form, "csrf": "made-up"}) as r:
            assert r.status == 403 and COOKIE not in r.cookies
        async with http.post(f"{url}/admin/en/login", allow_redirects=False, data=form) as r:
            assert r.status == 303 and COOKIE in r.cookies


async def test_healthz_answers_for_the_container_health_check(root: Path) -> None:
    async with serving(root) as (_ctx, served, _obs), client() as http:
        async with http.get(f"{served.web_url}/healthz") as r:
            assert r.status == 200 and await r.text() == "ok\n"
            assert_safe_headers(r)
