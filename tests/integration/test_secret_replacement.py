"""The reporter replaces their receipt secret on the receipt page (issue 19): the old
secret opens nothing afterwards, the new one opens the report, its messages and files,
before and after a rotation of the case key; the secret is in no file and no log."""

from __future__ import annotations

import logging
import re
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestClient

from crypto import receipt
from crypto.keys import DataKey
from node import errors
from node.context import NodeContext
from node.datadir import DataDir
from node.demo import tiny_png
from node.intake.models import Consent, ReportInput
from node.intake.secret_replacement import CUSTODY_ACTION
from node.intake.service import Receipt
from tests.conftest import CANARY, files_containing
from tests.integration.conftest import csrf_of
from tests.team import make_team

SHOWN = re.compile(r'id="receipt-secret">([0-9 ]+)<')


def submit(ctx: NodeContext) -> Receipt:
    key = DataKey.generate()
    w = ctx.intake.attachment_writer(key, ctx.intake.allowance(), "before.png")
    w.feed(tiny_png(1) + CANARY.encode())
    return ctx.intake.submit(ReportInput(narrative=f"{CANARY} what happened", consent=Consent(
        care=True, referral=True)), key, [w.finish()], "test")


async def replace_on_site(client: TestClient[Any, Any], code: str, secret: str) -> str:
    """Open the receipt with `secret`, ask for a new one; returns it as shown."""
    r = await client.get("/en/receipt")
    r = await client.post("/en/receipt", data={"csrf": csrf_of(await r.text()),
                                               "receipt": code, "secret": secret},
                          allow_redirects=False)
    assert r.status == 303
    r = await client.get("/en/receipt/report")
    html = await r.text()
    assert 'action="/en/receipt/secret"' in html
    r = await client.post("/en/receipt/secret", data={"confirm": "yes"})
    assert r.status == 403  # no CSRF token: refused, nothing replaced
    r = await client.post("/en/receipt/secret", data={"csrf": csrf_of(html), "confirm": "yes"})
    page = await r.text()
    assert r.status == 200 and "only once" in page
    m = SHOWN.search(page)
    assert m is not None
    new = receipt.normalize_secret(m.group(1))
    assert new != receipt.normalize_secret(secret) and len(new) == len(
        receipt.normalize_secret(secret))
    return new


def reads_everything(ctx: NodeContext, r: Receipt, secret: str, messages: list[str],
                     generation: int) -> None:
    access = ctx.intake.open_receipt(r.code, secret)
    assert access.data_key.generation == generation
    view = ctx.intake.view_for_reporter(access)
    assert str(view.record["narrative"]).startswith(CANARY)
    [item] = [i for i in view.items if i.kind == "attachment"]
    _meta, chunks = ctx.intake.open_attachment_with_key(access.data_key, r.report_id, item.id)
    assert b"".join(chunks).endswith(CANARY.encode())
    assert [m.body["text"] for m in ctx.conversations.for_reporter(
        r.report_id, access.data_key)] == messages


def refused(ctx: NodeContext, r: Receipt, secret: str) -> None:
    with pytest.raises(errors.ReceiptRejected):
        ctx.intake.open_receipt(r.code, secret)


async def test_the_old_secret_opens_nothing_and_the_new_one_everything(
        node_ctx: NodeContext, node_dir: DataDir, client: TestClient[Any, Any],
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    ctx = node_ctx
    team = make_team(ctx)
    r = submit(ctx)
    rid = r.report_id
    ctx.case_access.assign(team.coordinator, rid, team.caseworker.member.id)
    ctx.conversations.send(team.caseworker, rid, "before")

    # someone else opened the report with the old secret, on another browser
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as other:
        async with other.get(client.make_url("/en/receipt")) as got:
            token = csrf_of(await got.text())
        async with other.post(client.make_url("/en/receipt"), data={
                "csrf": token, "receipt": r.code, "secret": r.secret}) as got:
            assert got.status == 200 and 'id="status"' in await got.text()
        # generation 0: the receipt wraps it
        second = await replace_on_site(client, r.code, r.secret)
        # ... and is out at once: their open session forgot the report
        async with other.get(client.make_url("/en/receipt/report")) as got:
            assert got.status != 200 and 'id="status"' not in await got.text()
    refused(ctx, r, r.secret)
    reads_everything(ctx, r, second, ["before"], 0)

    # after a rotation the reporter holds generation 1 (sealed to their new key)
    ctx.case_access.unassign(team.coordinator, rid, team.caseworker.member.id)
    ctx.case_access.assign(team.coordinator, rid, team.other_caseworker.member.id)
    assert ctx.case_access.rotate_key(team.coordinator, rid) == 1
    ctx.conversations.send(team.other_caseworker, rid, "after")
    reads_everything(ctx, r, second, ["before", "after"], 1)
    third = await replace_on_site(client, r.code, second)
    for old in (r.secret, second):
        refused(ctx, r, old)
    reads_everything(ctx, r, third, ["before", "after"], 1)
    access = ctx.intake.open_receipt(r.code, third)
    ctx.conversations.reply(rid, access.data_key, "reply")  # written under generation 1
    assert [m.body["text"] for m in ctx.conversations.of_case(
        rid, ctx.case_access.case_key(team.other_caseworker, rid))] == [
        "before", "after", "reply"]

    # one custody entry per replacement, with nothing personal in it
    rows = ctx.db.read().execute(
        "SELECT actor, object_id, detail FROM audit_log WHERE action = ?",
        (CUSTODY_ACTION,)).fetchall()
    assert [tuple(row) for row in rows] == [("reporter", rid, "")] * 2

    # no secret, old or new, in any file of the data directory or in any log line
    for secret in (r.secret, second, third):
        for shown in (secret, receipt.group(secret, 3)):
            assert files_containing(node_dir.root, shown.encode()) == []
            assert shown not in caplog.text

