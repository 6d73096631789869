"""The schema-10 fixture node (`tests/fixtures/schema10/`) opens with today's code, and
every migration since then applies to it: the base of the migration tests of issues 12-15."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from crypto import passphrase as pw
from node.context import open_node
from node.datadir import DataDir
from node.storage.migrations import MIGRATIONS

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "schema10"


# What an operator adds to node.toml when upgrading past issue 14: each region's federation
# code (the fixture's regions predate the shared geography and name none).
REGION_MAPPING = {"R1": "CD-NK", "R2": "CD-SK"}


def map_regions(config: Path, mapping: dict[str, str]) -> None:
    """Add `subdivision = ...` under each ``[[regions]]`` entry whose code is mapped."""
    lines = config.read_text(encoding="utf-8").splitlines()
    out: list[str] = []
    for line in lines:
        out.append(line)
        key, _, value = line.partition("=")
        if key.strip() == "code" and value.strip().strip('"') in mapping:
            out.append(f'subdivision = "{mapping[value.strip().strip(chr(34))]}"')
    config.write_text("\n".join(out) + "\n", encoding="utf-8")


def copy_fixture(tmp_path: Path, *, upgrade_config: bool = True
                 ) -> tuple[DataDir, dict[str, object]]:
    """A writable copy of the fixture node, and its answers. `upgrade_config` makes the
    configuration changes an operator makes when upgrading (`REGION_MAPPING`); without it,
    the node.toml is the schema-10 one, which today's node refuses to start with."""
    root = tmp_path / "node"
    shutil.copytree(FIXTURE / "node", root)
    if upgrade_config:
        map_regions(root / "node.toml", REGION_MAPPING)
    root.chmod(0o700)
    for sub in ("keys", "blobs"):
        (root / sub).chmod(0o700)
    answers = json.loads((FIXTURE / "answers.json").read_text(encoding="utf-8"))
    return DataDir(root), answers


def test_the_schema10_fixture_migrates_to_the_current_schema(tmp_path: Path) -> None:
    import sqlite3

    datadir, answers = copy_fixture(tmp_path)
    before = sqlite3.connect(datadir.root / "node.db")
    assert before.execute("PRAGMA user_version").fetchone()[0] == 10
    before.close()
    ctx = open_node(datadir, staff_params=pw.INSECURE_FAST_FOR_TESTS,
                    receipt_params=pw.INSECURE_FAST_FOR_TESTS)
    try:
        conn = ctx.db.read()
        assert conn.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
        ids = {r[0] for r in conn.execute("SELECT id FROM reports")}
        assert answers["canary_report_id"] in ids
        access = ctx.intake.open_receipt(str(answers["canary_receipt"]),
                                         str(answers["canary_secret"]))
        assert access.report_id == answers["canary_report_id"]
    finally:
        ctx.close()
