"""Issue 11, findings 1, 3 and 4: attacks on reporters' drafts and on the shared (onion)
rate-limit bucket, reproduced against a real node server on 127.0.0.1.

- a flood of cookieless visits, then of new sessions, no longer pushes out a draft;
- new sessions are limited per address, and behind an onion service per signed form token;
- staged draft files are capped per session, per address and in total, and uploads are
  rate-limited;
- malformed requests no longer drain the bucket every Tor user shares.
"""

from __future__ import annotations

import io
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestClient

from crypto import passphrase as pw
from node.context import open_node
from node.demo import tiny_png
from node.web.app import create_app
from node.web.appkeys import REPORTER_SESSIONS
from tests import conftest
from tests.conftest import make_node
from tests.integration.conftest import csrf_of

MB = 1024 * 1024
AClient = Callable[..., Awaitable[TestClient[Any, Any]]]


def _config(drafts: str = "", rate_limits: str = "") -> str:
    text = conftest.test_config()
    if rate_limits:
        text = text.replace("[rate_limits]\n", "[rate_limits]\n" + rate_limits)
    return text + ("\n[drafts]\n" + drafts if drafts else "")


@pytest.fixture
def make_client(tmp_path: Path, aiohttp_client: AClient
                ) -> AsyncIterator[Callable[[str], Awaitable[TestClient[Any, Any]]]]:
    opened: list[Any] = []

    async def make(config_text: str) -> TestClient[Any, Any]:
        datadir = make_node(tmp_path / f"node{len(opened)}", config_text)
        ctx = open_node(datadir, staff_params=pw.INSECURE_FAST_FOR_TESTS,
                        receipt_params=pw.INSECURE_FAST_FOR_TESTS)
        opened.append(ctx)
        return await aiohttp_client(create_app(ctx))

    yield make  # type: ignore[misc]
    for ctx in opened:
        ctx.close()


async def _fresh_post(client: TestClient[Any, Any], path: str, data: dict[str, str],
                      headers: dict[str, str] | None = None, token_from: str = "/en/report/who"
                      ) -> aiohttp.ClientResponse:
    """A stranger without cookies: fetch a form, post it once (a new session each time)."""
    async with aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar()) as s:
        r = await s.get(client.make_url(token_from), headers=headers)
        token = csrf_of(await r.text())
        r = await s.post(client.make_url(path), data={"csrf": token, **data}, headers=headers,
                         allow_redirects=False)
        await r.read()
        return r


async def _start_draft(client: TestClient[Any, Any], narrative: str) -> str:
    r = await client.get("/en/report/what")
    token = csrf_of(await r.text())
    r = await client.post("/en/report/what", data={"csrf": token, "narrative": narrative,
                                                   "go": "next"}, allow_redirects=False)
    assert r.status == 303, await r.text()
    return token


async def test_visits_and_session_floods_do_not_push_out_drafts(make_client: Any) -> None:
    client = await make_client(_config("max_sessions = 20\nsessions_per_minute = 1000\n"))
    sessions = client.server.app[REPORTER_SESSIONS]
    token = await _start_draft(client, "what a genuine reporter wrote")
    form = aiohttp.FormData()
    form.add_field("csrf", token)
    form.add_field("files", tiny_png(3), filename="photo.png")
    r = await client.post("/en/report/files", data=form, allow_redirects=False)
    assert r.status == 303

    # The old attack: cookieless visits of the form and the receipt page. They create nothing.
    async with aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar()) as s:
        for i in range(200):
            path = ["/en/report/who", "/en/report/review", "/fr/receipt"][i % 3]
            r = await s.get(client.make_url(path))
            assert r.status == 200 and "Set-Cookie" not in r.headers
    assert len(sessions) == 1

    # Now the stronger one: new sessions started by posting forms, until every place holds a
    # draft. The newcomers get a clear, translated 503; no draft is pushed out.
    statuses = [(await _fresh_post(client, "/en/report/who", {"go": "next"})).status
                for _ in range(25)]
    assert statuses.count(303) == 19 and statuses[19:] == [503] * 6
    r = await _fresh_post(client, "/fr/report/who", {"go": "next"}, token_from="/fr/report/who")
    assert r.status == 503
    async with aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar()) as s:
        r = await s.get(client.make_url("/fr/report/who"))
        token = csrf_of(await r.text())
        r = await s.post(client.make_url("/fr/report/who"), data={"csrf": token})
        assert r.status == 503
        assert "réessayer dans quelques minutes" in await r.text()

    # The genuine reporter's draft, file included, is whole and is sent.
    r = await client.get("/en/report/review")
    html = await r.text()
    assert "what a genuine reporter wrote" in html and "photo.png" in html
    r = await client.post("/en/report/review", data={"csrf": token_of(html), "go": "next"},
                          allow_redirects=False)
    assert r.status == 303 and r.headers["Location"] == "/en/report/sent"
    r = await client.get("/en/report/sent")
    assert re.search(r'id="receipt-code">([^<]+)<', await r.text())


def token_of(html: str) -> str:
    return csrf_of(html)


async def test_new_sessions_are_limited_per_source_and_per_onion_form_token(
        make_client: Any) -> None:
    client = await make_client(_config(
        "sessions_per_minute = 3\n", 'trusted_proxies = ["127.0.0.1"]\n'))
    one = {"X-Forwarded-For": "198.51.100.1"}
    other = {"X-Forwarded-For": "198.51.100.2"}
    got = [(await _fresh_post(client, "/en/report/who", {}, one)).status for _ in range(5)]
    assert got == [303, 303, 303, 429, 429]
    assert (await _fresh_post(client, "/en/report/who", {}, other)).status == 303

    # Behind the onion service (the proxy names nobody), one Tor client replaying one form
    # token is stopped after its share; a different Tor client, with its own token, is not.
    async with aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar()) as s:
        r = await s.get(client.make_url("/en/report/who"))
        token = csrf_of(await r.text())
        got = []
        for _ in range(5):
            r = await s.post(client.make_url("/en/report/who"), data={"csrf": token},
                             allow_redirects=False)
            got.append(r.status)
        assert got == [303, 303, 303, 429, 429]
    assert (await _fresh_post(client, "/en/report/who", {})).status == 303
    # A forged or stale token starts nothing.
    async with aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar()) as s:
        r = await s.post(client.make_url("/en/report/who"), data={"csrf": "A" * 48},
                         allow_redirects=False)
        assert r.status == 403


async def test_a_flood_from_the_onion_address_cannot_keep_everyone_out(
        make_client: Any) -> None:
    """Behind the onion service a form token costs one page, so a Tor client can start as
    many sessions as it fetches tokens: the shared address may hold at most its share of the
    places, and a reporter from anywhere else still gets one."""
    client = await make_client(_config(
        "max_sessions = 10\nsessions_per_minute = 1000\nshared_sessions_percent = 50\n",
        'trusted_proxies = ["127.0.0.1"]\nshared_address_factor = 1000\n'))
    sessions = client.server.app[REPORTER_SESSIONS]
    got = [(await _fresh_post(client, "/en/report/who", {"go": "next"})).status
           for _ in range(8)]
    assert got == [303] * 5 + [503] * 3
    assert len(sessions) == 5
    clearnet = {"X-Forwarded-For": "198.51.100.7"}
    assert (await _fresh_post(client, "/en/report/who", {"go": "next"}, clearnet)).status == 303
    assert len(sessions) == 6
    # When an onion session ends, its place is free for the next Tor reporter.
    onion = next(s for s in sessions if s.shared)
    sessions.end(onion.id)
    assert (await _fresh_post(client, "/en/report/who", {"go": "next"})).status == 303
    assert (await _fresh_post(client, "/en/report/who", {"go": "next"})).status == 503


async def _upload(s: aiohttp.ClientSession, client: TestClient[Any, Any], token: str,
                  size: int, headers: dict[str, str]) -> int:
    form = aiohttp.FormData()
    form.add_field("csrf", token)
    form.add_field("files", io.BytesIO(tiny_png(1) + b"\0" * size), filename="x.png",
                   content_type="application/octet-stream")
    r = await s.post(client.make_url("/en/report/files"), data=form, headers=headers,
                     allow_redirects=False)
    await r.read()
    return r.status


def _blob_bytes(client: TestClient[Any, Any]) -> int:
    from node.web.appkeys import CONTEXT

    root = client.server.app[CONTEXT].datadir.blobs
    return sum(p.stat().st_size for p in Path(root).rglob("*") if p.is_file())


async def test_staged_draft_files_are_capped(make_client: Any) -> None:
    client = await make_client(_config(
        "staged_mb_per_session = 2\nstaged_mb_per_source = 3\nstaged_mb_total = 5\n"
        "uploads_per_minute = 1000\n", 'trusted_proxies = ["127.0.0.1"]\n'))
    size = MB  # each file a little over 1 MiB (the test limits: 2 per file, 3 per draft)
    statuses: dict[str, list[int]] = {}
    for n in range(4):  # four strangers, two drafts each, uploading until refused
        xff = {"X-Forwarded-For": f"198.51.100.{n + 1}"}
        for _ in range(2):
            async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as s:
                r = await s.get(client.make_url("/en/report/files"), headers=xff)
                token = csrf_of(await r.text())
                got = statuses.setdefault(xff["X-Forwarded-For"], [])
                for _ in range(4):
                    got.append(await _upload(s, client, token, size, xff))
    # Per session: two files fill its share; per source: three; in total: five. A file is
    # refused when a cap is already reached, so a cap is passed by at most one file.
    assert statuses["198.51.100.1"] == [303, 303, 429, 429, 303, 429, 429, 429]
    assert statuses["198.51.100.2"] == [303, 303] + [503] * 6
    assert statuses["198.51.100.3"] == [503] * 8 and statuses["198.51.100.4"] == [503] * 8
    staged = client.server.app[REPORTER_SESSIONS].staged_bytes()
    assert 5 * MB < staged < 6 * MB
    assert _blob_bytes(client) < 6 * MB

    # A genuine reporter is told clearly, in their language, and can still send without files.
    async with aiohttp.ClientSession() as s:
        r = await s.get(client.make_url("/fr/report/files"))
        token = csrf_of(await r.text())
        form = aiohttp.FormData()
        form.add_field("csrf", token)
        form.add_field("files", tiny_png(2), filename="photo.png")
        r = await s.post(client.make_url("/fr/report/files"), data=form)
        assert r.status == 503
        assert "trop de fichiers en attente" in await r.text()


async def test_uploads_are_rate_limited(make_client: Any) -> None:
    client = await make_client(_config("uploads_per_minute = 2\n"))
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as s:
        r = await s.get(client.make_url("/en/report/files"))
        token = csrf_of(await r.text())
        got = [await _upload(s, client, token, 10, {}) for _ in range(3)]
    assert got == [303, 303, 429]


async def test_malformed_requests_do_not_drain_the_shared_onion_bucket(
        make_client: Any) -> None:
    client = await make_client(_config(rate_limits=(
        'trusted_proxies = ["127.0.0.1"]\nshared_address_factor = 2\n')).replace(
        "reports_per_minute = 1000", "reports_per_minute = 2").replace(
        "receipt_attempts_per_minute = 1000", "receipt_attempts_per_minute = 2"))
    # One Tor client sends malformed reports and malformed receipts, far past the shared
    # bucket (2 x 2 a minute); each gets its 4xx.
    for _ in range(30):
        r = await client.post("/api/v1/reports", data=b"{not json",
                              headers={"Content-Type": "application/json"})
        assert r.status == 400
        r = await client.post("/api/v1/reports", json={"narrative": "   "})
        assert r.status == 400
        r = await client.post("/api/v1/reports/status",
                              json={"receipt": "12", "secret": "short"})
        assert r.status == 400, await r.text()
        r = await client.post("/en/receipt", data={
            "csrf": csrf_of(await (await client.get("/en/receipt")).text()),
            "receipt": "1", "secret": "x"})
        assert r.status == 400
    # Every other Tor user can still report and open their receipt.
    r = await client.post("/api/v1/reports", json={"narrative": "a genuine report"})
    assert r.status == 201, await r.text()
    creds = await r.json()
    r = await client.post("/api/v1/reports/status",
                          json={"receipt": creds["receipt"], "secret": creds["secret"]})
    assert r.status == 200

    # On the HTML form, behind the onion service, submissions count per reporter session.
    for n in range(5):  # more than the shared bucket would allow
        token = await _start_draft(client, f"report {n}")
        r = await client.post("/en/report/review", data={"csrf": token, "go": "next"},
                              allow_redirects=False)
        assert r.status == 303, await r.text()
        client.session.cookie_jar.clear()


async def test_idle_drafts_with_files_end_sooner_and_their_files_are_shredded(
        make_client: Any) -> None:
    client = await make_client(_config())
    sessions = client.server.app[REPORTER_SESSIONS]
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as s:
        r = await s.get(client.make_url("/en/report/files"))
        token = csrf_of(await r.text())
        assert await _upload(s, client, token, 1000, {}) == 303
    text_only = await _start_draft(client, "no files here")
    assert text_only and len(sessions) == 2 and _blob_bytes(client) > 0
    # Twenty-one idle minutes (the clock is the sessions' own: age the sessions instead).
    for session in sessions:
        session.last_seen -= 21 * 60
    sessions.expire()  # what the app's minute check does
    assert len(sessions) == 1  # the draft without files keeps its 60 minutes
    assert _blob_bytes(client) == 0
