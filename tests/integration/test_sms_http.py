"""SMS follow-up (issue 19) through the real apps: the reporter sets a status-only PIN on the
receipt page; an SMS ``STATUS <receipt> <PIN>`` posted as Twilio posts it (signed) gets the
status only; a staff message is announced by the organisation's harmless SMS, sent to a
stand-in of Twilio's REST API on 127.0.0.1, only with contact consent and the opt-in; a bad
signature or secret is refused and stores nothing."""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import re
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crypto import passphrase as pw
from crypto import receipt
from crypto.keys import DataKey
from node.channels import sms_messages, sms_pins
from node.channels.sms_sender import NOTICES
from node.context import NodeContext, open_node
from node.intake.models import Consent, ContactPreference, ReportInput
from node.intake.service import Receipt
from node.web import appkeys
from node.web.app import create_app
from node.web.staff.common import STAFF_COOKIE
from tests.conftest import files_containing, make_node
from tests.conftest import test_config as base_config
from tests.integration.conftest import csrf_of
from tests.team import Team, make_team

SECRET = "sms-test-secret-0123456789abcdef"
TOKEN = "twilio-auth-token-for-tests"
NOTICE = "Your library book is ready."
PHONE = "+243990004567"
PIN = "482913"


@dataclass
class Twilio:
    """A stand-in for Twilio's REST API: what it was asked to send."""

    url: str
    sent: list[dict[str, str]] = field(default_factory=list)
    auth: list[str] = field(default_factory=list)


@pytest.fixture
async def twilio() -> AsyncIterator[Twilio]:
    got = Twilio("")

    async def messages(request: web.Request) -> web.Response:
        form = await request.post()
        got.sent.append({k: str(v) for k, v in form.items()})
        got.auth.append(request.headers.get("Authorization", ""))
        return web.json_response({"sid": "SM" + "0" * 32, "status": "queued"}, status=201)

    app = web.Application()
    app.router.add_post("/2010-04-01/Accounts/{sid}/Messages.json", messages)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    got.url = f"http://127.0.0.1:{server.port}"
    yield got
    await server.close()


def sms_section(twilio_url: str) -> str:
    return f"""
[sms]
webhook_secret = "{SECRET}"
auth_token = "{TOKEN}"
notice_text = "{NOTICE}"
messages_per_minute = 1000

[sms.sender]
api_base = "{twilio_url}"
account_sid = "AC123"
auth_token = "sender-token-123"
from_number = "+15005550006"
"""


@pytest.fixture
def sms_ctx(tmp_path: Path, twilio: Twilio) -> Iterator[NodeContext]:
    datadir = make_node(tmp_path / "node", base_config() + sms_section(twilio.url))
    ctx = open_node(datadir, staff_params=pw.INSECURE_FAST_FOR_TESTS,
                    receipt_params=pw.INSECURE_FAST_FOR_TESTS)
    yield ctx
    ctx.close()


@pytest.fixture
async def site(sms_ctx: NodeContext, aiohttp_client: Any) -> TestClient[Any, Any]:
    client: TestClient[Any, Any] = await aiohttp_client(create_app(sms_ctx, {"public"}))
    return client


def report(ctx: NodeContext, *, contact: bool) -> Receipt:
    return ctx.intake.submit(ReportInput(
        reporter_role="survivor", consent=Consent(care=True, contact=contact),
        contact=ContactPreference(method="phone_call", details="see SMS")),
        DataKey.generate(), [], "test")


async def open_report(site: TestClient[Any, Any], r: Receipt) -> str:
    site.session.cookie_jar.clear()
    page = await site.get("/en/receipt")
    token = csrf_of(await page.text())
    done = await site.post("/en/receipt", data={"csrf": token, "receipt": r.code,
                                                "secret": r.secret}, allow_redirects=False)
    assert done.status == 303
    page = await site.get("/en/receipt/report")
    html = await page.text()
    assert "/en/receipt/sms" in html  # the report page links to the PIN page
    return csrf_of(html)


async def set_pin(site: TestClient[Any, Any], r: Receipt, **form: str) -> tuple[int, str]:
    csrf = await open_report(site, r)
    page = await site.get("/en/receipt/sms")
    assert page.status == 200
    done = await site.post("/en/receipt/sms", data={"csrf": csrf, **form},
                           allow_redirects=False)
    return done.status, await done.text()


def signed(url: str, form: dict[str, str], token: str = TOKEN) -> str:
    data = url + "".join(k + v for k, v in sorted(form.items()))
    return base64.b64encode(hmac.new(token.encode(), data.encode(), hashlib.sha1).digest()
                            ).decode()


async def sms(site: TestClient[Any, Any], body: str, *, secret: str = SECRET,
              token: str | None = TOKEN, sender: str = PHONE) -> tuple[int, str]:
    form = {"From": sender, "To": "+15005550006", "Body": body, "MessageSid": "SM1"}
    path = f"/sms/{secret}"
    headers = {}
    if token is not None:
        headers["X-Twilio-Signature"] = signed(str(site.make_url(path)), form, token)
    r = await site.post(path, data=form, headers=headers)
    return r.status, await r.text()


def message_of(twiml: str) -> str:
    found = re.fullmatch(r'<\?xml version="1.0" encoding="UTF-8"\?><Response>'
                         r"(?:<Message>(.*)</Message>)?</Response>", twiml, re.S)
    assert found is not None, twiml
    return found.group(1) or ""


def snapshot(ctx: NodeContext) -> list[tuple[str, int]]:
    conn = ctx.db.read()
    tables = [row[0] for row in conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")]
    return [(t, conn.execute(f'SELECT COUNT(*) FROM "{t}"').fetchone()[0])
            for t in sorted(tables)]


async def test_status_by_sms_with_the_pin_only(site: TestClient[Any, Any],
                                               sms_ctx: NodeContext,
                                               caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    # without an opened receipt the PIN page is refused like every receipt page
    for method in ("get", "post"):
        refused = await getattr(site, method)("/en/receipt/sms", allow_redirects=False)
        assert refused.status in (400, 403), (method, refused.status)
    r = report(sms_ctx, contact=False)
    status, _ = await set_pin(site, r, pin=PIN, pin2=PIN)
    assert status == 303
    status, body = await sms(site, f"status {r.code[:4]} {r.code[4:]} {PIN}")
    assert status == 200
    text = message_of(body)
    assert text == "Status: Received. Trained staff will read it soon.\nNo new message."
    assert r.secret not in body
    # a wrong PIN, an unknown receipt and a stray text get a clear reply
    assert message_of((await sms(site, f"STATUS {r.code} 000000"))[1]) == (
        "Receipt number or PIN not recognised.")
    assert message_of((await sms(site, f"STATUS 1234567890 {PIN}"))[1]) == (
        "Receipt number or PIN not recognised.")
    assert message_of((await sms(site, "hello?"))[1]) == (
        "To check your report, send STATUS, your receipt number and your PIN.")
    # wrong PINs stop after a few: then even the right one waits
    for _ in range(5):
        await sms(site, f"STATUS {r.code} 111111")
    assert message_of((await sms(site, f"STATUS {r.code} {PIN}"))[1]) == (
        "Too many tries. Please try again later.")
    # neither the number, the PIN nor the receipt in the node's logs (the test server's own
    # access log is aiohttp's; the node serves with one that logs route patterns only)
    logged = "\n".join(x.getMessage() for x in caplog.records if x.name != "aiohttp.access")
    for needle in (PHONE, PHONE[1:], PIN, r.code, SECRET):
        assert needle not in logged


async def test_the_pin_form_refuses_bad_pins(site: TestClient[Any, Any],
                                             sms_ctx: NodeContext) -> None:
    r = report(sms_ctx, contact=False)
    for pin, again in (("1234", "1234"), ("123456", "654321"), ("abcdef", "abcdef")):
        status, html = await set_pin(site, r, pin=pin, pin2=again)
        assert status == 400 and "The PIN must be exactly 6 digits" in html
    # a notice without contact consent is refused, clearly
    status, html = await set_pin(site, r, pin=PIN, pin2=PIN, notify="yes", phone=PHONE)
    assert status == 400 and "needs your agreement to be contacted" in html
    assert sms_ctx.db.read().execute("SELECT COUNT(*) FROM sms_status_pins").fetchone()[0] == 0


async def staff_message(ctx: NodeContext, aiohttp_client: Any, team: Team,
                        report_id: str) -> Any:
    app = create_app(ctx, {"staff"})
    client = await aiohttp_client(app)
    session = app[appkeys.STAFF_SESSIONS].new(team.coordinator)
    client.session.cookie_jar.update_cookies({STAFF_COOKIE: session.id})
    done = await client.post(f"/staff/cases/{report_id}/messages",
                             data={"csrf": session.csrf, "text": "please call us"},
                             allow_redirects=False)
    assert done.status == 303
    return app


async def test_a_waiting_message_is_announced_harmlessly(
        site: TestClient[Any, Any], sms_ctx: NodeContext, twilio: Twilio,
        aiohttp_client: Any) -> None:
    from node.channels.sms_sender import NOTICES

    team = make_team(sms_ctx)
    r = report(sms_ctx, contact=True)
    status, _ = await set_pin(site, r, pin=PIN, pin2=PIN, notify="yes", phone=PHONE)
    assert status == 303
    app = await staff_message(sms_ctx, aiohttp_client, team, r.report_id)
    await app[NOTICES].idle()
    assert twilio.sent == [{"To": PHONE, "From": "+15005550006", "Body": NOTICE}]
    assert twilio.auth == ["Basic " + base64.b64encode(b"AC123:sender-token-123").decode()]
    assert message_of((await sms(site, f"STATUS {r.code} {PIN}"))[1]).endswith(
        "A message is waiting: read it on the site.")
    # the number is kept encrypted only
    sms_ctx.db.shred_wal()
    assert files_containing(sms_ctx.datadir.root, PHONE.encode()) == []
    assert files_containing(sms_ctx.datadir.root, PHONE[1:].encode()) == []

    # contact consent withdrawn: no notice any more
    csrf = await open_report(site, r)
    done = await site.post("/en/receipt/consent", data={"csrf": csrf, "consent": ["care"]},
                           allow_redirects=False)
    assert done.status == 303
    app = await staff_message(sms_ctx, aiohttp_client, team, r.report_id)
    await app[NOTICES].idle()
    assert len(twilio.sent) == 1
    # a PIN without the opt-in: no notice either
    other = report(sms_ctx, contact=True)
    assert (await set_pin(site, other, pin=PIN, pin2=PIN))[0] == 303
    app = await staff_message(sms_ctx, aiohttp_client, team, other.report_id)
    await app[NOTICES].idle()
    assert len(twilio.sent) == 1


async def test_bad_signature_or_secret_is_refused_and_stores_nothing(
        site: TestClient[Any, Any], sms_ctx: NodeContext) -> None:
    r = report(sms_ctx, contact=False)
    assert (await set_pin(site, r, pin=PIN, pin2=PIN))[0] == 303
    before = snapshot(sms_ctx)
    body = f"STATUS {r.code} {PIN}"
    assert (await sms(site, body, token="not-the-token"))[0] == 403
    assert (await sms(site, body, token=None))[0] == 403
    assert (await sms(site, body, secret="x" * len(SECRET)))[0] == 404
    # one flipped bit of a valid signature
    form = {"From": PHONE, "To": "+1", "Body": body}
    good = base64.b64decode(signed(str(site.make_url(f"/sms/{SECRET}")), form))
    flipped = base64.b64encode(bytes([good[0] ^ 1]) + good[1:]).decode()
    resp = await site.post(f"/sms/{SECRET}", data=form,
                           headers={"X-Twilio-Signature": flipped})
    assert resp.status == 403
    assert snapshot(sms_ctx) == before


def test_twilio_signature_and_twiml() -> None:
    params = [("To", "+1"), ("Body", "a b"), ("From", "+2")]
    sig = sms_messages.twilio_signature("tok", "https://x.example/sms/s", params)
    assert sms_messages.signature_ok("tok", "https://x.example/sms/s", list(reversed(params)),
                                     sig)
    assert not sms_messages.signature_ok("tok", "https://x.example/sms/t", params, sig)
    assert not sms_messages.signature_ok("tok", "https://x.example/sms/s", params, None)
    assert sms_messages.twiml("a < b & c") == (
        '<?xml version="1.0" encoding="UTF-8"?><Response><Message>a &lt; b &amp; c'
        "</Message></Response>")
    assert sms_messages.parse("Status 4831-0299-51 123456", "STATUS") == (
        sms_messages.StatusRequest("4831029951", "123456"))
    assert sms_messages.parse("STATUS 123456", "STATUS") is None
    assert sms_messages.parse("STOP 4831029951 123456", "STATUS") is None


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=400))
def test_parse_takes_any_text(body: str) -> None:
    asked = sms_messages.parse(body, "STATUS")
    assert asked is None or (asked.receipt.isdigit() and asked.pin.isdigit())


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=st.text(max_size=200), sender=st.text(max_size=80))
async def test_any_signed_sms_gets_a_reply_never_a_500(site: TestClient[Any, Any],
                                                       body: str, sender: str) -> None:
    status, twiml = await sms(site, body, sender=sender)
    assert status == 200
    message_of(twiml)


async def test_a_pin_set_by_ussd_answers_by_sms(tmp_path: Path, twilio: Twilio,
                                                aiohttp_client: Any) -> None:
    ussd_secret = "ussd-test-secret-0123456789abcdef"
    config = base_config() + f'\n[ussd]\ncallback_secret = "{ussd_secret}"\n' + sms_section(
        twilio.url)
    datadir = make_node(tmp_path / "both", config)
    ctx = open_node(datadir, staff_params=pw.INSECURE_FAST_FOR_TESTS,
                    receipt_params=pw.INSECURE_FAST_FOR_TESTS)
    try:
        client: TestClient[Any, Any] = await aiohttp_client(create_app(ctx, {"public"}))
        r = report(ctx, contact=False)

        async def ussd(text: str, session: str = "ATpin") -> str:
            resp = await client.post(f"/ussd/{ussd_secret}", data={
                "sessionId": session, "serviceCode": "*1#", "phoneNumber": PHONE,
                "networkCode": "63902", "text": text})
            assert resp.status == 200
            return await resp.text()

        check = f"1*1*2*{r.code}*{r.secret}"
        status = await ussd(check)
        # the node sends SMS: the PIN, the notices and a new secret are under "More"
        # (issue 19)
        assert status.startswith("CON Status: ") and status.endswith("\n1 More")
        assert await ussd(check + "*1") == ("CON 1 PIN for SMS status\n"
                                            "2 SMS when a message waits\n3 New secret")
        assert await ussd(check + "*1*1") == "CON Type a PIN of 6 digits:"
        assert await ussd(check + f"*1*1*{PIN}") == "CON Type the same PIN again:"
        done = await ussd(check + f"*1*1*{PIN}*{PIN}")
        assert done == ("END PIN saved. By SMS, send STATUS, your receipt number and the "
                        "PIN.")
        text = message_of((await sms(client, f"STATUS {r.code} {PIN}"))[1])
        assert text.startswith("Status: Received.")
        # a wrong secret sets nothing
        wrong = f"1*1*2*{r.code}*{receipt.new_secret()}*1*1*{PIN}*{PIN}"
        resp = await client.post(f"/ussd/{ussd_secret}", data={
            "sessionId": "ATwrong", "serviceCode": "*1#", "phoneNumber": PHONE,
            "networkCode": "63902", "text": wrong})
        assert await resp.text() == "END Receipt or secret not recognised."

        # SMS notices by USSD (issue 19): only with consent to be contacted ...
        refused = await ussd(check + "*1*2*1", "ATnotice0")
        assert refused == "END First agree to be contacted, on the site. Nothing was changed."
        assert [h["sms_notice"] for h in ctx.intake.consent_history(r.report_id)] == [0]
        # ... then on, to the number dialling, as consent data with its history
        other = report(ctx, contact=True)
        check = f"1*1*2*{other.code}*{other.secret}"
        assert await ussd(check + "*1*2", "ATnotice1") == (
            "CON Send you an SMS when a message waits? It never says what.\n1 Yes\n2 No")
        assert await ussd(check + "*1*2*1", "ATnotice1") == (
            "END Saved. An SMS will tell you when a message waits. It never says what.")
        history = ctx.intake.consent_history(other.report_id)
        assert [(h["source"], h["sms_notice"], h["contact"]) for h in history] == [
            ("report", 0, 1), ("ussd", 1, 1)]
        assert sms_pins.has_pin(ctx.db, other.report_id) == (False, True)  # no PIN needed
        team = make_team(ctx)
        app = await staff_message(ctx, aiohttp_client, team, other.report_id)
        await app[NOTICES].idle()
        assert twilio.sent == [{"To": PHONE, "From": "+15005550006", "Body": NOTICE}]
        ctx.db.shred_wal()
        assert files_containing(ctx.datadir.root, PHONE[1:].encode()) == []
        # a consent change on the site, which does not ask about notices, keeps it
        access = ctx.intake.open_receipt(other.code, other.secret)
        ctx.intake.change_consent(access, Consent(care=True, contact=True))
        assert ctx.intake.view_for_reporter(access).consent.sms_notice
        # ... and off again by USSD: recorded, and the number is gone
        assert await ussd(check + "*1*2*2", "ATnotice2") == (
            "END Saved. No more SMS when a message waits.")
        assert [h["sms_notice"] for h in ctx.intake.consent_history(other.report_id)] == [
            0, 1, 1, 0]
        assert sms_pins.has_pin(ctx.db, other.report_id) == (False, False)
        assert ctx.db.read().execute("SELECT COUNT(*) FROM sms_status_pins WHERE report_id"
                                     " = ?", (other.report_id,)).fetchone()[0] == 0
        app = await staff_message(ctx, aiohttp_client, team, other.report_id)
        await app[NOTICES].idle()
        assert len(twilio.sent) == 1
    finally:
        ctx.close()
