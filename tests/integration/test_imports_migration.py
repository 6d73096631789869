"""Imports (issue 19) on a node of the previous version: the schema-18 fixture upgrades
through every migration, its reports stay as they were, and an export is imported into it
once only."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from crypto import passphrase as pw
from node.cli import main
from node.context import open_node
from node.datadir import DataDir
from node.storage.migrations import MIGRATIONS
from tests.integration.test_imports import MAPPING, kobo_export
from tests.integration.test_schema18_fixture import copy_fixture18


def _reports(datadir: DataDir) -> tuple[int, set[str], int]:
    ctx = open_node(datadir, staff_params=pw.INSECURE_FAST_FOR_TESTS,
                    receipt_params=pw.INSECURE_FAST_FOR_TESTS)
    try:
        conn = ctx.db.read()
        return (conn.execute("PRAGMA user_version").fetchone()[0],
                {r[0] for r in conn.execute("SELECT id FROM reports")},
                conn.execute("SELECT COUNT(*) FROM imported_submissions").fetchone()[0])
    finally:
        ctx.close()


def test_the_fixture_node_imports_an_export_once(tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    datadir, _answers = copy_fixture18(tmp_path)
    export = kobo_export(tmp_path / "export")
    (tmp_path / "map.toml").write_text(MAPPING)
    args = ["import", "--data", str(datadir.root), "--from", "kobo", str(export),
            "--mapping", str(tmp_path / "map.toml")]
    assert main(args) == 0
    assert "imported 2 report(s); 0 already imported" in capsys.readouterr().out
    version, after, imported = _reports(datadir)
    assert version == len(MIGRATIONS) and imported == 2
    assert main(args) == 0
    assert "imported 0 report(s); 2 already imported" in capsys.readouterr().out
    assert _reports(datadir) == (version, after, 2)


def test_the_upgrade_keeps_every_report(tmp_path: Path) -> None:
    datadir, _answers = copy_fixture18(tmp_path)
    conn = sqlite3.connect(datadir.root / "node.db")
    try:
        before = {r[0] for r in conn.execute("SELECT id FROM reports")}
    finally:
        conn.close()
    version, after, imported = _reports(datadir)
    assert version == len(MIGRATIONS) and after == before and imported == 0
