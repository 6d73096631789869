"""What the public site promises technically: no cache, no referrer, strict CSP without
inline script, no external resource, session-only cookies, quick exit without JavaScript."""

from __future__ import annotations

import re
from typing import Any

from aiohttp.test_utils import TestClient

PAGES = ["/en/", "/ar/", "/en/services", "/en/receipt", "/en/report/who",
         "/fr/report/consent", "/en/report/files", "/en/report/review"]
EXTERNAL = re.compile(r'(?:src|href|action)="(?:https?:)?//', re.I)


async def test_headers_and_markup(client: TestClient[Any, Any]) -> None:
    for path in PAGES:
        r = await client.get(path)
        assert r.status == 200, path
        h = r.headers
        assert "no-store" in h["Cache-Control"]
        assert h["Referrer-Policy"] == "no-referrer"
        csp = h["Content-Security-Policy"]
        assert "default-src 'none'" in csp and "script-src 'self'" in csp
        assert "unsafe-inline" not in csp
        assert "Server" not in h and "ETag" not in h and "Last-Modified" not in h
        html = await r.text()
        assert not re.search(r"<script(?![^>]*\bsrc=)", html), f"inline script on {path}"
        assert not re.search(r"\son[a-z]+=", html), f"inline handler on {path}"
        assert not EXTERNAL.search(html), f"external resource on {path}"
        assert 'id="exit"' in html and 'href="/exit"' in html
        assert '<meta name="robots" content="noindex,nofollow">' in html
        for field in re.findall(r"<(?:input|textarea)[^>]*>", html):
            if 'type="hidden"' not in field and 'type="file"' not in field and (
                    'type="text"' in field or "<textarea" in field):
                assert 'autocomplete="off"' in field, field
    r = await client.get("/ar/")
    assert '<html lang="ar" dir="rtl">' in await r.text()


async def test_cookies_are_session_only_and_strict(client: TestClient[Any, Any]) -> None:
    r = await client.get("/en/")
    assert "Set-Cookie" not in r.headers  # browsing sets no cookie at all
    r = await client.get("/en/report/who")
    assert "Set-Cookie" not in r.headers  # nor does opening the form: no session yet (#11)
    token = re.search(r'name="csrf" value="([^"]+)"', await r.text())
    assert token is not None
    r = await client.post("/en/report/who", data={"csrf": token.group(1)},
                          allow_redirects=False)
    assert r.status == 303  # the first answer sent starts the session
    cookie = r.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
    assert "Max-Age" not in cookie and "expires" not in cookie.lower()


async def test_quick_exit_works_without_javascript(client: TestClient[Any, Any]) -> None:
    await client.get("/en/report/who")
    r = await client.get("/exit", allow_redirects=False)
    assert r.status == 303
    assert r.headers["Location"] == "http://127.0.0.1:9/neutral"
    assert "cookies" in r.headers["Clear-Site-Data"]
    # the draft is gone: the session no longer exists on the server
    r = await client.post("/en/report/who", data={"csrf": "x"})
    assert r.status == 403


async def test_unknown_language_and_page(client: TestClient[Any, Any]) -> None:
    r = await client.get("/xx/")
    assert r.status == 404 and "text/html" in r.headers["Content-Type"]
    r = await client.get("/", headers={"Accept-Language": "sw, en;q=0.5"},
                         allow_redirects=False)
    assert r.headers["Location"] == "/sw/"
