"""Helpers for driving a real node server over HTTP on 127.0.0.1."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestClient

from node.context import NodeContext
from node.web.app import create_app

CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def csrf_of(html: str) -> str:
    m = CSRF.search(html)
    assert m, "no CSRF token in page"
    return m.group(1)


@pytest.fixture
async def client(node_ctx: NodeContext,
                 aiohttp_client: Callable[..., Awaitable[TestClient[Any, Any]]]
                 ) -> TestClient[Any, Any]:
    return await aiohttp_client(create_app(node_ctx))


async def walk_html_report(client: TestClient[Any, Any], lang: str, answers: dict[str, Any],
                           files: list[tuple[str, bytes]]) -> tuple[str, str]:
    """Fill every step of the HTML form like a browser without JavaScript would; return the
    receipt number and secret shown on the confirmation page."""
    r = await client.get(f"/{lang}/report/who")
    assert r.status == 200
    token = csrf_of(await r.text())
    steps = ["who", "what", "when", "where", "perpetrators", "help", "consent"]
    for step in steps:
        data = aiohttp.FormData()
        data.add_field("csrf", token)
        for k, v in answers.get(step, {}).items():
            for item in (v if isinstance(v, list) else [v]):
                data.add_field(k, str(item))
        data.add_field("go", "next")
        r = await client.post(f"/{lang}/report/{step}", data=data, allow_redirects=False)
        assert r.status == 303, (step, r.status, await r.text())
    form = aiohttp.FormData()
    form.add_field("csrf", token)
    for name, content in files:
        form.add_field("files", content, filename=name, content_type="application/octet-stream")
    form.add_field("go", "next")
    r = await client.post(f"/{lang}/report/files", data=form, allow_redirects=False)
    assert r.status == 303, await r.text()
    r = await client.get(f"/{lang}/report/review")
    assert r.status == 200
    r = await client.post(f"/{lang}/report/review", data={"csrf": token, "go": "next"},
                          allow_redirects=False)
    assert r.status == 303, await r.text()
    r = await client.get(f"/{lang}/report/sent")
    html = await r.text()
    code = re.search(r'id="receipt-code">([^<]+)<', html)
    secret = re.search(r'id="receipt-secret">([^<]+)<', html)
    assert code and secret
    return code.group(1), secret.group(1)
