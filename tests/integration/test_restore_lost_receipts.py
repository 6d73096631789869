"""After a restore, receipts of reports acknowledged after the backup open nothing: the
reporter gets an honest answer ("a report sent on or after <the backup's day> may have been
lost; please report again") instead of a bare "not found" (issue 21). The same answer goes
to every receipt that opens nothing during the stated period -- an unknown code, a wrong
secret, a lost report alike -- so it tells nothing about which receipts existed; before any
restore, and after the period, the answer is the usual one. Real data directories, a real
archive, the reporter's page on a real aiohttp server in every language."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from babel.dates import format_date

from crypto import passphrase as pw
from crypto import receipt
from crypto.keys import DataKey
from node import errors
from node.backups import make, restore, restore_state
from node.context import NodeContext, init_node, open_node
from node.datadir import DataDir
from node.intake.models import Consent, ReportInput
from node.web.app import create_app
from tests.conftest import ADMIN, ADMIN_PASSPHRASE
from tests.conftest import test_config as config_text
from tests.integration.conftest import csrf_of

FAST = pw.INSECURE_FAST_FOR_TESTS


def _submit(ctx: NodeContext, text: str) -> tuple[str, str]:
    r = ctx.intake.submit(ReportInput(narrative=text, region="R1", consent=Consent(legal=True)),
                          DataKey.generate(), [], "test")
    return r.code, r.secret


def _open(datadir: DataDir, clock: Callable[[], datetime] | None = None) -> NodeContext:
    if clock is None:
        return open_node(datadir, staff_params=FAST, receipt_params=FAST)
    return open_node(datadir, staff_params=FAST, receipt_params=FAST, clock=clock)


@pytest.fixture
def restored(tmp_path: Path) -> tuple[DataDir, DataDir, tuple[str, str], tuple[str, str], int]:
    """A node backed up with one report, then given another; and its restore."""
    live = DataDir(tmp_path / "live")
    recovery = init_node(live, ADMIN, ADMIN_PASSPHRASE, config_text(), FAST).recovery_key
    ctx = _open(live)
    try:
        kept = _submit(ctx, "before the backup")
        made = make.make(live, tmp_path / "node.bkp")
        lost = _submit(ctx, "after the backup")
    finally:
        ctx.close()
    done = restore.restore(made.path, tmp_path / "restored", recovery, staff_params=FAST,
                           receipt_params=FAST)
    return live, DataDir(tmp_path / "restored"), kept, lost, done.created_at


def test_every_receipt_that_opens_nothing_gets_the_same_honest_answer(
        restored: tuple[DataDir, DataDir, tuple[str, str], tuple[str, str], int]) -> None:
    live, datadir, kept, lost, made_at = restored
    backup_day = datetime.fromtimestamp(made_at, UTC).date()
    ctx = _open(datadir)
    try:
        assert ctx.intake.open_receipt(*kept).report_id  # made before the backup: still there
        answers = []
        for code, secret in (lost, (kept[0], lost[1]), _fresh_receipt(ctx)):
            with pytest.raises(errors.ReceiptMaybeLost) as caught:
                ctx.intake.open_receipt(code, secret)
            answers.append((type(caught.value), caught.value.message, caught.value.params))
        # the lost report, a wrong secret and a code never issued: one and the same answer
        assert answers[0] == answers[1] == answers[2]
        assert answers[0][2] == {"since": backup_day}
    finally:
        ctx.close()
    # the live node was never restored: the usual answer there
    ctx = _open(live)
    try:
        with pytest.raises(errors.ReceiptRejected) as caught:
            ctx.intake.open_receipt(*_fresh_receipt(ctx))
        assert type(caught.value) is errors.ReceiptRejected
    finally:
        ctx.close()


def test_after_the_stated_period_the_answer_is_the_usual_one(
        restored: tuple[DataDir, DataDir, tuple[str, str], tuple[str, str], int]) -> None:
    _, datadir, _, lost, _ = restored
    later = datetime.now(UTC) + timedelta(days=restore_state.LOST_NOTICE_DAYS + 1)
    ctx = _open(datadir, clock=lambda: later)
    try:
        with pytest.raises(errors.ReceiptRejected) as caught:
            ctx.intake.open_receipt(*lost)
        assert type(caught.value) is errors.ReceiptRejected
    finally:
        ctx.close()


def _fresh_receipt(ctx: NodeContext) -> tuple[str, str]:
    """A well-formed receipt this node never issued."""
    while True:
        code = receipt.new_receipt_code()
        index = ctx.keys.receipt_index.index(receipt.normalize_receipt_code(code))
        if ctx.db.read().execute("SELECT 1 FROM reports WHERE receipt_index = ?",
                                 (index,)).fetchone() is None:
            return code, receipt.new_secret()


@pytest.mark.parametrize("lang", ["en", "fr", "ar", "sw", "uk"])
async def test_the_reporter_page_says_so_in_her_language(
        restored: tuple[DataDir, DataDir, tuple[str, str], tuple[str, str], int], lang: str,
        aiohttp_client: Callable[..., Awaitable[TestClient[Any, Any]]]) -> None:
    _, datadir, _, lost, made_at = restored
    ctx = _open(datadir)
    try:
        client = await aiohttp_client(create_app(ctx))
        r = await client.get(f"/{lang}/receipt")
        token = csrf_of(await r.text())
        r = await client.post(f"/{lang}/receipt", data={"csrf": token, "receipt": lost[0],
                                                        "secret": lost[1]})
        html = await r.text()
        assert r.status == 403
        day = format_date(datetime.fromtimestamp(made_at, UTC).date(), format="long",
                          locale=lang)
        assert day in html
        if lang != "en":
            assert "may have been lost" not in html  # translated
        else:
            assert "may have been lost" in html
        r = await client.post("/api/v1/reports/status",
                              json={"receipt": lost[0], "secret": lost[1]},
                              headers={"Accept-Language": lang})
        body = await r.json()
        assert r.status == 403 and body["error"]["code"] == "receipt_maybe_lost"
        assert day in body["error"]["message"]
    finally:
        ctx.close()
