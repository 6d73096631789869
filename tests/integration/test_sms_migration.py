"""Migration of issue 19 (SMS status PINs) on the schema-18 fixture: the table arrives
empty, a PIN set on an upgraded report answers, and deleting the report erases it."""

from __future__ import annotations

from pathlib import Path

from crypto import passphrase as pw
from node import accounts
from node.channels import sms_pins
from node.context import open_node
from node.storage.migrations import MIGRATIONS
from tests.integration.test_schema18_fixture import copy_fixture18


def test_pins_on_an_upgraded_node(tmp_path: Path) -> None:
    datadir, answers = copy_fixture18(tmp_path)
    ctx = open_node(datadir, staff_params=pw.INSECURE_FAST_FOR_TESTS,
                    receipt_params=pw.INSECURE_FAST_FOR_TESTS)
    try:
        conn = ctx.db.read()
        assert conn.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
        assert conn.execute("SELECT COUNT(*) FROM sms_status_pins").fetchone()[0] == 0
        code, secret = str(answers["canary_receipt"]), str(answers["canary_secret"])
        access = ctx.intake.open_receipt(code, secret)
        sms_pins.set_pin(ctx.db, ctx.keys.receipt_index, ctx.intake, access.report_id,
                         access.data_key, sms_pins.Choice("246810", "fr", False, None), 0)
        found = sms_pins.status(ctx.db, ctx.keys.receipt_index, code, "246810")
        assert found is not None and found.lang == "fr"
        assert sms_pins.status(ctx.db, ctx.keys.receipt_index, code, "246811") is None
        admin = accounts.unlock(conn, str(answers["admin"]), str(answers["passphrase"]))
        ctx.deletion.by_staff(admin, access.report_id, "duplicate")
        assert ctx.db.read().execute("SELECT COUNT(*) FROM sms_status_pins").fetchone()[0] == 0
    finally:
        ctx.close()
