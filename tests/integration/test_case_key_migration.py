"""Migration 30 (issue 13, case key generations) from the schema-18 fixture node: every case
starts at generation 0 with its stored seals unchanged; a reporter's key is stored at their
next visit; a case rotated after the upgrade keeps its old files (written before files
carried a key commitment) and records readable, and the caseworker's saved copy opens
nothing written after the rotation."""

from __future__ import annotations

from pathlib import Path
from typing import cast

import pytest

from crypto import passphrase as pw
from crypto.errors import DecryptionError
from crypto.keys import DataKey
from node import accounts, errors
from node.backoffice import case_keys
from node.context import NodeContext, open_node
from node.intake.service import ReporterAccess
from node.storage.migrations import MIGRATIONS
from tests.integration.test_schema18_fixture import copy_fixture18


def test_the_schema18_fixture_gets_case_key_generations(tmp_path: Path) -> None:
    datadir, answers = copy_fixture18(tmp_path)
    ctx = open_node(datadir, staff_params=pw.INSECURE_FAST_FOR_TESTS,
                    receipt_params=pw.INSECURE_FAST_FOR_TESTS)
    try:
        conn = ctx.db.read()
        assert conn.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
        assert conn.execute("SELECT COUNT(*) FROM reports WHERE key_generation != 0"
                            " OR reporter_public IS NOT NULL").fetchone()[0] == 0
        assert conn.execute("SELECT COUNT(*) FROM case_key_wraps WHERE generation != 0"
                            ).fetchone()[0] == 0
        admin = accounts.unlock(conn, str(answers["admin"]), str(answers["passphrase"]))
        worker = accounts.unlock(conn, str(answers["caseworker"]), str(answers["passphrase"]))
        # the assigned case with a file, and its reporter
        rid = str(conn.execute(
            "SELECT w.report_id FROM case_key_wraps w JOIN report_items i"
            " ON i.report_id = w.report_id AND i.kind = 'attachment'"
            " WHERE w.staff_id = ? ORDER BY w.report_id LIMIT 1",
            (worker.member.id,)).fetchone()[0])
        access = _reporter_of(ctx, answers, rid)
        assert access.data_key.generation == 0
        assert conn.execute("SELECT reporter_public IS NOT NULL FROM reports WHERE id = ?",
                            (rid,)).fetchone()[0] == 1  # stored at this visit
        (item_id,) = conn.execute("SELECT id FROM report_items WHERE report_id = ?"
                                  " AND kind = 'attachment'", (rid,)).fetchone()
        saved = ctx.case_access.case_key(worker, rid)
        before = _file(ctx, saved, rid, item_id)

        ctx.case_access.unassign(admin, rid, worker.member.id)
        assert ctx.case_access.rotate_key(admin, rid) == 1
        ctx.timeline.add_note(admin, rid, "after the rotation")
        ctx.conversations.send(admin, rid, "to the reporter, after")
        key = ctx.case_access.case_key(admin, rid)
        assert _file(ctx, key, rid, item_id) == before  # a file of the first layout
        assert ctx.timeline.notes(rid, key)[-1].body["text"] == "after the rotation"
        with pytest.raises(DecryptionError):
            ctx.timeline.notes(rid, saved)
        access = _reporter_of(ctx, answers, rid)
        assert access.data_key.generation == 1
        assert ctx.conversations.for_reporter(rid, access.data_key)[-1].body["text"] == \
            "to the reporter, after"
        assert case_keys.rotation_due(conn, rid) is False
    finally:
        ctx.close()


def _reporter_of(ctx: NodeContext, answers: dict[str, object], rid: str) -> ReporterAccess:
    for code, secret in cast(list[list[str]], answers["receipts"]):
        try:
            access = ctx.intake.open_receipt(code, secret)
        except errors.ReceiptRejected:  # a report deleted in the fixture
            continue
        if access.report_id == rid:
            return access
    raise AssertionError("no receipt of that case in the fixture's answers")


def _file(ctx: NodeContext, key: DataKey, rid: str, item_id: str) -> bytes:
    _meta, chunks = ctx.intake.open_attachment_with_key(key, rid, item_id)
    return b"".join(chunks)
