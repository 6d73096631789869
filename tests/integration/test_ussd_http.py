"""The USSD callback (issue 19) driven over HTTP exactly as a gateway drives it: one form
POST a step with every answer so far joined by ``*``, ``CON``/``END`` plain-text replies.
The receipt of the last screen works on the web status page; the phone number and the
answers never reach the data directory or the logs; an unauthenticated callback creates
nothing; no input gives a 500."""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crypto import passphrase as pw
from node import errors
from node.context import NodeContext, open_node
from node.datadir import DataDir
from node.web.app import create_app
from tests.conftest import files_containing, make_node
from tests.conftest import test_config as base_config
from tests.integration.conftest import csrf_of

SECRET = "ussd-test-secret-0123456789abcdef"
CODE = "*384*1234#"
PHONE = "+243990007321"
USSD = f"""
[ussd]
callback_secret = "{SECRET}"
service_codes = ["{CODE}"]
"""
# warning, English, report, survivor, medical+legal, region 1, care yes, referral yes,
# legal no, statistics yes, sharing no, contact yes, evening, send
REPORT = ["1", "1", "1", "1", "13", "1", "1", "1", "2", "1", "2", "1", "3", "1"]


def reports(ctx: NodeContext) -> int:
    n: int = ctx.db.read().execute("SELECT count(*) FROM reports").fetchone()[0]
    return n


@pytest.fixture
def ussd_dir(tmp_path: Path) -> DataDir:
    return make_node(tmp_path / "node", base_config() + USSD)


@pytest.fixture
def ussd_ctx(ussd_dir: DataDir) -> Iterator[NodeContext]:
    ctx = open_node(ussd_dir, staff_params=pw.INSECURE_FAST_FOR_TESTS,
                    receipt_params=pw.INSECURE_FAST_FOR_TESTS)
    yield ctx
    ctx.close()


@pytest.fixture
async def gw(ussd_ctx: NodeContext,
             aiohttp_client: Callable[..., Awaitable[TestClient[Any, Any]]]
             ) -> AsyncIterator[TestClient[Any, Any]]:
    yield await aiohttp_client(create_app(ussd_ctx))


async def step(client: TestClient[Any, Any], answers: list[str], *, session: str = "ATs1",
               code: str = CODE, phone: str = PHONE, secret: str = SECRET) -> tuple[int, str]:
    r = await client.post(f"/ussd/{secret}", data={
        "sessionId": session, "serviceCode": code, "phoneNumber": phone,
        "networkCode": "63902", "text": "*".join(answers)})
    body = await r.text()
    if r.status == 200:
        assert r.content_type == "text/plain"
        assert body.startswith(("CON ", "END "))
    return r.status, body


async def full_session(client: TestClient[Any, Any], answers: list[str],
                       session: str = "ATs1") -> str:
    for i in range(len(answers)):
        status, body = await step(client, answers[:i], session=session)
        assert status == 200 and body.startswith("CON "), (i, body)
    status, body = await step(client, answers, session=session)
    assert status == 200 and body.startswith("END "), body
    return body


def receipt_of(body: str) -> tuple[str, str]:
    code = re.search(r"Receipt: ([0-9 -]+)", body)
    secret = re.search(r"Secret: ([0-9 -]+)", body)
    assert code and secret, body
    return code.group(1).strip(), secret.group(1).strip()


async def test_a_session_gives_a_receipt_that_works_on_the_site(
        gw: TestClient[Any, Any], ussd_ctx: NodeContext, ussd_dir: DataDir,
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    body = await full_session(gw, REPORT)
    code, secret = receipt_of(body)
    assert reports(ussd_ctx) == 1
    # the gateway retries the last step (its answer was lost): same screen, no second report
    assert (await step(gw, REPORT)) == (200, body)
    assert reports(ussd_ctx) == 1
    # the receipt works on the web status page
    r = await gw.get("/en/receipt")
    token = csrf_of(await r.text())
    r = await gw.post("/en/receipt", data={"csrf": token, "receipt": code, "secret": secret},
                      allow_redirects=False)
    assert r.status == 303
    r = await gw.get("/en/receipt/report")
    html = await r.text()
    assert r.status == 200 and 'id="status"' in html
    # the report holds the answers, the phone number only as encrypted contact details
    row = ussd_ctx.db.read().execute("SELECT id FROM reports").fetchone()
    access = ussd_ctx.intake.open_receipt(code, secret)
    view = ussd_ctx.intake.view_for_reporter(access)
    assert view.report.reporter_role == "survivor" and view.report.region == "R1"
    assert set(view.report.needs) == {"medical", "legal"}
    assert view.report.contact is not None and view.report.contact.details == PHONE
    assert view.report.consent.care and not view.report.consent.legal
    assert row is not None
    # check my report, by USSD: status and whether a message waits
    check = ["1", "1", "2", code.replace(" ", ""), secret.replace(" ", "")]
    status, last = await step(gw, check, session="ATs2")
    assert status == 200 and last.startswith("CON Status:") and "No new message." in last
    # ... and a new secret (issue 19), shown on the last screen: the old one opens nothing
    assert last.endswith("\n1 New secret")
    renewed = await full_session(gw, [*check, "1", "1"], session="ATs3")
    shown = re.search(r"New secret: ([0-9 ]+)\n", renewed)
    assert shown and "replace it on the site" in renewed, renewed
    new_secret = shown.group(1).strip()
    with pytest.raises(errors.ReceiptRejected):
        ussd_ctx.intake.open_receipt(code, secret)
    assert ussd_ctx.intake.view_for_reporter(
        ussd_ctx.intake.open_receipt(code, new_secret)).report.region == "R1"
    assert await step(gw, check, session="ATs4") == (
        200, "END Receipt or secret not recognised.")
    # canary: neither the phone number nor the answers in plaintext at rest or in logs
    ussd_ctx.db.shred_wal()
    # the test server's access log is aiohttp's; the node serves with one that logs the
    # route's pattern (`runtime.logs.PrivacyAccessLogger`), never the path's secret
    logged = "\n".join(r.getMessage() for r in caplog.records if r.name != "aiohttp.access")
    for needle in (PHONE, PHONE[1:], "*".join(REPORT), secret, new_secret,
                   new_secret.replace(" ", "")):
        assert files_containing(ussd_dir.root, needle.encode()) == []
        assert needle not in logged
    assert SECRET not in logged


async def test_without_contact_consent_the_number_is_not_kept(
        gw: TestClient[Any, Any], ussd_ctx: NodeContext, ussd_dir: DataDir) -> None:
    # witness, skip needs and region, no to every consent, no call back, send
    body = await full_session(gw, ["1", "1", "1", "3", "6", "9", "2", "2", "2", "2", "2",
                                   "2", "1"])
    code, secret = receipt_of(body)
    view = ussd_ctx.intake.view_for_reporter(ussd_ctx.intake.open_receipt(code, secret))
    assert view.report.contact is None or view.report.contact.details is None
    ussd_ctx.db.shred_wal()
    assert files_containing(ussd_dir.root, PHONE.encode()) == []


async def test_stop_back_and_cancel_keep_nothing(gw: TestClient[Any, Any],
                                                 ussd_ctx: NodeContext) -> None:
    # skipping every question sends nothing: a report needs at least one answer
    empty = ["1", "1", "1", "4", "6", "9", "2", "2", "2", "2", "2", "2", "1"]
    assert (await step(gw, empty, session="ATe")) == (
        200, "END You gave no answer, so nothing was sent.")
    assert await step(gw, ["1", "1", "00"]) == (200, "END Stopped. Nothing was kept.")
    assert await step(gw, [*REPORT[:-1], "2"], session="ATc") == (
        200, "END Cancelled. Nothing was kept.")
    status, body = await step(gw, ["1", "1", "1", "0"], session="ATb")  # back to the main menu
    assert status == 200 and body.startswith("CON ") and "Make a report" in body
    # an abandoned session (the gateway just stops calling) left nothing either
    await step(gw, REPORT[:8], session="ATs9")
    assert reports(ussd_ctx) == 0


async def test_unauthenticated_callbacks_create_nothing(gw: TestClient[Any, Any],
                                                        ussd_ctx: NodeContext) -> None:
    for i in range(len(REPORT) + 1):
        status, _ = await step(gw, REPORT[:i], secret="x" * len(SECRET))
        assert status == 404
    status, body = await step(gw, REPORT, code="*999#")
    assert (status, body) == (200, "END This service code is not in use.")
    assert reports(ussd_ctx) == 0


async def test_an_allow_list_refuses_other_addresses(
        tmp_path: Path, aiohttp_client: Callable[..., Awaitable[TestClient[Any, Any]]]
        ) -> None:
    datadir = make_node(tmp_path / "n", base_config() + USSD.replace(
        "[ussd]", '[ussd]\nallowed_addresses = ["192.0.2.7"]'))
    ctx = open_node(datadir, staff_params=pw.INSECURE_FAST_FOR_TESTS,
                    receipt_params=pw.INSECURE_FAST_FOR_TESTS)
    try:
        client = await aiohttp_client(create_app(ctx))
        assert (await step(client, []))[0] == 404  # right secret, wrong address
    finally:
        ctx.close()


def test_the_section_needs_a_secret_or_addresses() -> None:
    from pydantic import ValidationError

    from node.channels.ussd_config import UssdConfig

    with pytest.raises(ValidationError):
        UssdConfig()
    assert UssdConfig(allowed_addresses=["192.0.2.7"]).callback_secret is None


FIELD = st.one_of(st.text(max_size=80), st.sampled_from(["", "*", "**", "1*", "*1", "00",
                                                         "0*0*0", "1*1*1*1*99", "#"]))


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=FIELD, code=st.sampled_from([CODE, "", "*1#", "x" * 70]),
       phone=st.text(max_size=70), session=st.text(max_size=70))
async def test_any_form_gets_a_screen_never_a_500(gw: TestClient[Any, Any], text: str,
                                                  code: str, phone: str,
                                                  session: str) -> None:
    r = await gw.post(f"/ussd/{SECRET}", data={
        "sessionId": session, "serviceCode": code, "phoneNumber": phone,
        "networkCode": "63902", "text": text})
    assert r.status == 200
    assert (await r.text()).startswith(("CON ", "END "))


async def test_malformed_requests_get_a_safe_end(gw: TestClient[Any, Any]) -> None:
    r = await gw.post(f"/ussd/{SECRET}", data={"text": "1"})
    assert r.status == 200 and (await r.text()).startswith("END ")
    r = await gw.post(f"/ussd/{SECRET}", data=b"\xff\xfe", headers={
        "Content-Type": "application/x-www-form-urlencoded"})
    assert r.status == 200 and (await r.text()).startswith("END ")
