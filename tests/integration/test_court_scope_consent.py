"""The reporter's court scope (issue 12) is consent data: chosen on the consent screen and
on the receipt page, in plain language, stored through the consent model and its history,
and enforced at export."""

from __future__ import annotations

from typing import Any

from aiohttp.test_utils import TestClient

from node.context import NodeContext
from tests.integration.conftest import csrf_of, walk_html_report


def scope_of(node_ctx: NodeContext) -> list[dict[str, Any]]:
    return [dict(r) for r in node_ctx.db.read().execute(
        "SELECT source, legal, court_narrative, court_when, court_place, court_perpetrators,"
        " court_role, court_files FROM consent_events ORDER BY id")]


async def test_court_scope_is_consent_data(client: TestClient[Any, Any],
                                           node_ctx: NodeContext) -> None:
    r = await client.get("/en/report/consent")
    html = await r.text()
    # offered in plain language, everything legal use needs ticked by default
    assert "what may a court see?" in html
    assert 'value="court_place" checked' in html
    assert "never given to a court" in html
    code, secret = await walk_html_report(client, "en", {
        "what": {"narrative": "what happened"},
        "consent": {"consent": ["legal"], "court": ["court_narrative", "court_when"]}}, [])
    [event] = scope_of(node_ctx)
    assert event == {"source": "report", "legal": 1, "court_narrative": 1, "court_when": 1,
                     "court_place": 0, "court_perpetrators": 0, "court_role": 0,
                     "court_files": 0}
    row = node_ctx.db.read().execute(
        "SELECT consent_court_place, consent_court_when FROM reports").fetchone()
    assert tuple(row) == (0, 1)
    # changed later with the receipt, into the same history
    r = await client.get("/en/receipt")
    token = csrf_of(await r.text())
    r = await client.post("/en/receipt", data={"csrf": token, "receipt": code,
                                               "secret": secret}, allow_redirects=False)
    r = await client.get("/en/receipt/report")
    html = await r.text()
    assert 'value="court_when" checked' in html and 'value="court_place" checked' not in html
    r = await client.post("/en/receipt/consent", data={
        "csrf": csrf_of(html), "consent": ["legal"], "court": ["court_narrative", "court_place"]},
        allow_redirects=False)
    assert r.status == 303
    events = scope_of(node_ctx)
    assert len(events) == 2 and events[1]["source"] == "reporter"
    assert (events[1]["court_place"], events[1]["court_when"]) == (1, 0)


async def test_api_consent_change_keeps_an_unsent_court_scope(
        client: TestClient[Any, Any], node_ctx: NodeContext) -> None:
    r = await client.post("/api/v1/reports", json={
        "narrative": "n", "consent": {"legal": True, "court_place": False}})
    assert r.status == 201
    receipt = await r.json()
    creds = {"receipt": receipt["receipt_display"], "secret": receipt["secret_display"]}
    r = await client.post("/api/v1/reports/consent",
                          json={**creds, "consent": {"legal": True, "care": True}})
    assert r.status == 200
    r = await client.post("/api/v1/reports/status", json=creds)
    consent = (await r.json())["consent"]
    assert consent["court_place"] is False and consent["court_when"] is True
    r = await client.post("/api/v1/reports/consent",
                          json={**creds, "consent": {"legal": True, "court_place": True}})
    r = await client.post("/api/v1/reports/status", json=creds)
    assert (await r.json())["consent"]["court_place"] is True
