"""Reports through the HTML form and the JSON API, against a real aiohttp server on
127.0.0.1, with a canary in every free-text field and every attachment: the canary is
readable back by staff and by the reporter, and appears in no file under the data
directory, before and after a restart."""

from __future__ import annotations

import io
import json
from typing import Any

import aiohttp
from aiohttp.test_utils import TestClient

from node import accounts
from node.context import NodeContext, open_node
from node.demo import tiny_png
from tests import intake_views
from tests.conftest import ADMIN, ADMIN_PASSPHRASE, CANARY, files_containing
from tests.integration.conftest import csrf_of, walk_html_report

PNG = tiny_png(5) + CANARY.encode()
TEXT_FILE = f"notes {CANARY}\n".encode()


def html_answers(tag: str) -> dict[str, Any]:
    c = f"{CANARY}-{tag}"
    return {
        "who": {"reporter_role": "survivor"},
        "what": {"narrative": f"{c} narrative"},
        "when": {"incident_day": "3", "incident_month": "2", "incident_year": "2024",
                 "incident_when": f"{c} when"},
        "where": {"region": "R1", "place": f"{c} place"},
        "perpetrators": {"perpetrator_affiliation": "militia", "perpetrators": f"{c} who",
                         "people_harmed": "2"},
        "help": {"needs": ["medical", "legal"]},
        "consent": {"consent": ["care", "legal", "contact"], "contact_method": "sms",
                    "contact_details": f"{c} phone", "contact_safe_times": f"{c} times",
                    "contact_precautions": f"{c} careful"},
    }


def api_report(tag: str) -> dict[str, Any]:
    c = f"{CANARY}-{tag}"
    return {
        "reporter_role": "witness", "narrative": f"{c} narrative", "incident_year": 2023,
        "incident_when": f"{c} when", "region": "R2", "place": f"{c} place",
        "perpetrators": f"{c} who", "perpetrator_affiliation": "unknown", "people_harmed": 4,
        "needs": ["psychosocial"], "consent": {"statistics": True, "contact": True},
        "contact": {"method": "email", "details": f"{c} mail", "safe_times": f"{c} t",
                    "precautions": f"{c} p"},
        "language": "fr",
    }


async def staff_client_read(client: TestClient[Any, Any], report_id: str) -> str:
    r = await client.get("/staff/login")
    token = csrf_of(await r.text())
    r = await client.post("/staff/login", data={"csrf": token, "username": ADMIN,
                                                "passphrase": ADMIN_PASSPHRASE},
                          allow_redirects=False)
    assert r.status == 303
    r = await client.get("/staff/cases")
    assert r.status == 200
    assert report_id in await r.text()
    r = await client.get(f"/staff/cases/{report_id}")
    assert r.status == 200
    return await r.text()


async def test_html_and_api_reports_keep_no_plaintext(client: TestClient[Any, Any],
                                                      node_ctx: NodeContext) -> None:
    code, secret = await walk_html_report(client, "fr", html_answers("html"),
                                          [(f"{CANARY}.png", PNG), ("notes.txt", TEXT_FILE)])
    form = aiohttp.FormData()
    form.add_field("report", json.dumps(api_report("api")), content_type="application/json")
    form.add_field("files", PNG, filename=f"{CANARY}-api.png")
    r = await client.post("/api/v1/reports", data=form)
    assert r.status == 201, await r.text()
    api_receipt = await r.json()
    assert api_receipt["status"] == "new"

    # the reporter adds information through the receipt channel, with a file
    form = aiohttp.FormData()
    form.add_field("addition", json.dumps({"receipt": code, "secret": secret,
                                           "text": f"{CANARY}-later addition"}))
    form.add_field("files", TEXT_FILE, filename="later.txt")
    r = await client.post("/api/v1/reports/additions", data=form)
    assert r.status == 200, await r.text()

    root = node_ctx.datadir.root
    assert files_containing(root, CANARY.encode()) == []

    # staff unlock and read every canary back
    key = accounts.unlock(node_ctx.db.read(), ADMIN, ADMIN_PASSPHRASE).intake_key
    assert key is not None
    views = intake_views.list_reports(node_ctx, key)
    assert len(views) == 2
    by_channel = {v.record["channel"]: v for v in views}
    html_view = intake_views.read_report(node_ctx, key, by_channel["web"].id)
    for field in ("narrative", "incident_when", "place", "perpetrators"):
        assert CANARY in html_view.record[field]
    assert all(CANARY in v for v in html_view.record["contact"].values() if v != "sms")
    names = [i.meta.get("filename") for i in html_view.items if i.kind == "attachment"]
    assert f"{CANARY}.png" in names
    contents = []
    for item in html_view.items:
        if item.kind == "attachment":
            _, chunks = intake_views.open_attachment(node_ctx, key, html_view.id, item.id)
            contents.append(b"".join(chunks))
    assert PNG in contents and TEXT_FILE in contents
    assert any(CANARY in i.meta.get("text", "") for i in html_view.items)
    page = await staff_client_read(client, by_channel["api"].id)
    assert f"{CANARY}-api narrative" in page

    # after a restart (a new process would open the same files) still nothing in clear
    node_ctx.db.vacuum()
    reopened = open_node(node_ctx.datadir)
    reopened.close()
    assert files_containing(root, CANARY.encode()) == []


async def test_api_status_consent_and_deletion(client: TestClient[Any, Any]) -> None:
    r = await client.post("/api/v1/reports", json={"narrative": "api report"})
    assert r.status == 201
    receipt = await r.json()
    creds = {"receipt": receipt["receipt_display"], "secret": receipt["secret_display"]}
    r = await client.post("/api/v1/reports/status", json=creds)
    body = await r.json()
    assert r.status == 200 and body["status"] == "new" and body["consent"]["legal"] is False
    r = await client.post("/api/v1/reports/consent",
                          json={**creds, "consent": {"legal": True, "care": True}})
    assert r.status == 200
    r = await client.post("/api/v1/reports/status", json=creds)
    assert (await r.json())["consent"]["legal"] is True
    r = await client.post("/api/v1/reports/deletion", json={**creds, "confirm": True})
    assert r.status == 200
    r = await client.post("/api/v1/reports/status", json=creds)
    assert r.status == 403


async def test_api_bad_input_gets_clear_errors(client: TestClient[Any, Any]) -> None:
    fr = {"Accept-Language": "fr"}
    r = await client.post("/api/v1/reports", data=b"{not json",
                          headers={"Content-Type": "application/json", **fr})
    assert r.status == 400
    assert (await r.json())["error"]["code"] == "malformed_json"
    r = await client.post("/api/v1/reports", json={"narrative": "x", "nonsense": 1})
    body = await r.json()
    assert r.status == 400 and body["error"]["fields"] == ["nonsense"]
    r = await client.post("/api/v1/reports", json={"narrative": "x", "people_harmed": "many"})
    assert r.status == 400 and (await r.json())["error"]["fields"] == ["people_harmed"]
    r = await client.post("/api/v1/reports", json={})
    assert r.status == 400 and (await r.json())["error"]["code"] == "empty_report"
    r = await client.post("/api/v1/reports", data=b"narrative=x",
                          headers={"Content-Type": "text/plain"})
    assert r.status == 415
    r = await client.post("/api/v1/reports/status", json={"receipt": "1", "secret": "2"})
    assert r.status == 400 and (await r.json())["error"]["field"] == "receipt"
    r = await client.post("/api/v1/reports/status",
                          json={"receipt": "0000000000", "secret": "0" * 21})
    assert r.status == 403 and (await r.json())["error"]["code"] == "receipt_rejected"
    # a wrong file type and an oversized file are refused, and nothing is stored
    for name, content, status in (("x.exe", b"MZ" + b"\0" * 100, 415),
                                  ("big.png", tiny_png(1) + b"\0" * (3 * 1024 * 1024), 413)):
        form = aiohttp.FormData()
        form.add_field("report", json.dumps({"narrative": "with file"}))
        form.add_field("files", io.BytesIO(content), filename=name,
                       content_type="application/octet-stream")
        r = await client.post("/api/v1/reports", data=form)
        assert r.status == status, await r.text()
    r = await client.get("/api/v1/services?need=legal")
    assert [s["id"] for s in (await r.json())["services"]] == ["lawyers"]


async def test_api_errors_are_translated(client: TestClient[Any, Any]) -> None:
    r1 = await client.post("/api/v1/reports", json={}, headers={"Accept-Language": "en"})
    r2 = await client.post("/api/v1/reports", json={}, headers={"Accept-Language": "fr"})
    m1, m2 = (await r1.json())["error"]["message"], (await r2.json())["error"]["message"]
    assert m1 and m2 and m1 != m2


async def test_receipt_channel_in_html(client: TestClient[Any, Any]) -> None:
    code, secret = await walk_html_report(client, "en", {"what": {"narrative": "hello"}}, [])
    r = await client.get("/en/report/sent")
    assert "receipt-secret" not in await r.text()  # shown once only
    r = await client.get("/en/receipt")
    token = csrf_of(await r.text())
    r = await client.post("/en/receipt", data={"csrf": token, "receipt": code,
                                               "secret": "1" * 21})
    html = await r.text()
    assert r.status in (400, 403) and code in html  # error shown, what was typed kept
    r = await client.post("/en/receipt", data={"csrf": token, "receipt": code,
                                               "secret": secret}, allow_redirects=False)
    assert r.status == 303
    r = await client.get("/en/receipt/report")
    html = await r.text()
    assert r.status == 200 and 'id="status"' in html
    token = csrf_of(html)
    r = await client.post("/en/receipt/consent", data={"csrf": token, "consent": ["care"]},
                          allow_redirects=False)
    assert r.status == 303
    r = await client.get("/en/receipt/delete")
    r = await client.post("/en/receipt/delete", data={"csrf": token, "confirm": "yes"},
                          allow_redirects=False)
    assert r.status == 303 and r.headers["Location"] == "/en/receipt/deleted"


async def test_form_errors_keep_input(client: TestClient[Any, Any]) -> None:
    r = await client.get("/fr/report/when")
    token = csrf_of(await r.text())
    r = await client.post("/fr/report/when", data={
        "csrf": token, "incident_day": "31", "incident_month": "2", "incident_year": "2024",
        "incident_when": "words I typed", "go": "next"})
    html = await r.text()
    assert r.status == 400 and 'class="errs"' in html
    assert 'value="31"' in html and "words I typed" in html
    assert '<option value="2" selected>' in html


async def test_missing_csrf_is_refused(client: TestClient[Any, Any]) -> None:
    await client.get("/en/report/who")
    r = await client.post("/en/report/who", data={"reporter_role": "survivor"})
    assert r.status == 403
    r = await client.post("/en/report/who", data={"csrf": "x"},
                          headers={"Origin": "https://evil.example"})
    assert r.status == 403
