"""Issue 13, item 5: rotating the intake, analysis and recovery keys (the real CLI).

A departed coordinator kept a copy of the intake and analysis keys they once opened. After
their account is disabled and the keys are rotated, that copy opens nothing stored: every
value sealed to the old key (`node.key_rotation.SEALED_TO`) opens under the new key only,
the remaining holders and the recovery key hold the new key, and new reports -- even those
of a serving process opened before the rotation -- are sealed to the new key.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from crypto import passphrase as pw
from crypto.errors import DecryptionError
from crypto.keys import BoxSecretKey, DataKey
from crypto.recovery import RecoveryKey
from node import accounts, key_rotation, keyring
from node.backoffice import audit
from node.backoffice.incidents import IncidentCoding
from node.context import NodeContext, init_node, open_node
from node.datadir import DataDir
from node.intake.models import Consent, ReportInput
from tests import conftest as shared
from tests.conftest import ADMIN, ADMIN_PASSPHRASE
from tests.team import Team, make_team

FAST = pw.INSECURE_FAST_FOR_TESTS
ROOT = Path(__file__).resolve().parents[2]


def _cli(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "node.cli", *args], cwd=ROOT,
                          env={**os.environ, **env}, capture_output=True, text=True,
                          timeout=180, stdin=subprocess.DEVNULL)


def _submit(ctx: NodeContext, text: str) -> str:
    return ctx.intake.submit(ReportInput(narrative=text, consent=Consent(care=True)),
                             DataKey.generate(), [], "test").report_id


@pytest.fixture
def node(tmp_path: Path) -> Iterator[tuple[NodeContext, str, Team, dict[str, BoxSecretKey]]]:
    """A node with reports and an incident coding, and the keys a departing coordinator
    (the team's `coordinator`) walked away with."""
    datadir = DataDir(tmp_path / "node")
    result = init_node(datadir, ADMIN, ADMIN_PASSPHRASE, shared.test_config(), FAST)
    ctx = open_node(datadir, staff_params=FAST, receipt_params=FAST)
    team = make_team(ctx)
    report_id = _submit(ctx, "before")
    ctx.incidents.code(team.root, report_id, IncidentCoding(category="rape"))
    copied = dict(team.coordinator.node_keys)
    assert set(copied) == {accounts.INTAKE_KEY, accounts.ANALYSIS_KEY}
    accounts.set_disabled(ctx.db, ctx.audit, team.root.member.id,
                          team.coordinator.member.id, True, 0)
    yield ctx, result.recovery_key, team, copied
    ctx.close()


def _sealed_values(ctx: NodeContext, key_name: str) -> list[tuple[bool, bytes]]:
    conn = ctx.db.read()
    out = []
    for sealed in key_rotation.SEALED_TO[key_name]:
        out += [(sealed.holds_data_key, bytes(r[0])) for r in conn.execute(
            f"SELECT {sealed.column} FROM {sealed.table}"
            f" WHERE {sealed.column} IS NOT NULL")]
    return out


def _opens(key: BoxSecretKey, value: tuple[bool, bytes]) -> bool:
    try:
        (key.open_data_key if value[0] else key.open)(value[1])
    except DecryptionError:
        return False
    return True


@pytest.mark.parametrize("key_name", ["intake", "analysis"])
def test_a_departed_persons_copy_opens_nothing_after_rotation(
        node: tuple[NodeContext, str, Team, dict[str, BoxSecretKey]], key_name: str) -> None:
    ctx, recovery, team, copied = node
    old = copied[key_name]
    before = _sealed_values(ctx, key_name)
    assert before and all(_opens(old, v) for v in before)
    out = _cli("rotate-key", "--data", str(ctx.datadir.root), "--key", key_name,
               BACKUP_RECOVERY_KEY=recovery)
    assert out.returncode == 0, out.stderr
    assert "Restart the serving process" in out.stdout
    after = _sealed_values(ctx, key_name)
    assert len(after) == len(before) and not any(_opens(old, v) for v in after)
    # the holders who remain, and the recovery key, open everything with the new key
    root = accounts.unlock(ctx.db.read(), ADMIN, ADMIN_PASSPHRASE)
    assert all(_opens(root.node_keys[key_name], v) for v in after)
    analyst = accounts.unlock(ctx.db.read(), "analyst", "a long enough passphrase")
    if key_name == "analysis":
        assert all(_opens(analyst.node_keys[key_name], v) for v in after)
    rescued = keyring.open_with_recovery(ctx.db.read(), recovery, key_name)
    assert all(_opens(rescued, v) for v in after)
    # nothing sealed to the disabled account, and the rotation is in the chain
    assert ctx.db.read().execute("SELECT COUNT(*) FROM key_wraps WHERE holder = ?", (
        accounts.staff_holder(team.coordinator.member.id),)).fetchone()[0] == 0
    assert [e.object_id for e in audit.entries(ctx.db.read())
            if e.action == "key.rotate"] == [key_name]
    assert ctx.audit.verify(ctx.db.read()).ok


def test_a_running_process_seals_new_reports_to_the_rotated_intake_key(
        node: tuple[NodeContext, str, Team, dict[str, BoxSecretKey]]) -> None:
    ctx, recovery, _, copied = node
    assert _cli("rotate-key", "--data", str(ctx.datadir.root), "--key", "intake",
                BACKUP_RECOVERY_KEY=recovery).returncode == 0
    report_id = _submit(ctx, "after")  # the process opened before the rotation
    sealed = ctx.db.read().execute("SELECT sealed_key FROM reports WHERE id = ?",
                                   (report_id,)).fetchone()[0]
    assert not _opens(copied["intake"], (True, sealed))
    root = accounts.unlock(ctx.db.read(), ADMIN, ADMIN_PASSPHRASE)
    assert root.intake_key is not None and _opens(root.intake_key, (True, sealed))


def test_rotating_the_recovery_key(
        node: tuple[NodeContext, str, Team, dict[str, BoxSecretKey]]) -> None:
    ctx, recovery, _, _ = node
    out = _cli("rotate-key", "--data", str(ctx.datadir.root), "--key", "recovery",
               BACKUP_RECOVERY_KEY=recovery)
    assert out.returncode == 0, out.stderr
    new_text = out.stdout.split("\n\n")[1].strip()
    root = accounts.unlock(ctx.db.read(), ADMIN, ADMIN_PASSPHRASE)
    for name in accounts.NODE_KEYS:
        assert keyring.open_with_recovery(ctx.db.read(), new_text, name) == root.node_keys[name]
        with pytest.raises(DecryptionError):
            keyring.open_with_recovery(ctx.db.read(), recovery, name)
    assert RecoveryKey.parse(new_text).public_key != RecoveryKey.parse(recovery).public_key
    wrong = _cli("rotate-key", "--data", str(ctx.datadir.root), "--key", "intake",
                 BACKUP_RECOVERY_KEY=recovery)
    assert wrong.returncode != 0 and "not the recovery key" in wrong.stderr
