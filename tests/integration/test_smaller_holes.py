"""Issue 11's smaller holes, against a real server: an attachment download keeps its own
sandboxing Content-Security-Policy; HTML behind a byte-order mark is not "text"; the OpenAPI
document states the receipt and secret formats and that an empty report is refused. (`true`
is not a number: `test_malformed_requests`.)"""

from __future__ import annotations

import aiohttp
import pytest

from node.context import NodeContext
from node.server import running, sites
from tests.conftest import ADMIN, ADMIN_PASSPHRASE
from tests.integration.conftest import csrf_of


def _report_with(name: str, content: bytes) -> aiohttp.FormData:
    form = aiohttp.FormData()
    form.add_field("report", '{"narrative": "what happened"}',
                   content_type="application/json")
    form.add_field("files", content, filename=name, content_type="text/plain")
    return form


@pytest.mark.parametrize("content", [
    b"\xef\xbb\xbf<html><script>alert(1)</script></html>",
    b"\xef\xbb\xbf  \n<svg onload=alert(1)>",
    "\u200b<html><body>x</body></html>".encode(),
])
async def test_html_behind_a_byte_order_mark_is_not_text(node_ctx: NodeContext,
                                                         content: bytes) -> None:
    async with running(node_ctx) as node, aiohttp.ClientSession() as http:
        async with http.post(node.urls["api"] + "/api/v1/reports",
                             data=_report_with("notes.txt", content)) as r:
            assert r.status == 415, await r.text()
        async with http.post(node.urls["api"] + "/api/v1/reports",
                             data=_report_with("notes.txt", b"\xef\xbb\xbfplain notes")) as r:
            assert r.status == 201  # a BOM before plain text is still text


async def test_an_attachment_download_keeps_its_sandbox(node_ctx: NodeContext) -> None:
    async with running(node_ctx, sites()) as node, \
            aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        async with http.post(node.urls["api"] + "/api/v1/reports",
                             data=_report_with("notes.txt", b"plain notes")) as r:
            assert r.status == 201
            receipt = await r.json()
        access = node_ctx.intake.open_receipt(receipt["receipt"], receipt["secret"])
        item = node_ctx.intake.view_for_reporter(access).items[0]
        staff = node.staff_url
        async with http.get(staff + "/staff/login") as r:
            token = csrf_of(await r.text())
        async with http.post(staff + "/staff/login", data={
                "csrf": token, "username": ADMIN, "passphrase": ADMIN_PASSPHRASE}) as r:
            assert r.status == 200
        async with http.get(f"{staff}/staff/cases/{access.report_id}/files/{item.id}") as r:
            assert r.status == 200
            assert await r.read() == b"plain notes"
            policy = r.headers.getall("Content-Security-Policy")
        assert policy == ["sandbox; default-src 'none'"]
        # the pages around it keep the site's policy
        async with http.get(f"{staff}/staff/cases/{access.report_id}") as r:
            assert "sandbox" not in r.headers["Content-Security-Policy"]
            assert "frame-ancestors 'none'" in r.headers["Content-Security-Policy"]


async def test_the_openapi_document_states_formats_and_the_empty_report(
        node_ctx: NodeContext) -> None:
    async with running(node_ctx) as node, aiohttp.ClientSession() as http:
        async with http.get(node.urls["api"] + "/api/v1/openapi.json") as r:
            doc = await r.json()
        async with http.post(node.urls["api"] + "/api/v1/reports", json={}) as r:
            assert r.status == 400
            assert (await r.json())["error"]["code"] == "empty_report"
    schemas = doc["components"]["schemas"]
    out = schemas["ReceiptOut"]["properties"]
    assert out["receipt"]["pattern"] == "^[0-9]{10}$"
    assert out["secret"]["pattern"] == "^[0-9]{21}$"
    creds = schemas["ReceiptCredentials"]["properties"]
    assert "10 digits" in creds["receipt"]["description"]
    assert "21 digits" in creds["secret"]["description"]
    assert "empty_report" in schemas["ReportInput"]["description"]
    create = doc["paths"]["/api/v1/reports"]["post"]
    assert "empty_report" in create["summary"]
    assert "empty_report" in create["responses"]["400"]["description"]
