"""Consent to matching perpetrators across organisations (issue 18) is a consent kind like
the others: after the upgrade of the schema-18 fixture, every existing report has it off and
its consent tag still verifies; its reporter is asked on the receipt page until they save
their choices; giving it goes into the consent history, and the tag covers it (a database
writer who flips it is caught)."""

from __future__ import annotations

from pathlib import Path

import pytest

from crypto import passphrase as pw
from crypto.keys import DataKey
from node.context import NodeContext, open_node
from node.intake.consent_auth import ConsentUnverified
from node.intake.models import Consent, ReportInput
from tests.integration.test_schema18_fixture import copy_fixture18


def test_existing_reports_are_asked_and_the_answer_is_consent_data(tmp_path: Path) -> None:
    datadir, answers = copy_fixture18(tmp_path)
    ctx = open_node(datadir, staff_params=pw.INSECURE_FAST_FOR_TESTS,
                    receipt_params=pw.INSECURE_FAST_FOR_TESTS)
    try:
        conn = ctx.db.read()
        ids = [r[0] for r in conn.execute("SELECT id FROM reports")]
        assert ids
        assert ctx.intake.consent.unverified_reports(conn, ids) == []  # old tags still verify
        assert {r[0] for r in conn.execute("SELECT consent_matching FROM reports")} == {0}
        access = ctx.intake.open_receipt(str(answers["canary_receipt"]),
                                         str(answers["canary_secret"]))
        view = ctx.intake.view_for_reporter(access)
        assert view.consent.matching is False and view.matching_unasked
        ctx.intake.change_consent(access, view.consent.model_copy(update={"matching": True}))
        view = ctx.intake.view_for_reporter(access)
        assert view.consent.matching and not view.matching_unasked
        history = conn.execute("SELECT matching FROM consent_events WHERE report_id = ?"
                               " ORDER BY id", (access.report_id,)).fetchall()
        assert history[-1][0] == 1
        assert ctx.intake.consent.verify(conn, access.report_id)["consent_matching"] == 1
        with ctx.db.write() as w:  # a database writer closes it behind the key's back
            w.execute("UPDATE reports SET consent_matching = 0 WHERE id = ?",
                      (access.report_id,))
        with pytest.raises(ConsentUnverified):
            ctx.intake.consent.verify(ctx.db.read(), access.report_id)
    finally:
        ctx.close()


def test_a_new_report_was_asked_on_the_form(node_ctx: NodeContext) -> None:
    receipt = node_ctx.intake.submit(
        ReportInput(narrative="x", consent=Consent(care=True, matching=True)),
        DataKey.generate(), [], "test")
    access = node_ctx.intake.open_receipt(receipt.code, receipt.secret)
    view = node_ctx.intake.view_for_reporter(access)
    assert view.consent.matching and not view.matching_unasked
