"""Malformed requests against a real server (`node.server.running` on 127.0.0.1): each used to
be a 500 (or crash the access logger, or write raw request bytes to the log); each is now the
sender's 4xx with a clear message, and the log holds the error's type only."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from node import errors
from node.context import NodeContext
from node.server import running
from node.web import appkeys, bodies
from node.web.failures import json_errors
from node.web.rendering import Renderer

JSON = {"Content-Type": "application/json"}
MULTIPART = {"Content-Type": "multipart/form-data; boundary=b"}
CANARY = "the-canary-narrative-7731"
ENGLISH = {bodies.MalformedBody.message, bodies.MalformedJson.message,
           bodies.UnsupportedEncoding.message, errors.InvalidInput.message}


def _part(disposition: str, body: bytes) -> bytes:
    return b"--b\r\nContent-Disposition: form-data; " + disposition.encode("latin-1") + \
        b"\r\n\r\n" + body + b"\r\n"


REPORT = _part('name="report"', b'{"narrative": "what happened, in my own words"}')

# name -> (body, headers, expected status)
CASES: dict[str, tuple[bytes, dict[str, str], int]] = {
    "integer of 5,000 digits": (b'{"incident_year": ' + b"9" * 5000 + b"}", JSON, 400),
    "deeply nested JSON": (b"[" * 50_000 + b"]" * 50_000, JSON, 400),
    "nested under the limit of the parser": (b'{"consent": ' + b"[" * 100 + b"]" * 100 + b"}",
                                             JSON, 400),
    "NaN": (b'{"people_harmed": NaN}', JSON, 400),
    "unknown charset": (b"{}", {"Content-Type": "application/json; charset=x-no-such"}, 415),
    "invalid gzip": (b"not gzip", {**JSON, "Content-Encoding": "gzip"}, 415),
    "brotli": (b"not brotli", {**JSON, "Content-Encoding": "br"}, 415),
    "truncated multipart": (b'--b\r\nContent-Disposition: form-data; name="report"\r\n\r\n{"na',
                            MULTIPART, 400),
    "multipart without boundary": (REPORT, {"Content-Type": "multipart/form-data"}, 400),
    "control character in a field name": (_part('name="rep\x01ort"', b"{}") + b"--b--\r\n",
                                          MULTIPART, 400),
    "CR in a field name": (_part('name="rep\rort"', b"{}") + b"--b--\r\n", MULTIPART, 400),
    "NUL in a file name": (REPORT + _part('name="files"; filename="a\x00.txt"', b"hi")
                           + b"--b--\r\n", MULTIPART, 400),
    "control character in a file name": (REPORT + _part('name="files"; filename="a\x07.txt"',
                                                        b"hi") + b"--b--\r\n", MULTIPART, 400),
    "true is not a number": (b'{"narrative": "what happened", "people_harmed": true}', JSON, 400),
}


@pytest.fixture
def server_log(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.DEBUG)
    return caplog


@pytest.mark.parametrize("case", sorted(CASES))
async def test_malformed_api_bodies_get_a_clear_4xx(node_ctx: NodeContext, case: str,
                                                    server_log: pytest.LogCaptureFixture
                                                    ) -> None:
    body, headers, status = CASES[case]
    async with running(node_ctx) as node, aiohttp.ClientSession() as session:
        async with session.post(node.urls["api"] + "/api/v1/reports", data=body,
                                headers={**headers, "Accept-Language": "fr"}) as r:
            assert r.status == status, (case, r.status, await r.text())
            error: dict[str, Any] = (await r.json())["error"]
    assert error["message"] and "Brotli" not in error["message"]
    # a clear message, in the language asked for (French here), not the generic failure
    assert error["message"] not in ENGLISH, error
    assert error["code"] != "node_error"
    assert not [rec for rec in server_log.records if rec.levelno >= logging.ERROR]


@pytest.mark.parametrize("case", ["unknown charset", "truncated multipart",
                                  "CR in a field name", "invalid gzip"])
async def test_malformed_form_bodies_get_a_page_not_a_500(node_ctx: NodeContext, case: str
                                                          ) -> None:
    body, headers, _ = CASES[case]
    headers = dict(headers)
    if "charset" in headers["Content-Type"]:
        headers["Content-Type"] = "application/x-www-form-urlencoded; charset=x-no-such"
    async with running(node_ctx) as node, aiohttp.ClientSession() as session:
        for path in ("/en/report/files", "/en/receipt", "/staff/login"):
            base = node.urls["staff" if path.startswith("/staff") else "public"]
            async with session.post(base + path, data=body, headers=headers,
                                    allow_redirects=False) as r:
                # the form's CSRF check may refuse first (403); never a 500
                assert 400 <= r.status < 500, (case, path, r.status)
                assert "text/html" in r.headers["Content-Type"]


async def test_aiohttp_own_4xx_keep_their_status(node_ctx: NodeContext) -> None:
    async with running(node_ctx) as node, aiohttp.ClientSession() as session:
        for path in ("/static/%2e%2e/%2e%2e/node.toml", "/static/..%2f..%2fnode.toml",
                     "/static/"):
            async with session.get(node.urls["public"] + path) as r:
                assert 400 <= r.status < 500, (path, r.status)
                assert "Something went wrong" not in await r.text()


async def _raw(url: str, data: bytes) -> bytes:
    host, port = url.rsplit("/", 1)[-1].split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    writer.write(data)
    await writer.drain()
    answer = await reader.read(4096)
    writer.close()
    await writer.wait_closed()
    return answer


async def test_unparseable_requests_log_only_the_error_type(
        node_ctx: NodeContext, server_log: pytest.LogCaptureFixture) -> None:
    attacks = [
        b"POST /api/v1/reports HTTP/1.1\r\nHost: x\r\nX-Story: " + CANARY.encode()
        + b"\x01\r\n\r\n",
        b"GET /" + CANARY.encode() + b"\x00 HTTP/1.1\r\nHost: x\r\n\r\n",
        b"POST /en/receipt HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"
        + CANARY.encode() + b"\r\n",
        b"POST /api/v1/reports HTTP/1.1\r\nHost: x\r\nContent-Encoding: br\r\n"
        b"Content-Length: 5\r\n\r\nabcde",
    ]
    async with running(node_ctx) as node:
        for attack in attacks:
            answer = await _raw(node.urls["public"], attack)
            assert answer.startswith(b"HTTP/1.1 4") or answer.startswith(b"HTTP/1.0 4"), answer
            assert b"Brotli" not in answer
    written = "\n".join(server_log.text.splitlines())
    assert CANARY not in written
    assert "127.0.0.1" not in "\n".join(
        r.getMessage() for r in server_log.records if r.name.startswith("aiohttp"))
    # the access logger logged the refused requests instead of crashing on them
    assert not [r for r in server_log.records if r.exc_info]
    assert "AssertionError" not in written


@pytest.mark.parametrize("kind", [web.HTTPLengthRequired, web.HTTPForbidden,
                                  web.HTTPUnsupportedMediaType, web.HTTPBadRequest])
async def test_aiohttp_client_errors_raised_in_handlers_keep_their_status(
        node_ctx: NodeContext, kind: type[web.HTTPClientError],
        aiohttp_client: Callable[..., Awaitable[TestClient[Any, Any]]]) -> None:
    async def handler(_: web.Request) -> web.StreamResponse:
        raise kind()

    app = web.Application(middlewares=[json_errors])
    app[appkeys.CONTEXT] = node_ctx
    app[appkeys.RENDERER] = Renderer(node_ctx.config, node_ctx.catalogues)
    app.router.add_post("/x", handler)
    client = await aiohttp_client(app)
    r = await client.post("/x")
    assert r.status == kind.status_code
    assert (await r.json())["error"]["message"]
