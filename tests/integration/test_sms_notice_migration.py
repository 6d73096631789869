"""Migration 31 (issue 19) on the schema-18 fixture: the SMS notice becomes consent data.
A notice turned on before (a row with the number, no consent column then) has the
reporter's yes recorded in the consent history once, at the next start, and the notice
still goes; the PIN's tag may now be empty (a notice needs no PIN)."""

from __future__ import annotations

from pathlib import Path

from crypto import passphrase as pw
from node.channels import sms_pins
from node.context import NodeContext, open_node
from node.datadir import DataDir
from node.storage.migrations import MIGRATIONS
from tests.integration.test_schema18_fixture import copy_fixture18

PHONE = "+243990001234"


def opened(datadir: DataDir) -> NodeContext:
    return open_node(datadir, staff_params=pw.INSECURE_FAST_FOR_TESTS,
                     receipt_params=pw.INSECURE_FAST_FOR_TESTS)


def test_notices_turned_on_before_become_consent(tmp_path: Path) -> None:
    datadir, answers = copy_fixture18(tmp_path)
    code, secret = str(answers["canary_receipt"]), str(answers["canary_secret"])
    ctx = opened(datadir)
    try:
        conn = ctx.db.read()
        assert conn.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
        columns = {r[1]: r[3] for r in conn.execute("PRAGMA table_info(sms_status_pins)")}
        assert columns["pin_tag"] == 0  # nullable now
        assert "consent_sms_notice" in {r[1] for r in conn.execute("PRAGMA table_info(reports)")}
        access = ctx.intake.open_receipt(code, secret)
        before = ctx.intake.consent_history(access.report_id)
        assert all(h["sms_notice"] == 0 for h in before)
        # as the receipt page stored an opt-in before migration 31: the row, no consent
        with ctx.db.write() as w:
            w.execute("INSERT INTO sms_status_pins (report_id, pin_tag, lang, notify,"
                      " phone_ct, set_at) VALUES (?, ?, 'fr', 1, ?, 0)",
                      (access.report_id, b"\1" * 32, access.data_key.encrypt(
                          PHONE.encode(), sms_pins._phone_context(access.report_id))))
            w.execute("INSERT INTO node_meta (key, value) VALUES (?, X'3331')",
                      (sms_pins.PENDING,))
            contact = w.execute("SELECT consent_contact FROM reports WHERE id = ?",
                                (access.report_id,)).fetchone()[0]
    finally:
        ctx.close()
    for _ in range(2):  # recorded once: the flag is gone after the first start
        ctx = opened(datadir)
        try:
            history = ctx.intake.consent_history(access.report_id)
            assert len(history) == len(before) + 1
            assert (history[-1]["source"], history[-1]["sms_notice"]) == ("sms_notice", 1)
            conn = ctx.db.read()
            assert conn.execute("SELECT 1 FROM node_meta WHERE key = ?",
                                (sms_pins.PENDING,)).fetchone() is None
            number = sms_pins.notice_number(conn, ctx.intake.consent, access.report_id,
                                            access.data_key)
            assert number == (PHONE if contact else None)
        finally:
            ctx.close()
