"""Downgrades are refused with a clear message (issue 21): a database written by a newer
BackUp is left as it is, and the command says what happened and what to do, without a
traceback -- for the node and for the observatory."""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT, free_port
from tests.unit.observatory.support import make_observatory

FIXTURE = ROOT / "tests" / "fixtures" / "schema18" / "node"


def _from_the_future(database: Path) -> None:
    conn = sqlite3.connect(database)
    conn.execute("PRAGMA user_version = 999")
    conn.commit()
    conn.close()


def _version(database: Path) -> int:
    conn = sqlite3.connect(database)
    try:
        return int(conn.execute("PRAGMA user_version").fetchone()[0])
    finally:
        conn.close()


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", *args], capture_output=True, text=True,
                          timeout=120, cwd=ROOT, check=False)


def test_a_node_refuses_a_database_from_a_newer_version(tmp_path: Path) -> None:
    root = tmp_path / "node"
    shutil.copytree(FIXTURE, root)
    root.chmod(0o700)
    _from_the_future(root / "node.db")
    out = _run("node.cli", "serve", "--data", str(root), "--port", str(free_port()),
               "--staff-port", str(free_port()))
    assert out.returncode == 2
    assert "newer than this version of BackUp" in out.stderr
    assert "Downgrades are refused" in out.stderr and "Traceback" not in out.stderr
    assert _version(root / "node.db") == 999


def test_an_observatory_refuses_a_database_from_a_newer_version(tmp_path: Path) -> None:
    root = make_observatory(tmp_path / "observatory")
    database = next(p for p in root.iterdir() if p.suffix == ".db")
    _from_the_future(database)
    out = _run("observatory.cli", "members", "--data", str(root))
    assert out.returncode == 1
    assert "newer than this version of BackUp" in out.stderr
    assert "Traceback" not in out.stderr
    assert _version(database) == 999
