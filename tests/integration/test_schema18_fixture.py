"""The schema-18 fixture node (`tests/fixtures/schema18/`) opens with today's code, and
every migration since then applies to it: the base of the migration tests of the round
after issues 12-17's first parts. What schema 18 held (edited and withdrawn codings with
their history, a court scope, a vouched expert, a training example) survives the upgrade,
and the canaries stay out of every file."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import cast

from crypto import passphrase as pw
from node import accounts
from node.context import open_node
from node.datadir import DataDir
from node.storage.migrations import MIGRATIONS

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "schema18"


def copy_fixture18(tmp_path: Path) -> tuple[DataDir, dict[str, object]]:
    """A writable copy of the schema-18 fixture node, and its answers."""
    root = tmp_path / "node18"
    shutil.copytree(FIXTURE / "node", root)
    root.chmod(0o700)
    for sub in ("keys", "blobs"):
        (root / sub).chmod(0o700)
    answers = json.loads((FIXTURE / "answers.json").read_text(encoding="utf-8"))
    return DataDir(root), answers


def _canaries_absent(root: Path, canaries: dict[str, str]) -> None:
    for path in root.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            for name, canary in canaries.items():
                assert canary.encode() not in data, f"{name} canary in {path.name}"


def test_the_schema18_fixture_migrates_to_the_current_schema(tmp_path: Path) -> None:
    import sqlite3

    datadir, answers = copy_fixture18(tmp_path)
    before = sqlite3.connect(datadir.root / "node.db")
    assert before.execute("PRAGMA user_version").fetchone()[0] == 18
    before.close()
    ctx = open_node(datadir, staff_params=pw.INSECURE_FAST_FOR_TESTS,
                    receipt_params=pw.INSECURE_FAST_FOR_TESTS)
    try:
        conn = ctx.db.read()
        assert conn.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
        access = ctx.intake.open_receipt(str(answers["canary_receipt"]),
                                         str(answers["canary_secret"]))
        report_id = str(answers["canary_report_id"])
        assert access.report_id == report_id
        admin = accounts.unlock(conn, str(answers["admin"]), str(answers["passphrase"]))
        case = ctx.cases.read(admin, report_id)
        consent = case.report.consent
        assert consent.court_narrative is False and consent.legal
        incidents = {i.id: i for i in case.incidents}
        edited = incidents[str(answers["edited_incident"])]
        assert edited.coding.category == "sexual_slavery"
        assert [h.coding.category for h in edited.history] == ["rape"]
        withdrawn = {i.id: i for i in ctx.cases.read(
            admin, str(answers["withdrawn_on"])).incidents}[str(answers["withdrawn_incident"])]
        assert withdrawn.withdrawn
        expert = conn.execute("SELECT vouched_by FROM expert_profiles WHERE staff_id = ?",
                              (answers["expert_id"],)).fetchone()
        assert expert is not None and expert[0] is not None
        assert conn.execute("SELECT COUNT(*) FROM analysis_examples WHERE report_id = ?",
                            (report_id,)).fetchone()[0] == 1
        assert ctx.audit.verify(conn).ok
    finally:
        ctx.close()
    _canaries_absent(datadir.root, cast(dict[str, str], answers["canaries"]))


def test_deleting_the_fixtures_canary_report_after_the_upgrade_leaves_no_canary(
        tmp_path: Path) -> None:
    datadir, answers = copy_fixture18(tmp_path)
    ctx = open_node(datadir, staff_params=pw.INSECURE_FAST_FOR_TESTS,
                    receipt_params=pw.INSECURE_FAST_FOR_TESTS)
    try:
        admin = accounts.unlock(ctx.db.read(), str(answers["admin"]), str(answers["passphrase"]))
        report_id = str(answers["canary_report_id"])
        ctx.deletion.by_staff(admin, report_id, "duplicate")
        conn = ctx.db.read()
        assert conn.execute("SELECT COUNT(*) FROM reports WHERE id = ?",
                            (report_id,)).fetchone()[0] == 0
        assert conn.execute("SELECT COUNT(*) FROM analysis_examples WHERE report_id = ?",
                            (report_id,)).fetchone()[0] == 0
        assert conn.execute("SELECT COUNT(*) FROM incident_links WHERE report_id = ?",
                            (report_id,)).fetchone()[0] == 0
    finally:
        ctx.close()
    _canaries_absent(datadir.root, cast(dict[str, str], answers["canaries"]))
