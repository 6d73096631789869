"""Encrypted, signed backups and their restore (issue 21), on real data directories.

The archive holds no plaintext (a canary narrative and the identity seed are absent from its
bytes); it restores only with the node's recovery key; a flipped bit anywhere, a cut file or
another node's key writes nothing; the restored node's custody chain and evidence log check,
its reporter still opens her report with her receipt; deletions made after the backup are
replayed from the live node or a newer archive, so a deleted report stays deleted."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crypto import passphrase as pw
from crypto.keys import DataKey
from node import accounts, demo
from node.backups import archive, make, restore
from node.backups.archive import ArchiveInvalid
from node.context import NodeContext, init_node, open_node
from node.datadir import DataDir
from node.intake.models import Consent, ReportInput
from tests.conftest import ADMIN, ADMIN_PASSPHRASE, ROOT
from tests.conftest import test_config as config_text

CANARY = "CANARY-BACKUP-NARRATIVE-5e1d"


def _node(root: Path) -> tuple[DataDir, str]:
    datadir = DataDir(root)
    made = init_node(datadir, ADMIN, ADMIN_PASSPHRASE, config_text(),
                     pw.INSECURE_FAST_FOR_TESTS)
    return datadir, made.recovery_key


def _open(datadir: DataDir) -> NodeContext:
    return open_node(datadir, staff_params=pw.INSECURE_FAST_FOR_TESTS,
                     receipt_params=pw.INSECURE_FAST_FOR_TESTS)


def _blob_names(datadir: DataDir) -> list[Path]:
    return sorted(p.relative_to(datadir.blobs) for p in datadir.blobs.rglob("*") if p.is_file())


def _submit(ctx: NodeContext, text: str) -> tuple[str, str, str]:
    r = ctx.intake.submit(ReportInput(narrative=text, region="R1", consent=Consent(legal=True)),
                          DataKey.generate(), [], "test")
    return r.report_id, r.code, r.secret


@pytest.fixture
def node(tmp_path: Path) -> tuple[DataDir, str, tuple[str, str, str]]:
    datadir, recovery = _node(tmp_path / "node")
    ctx = _open(datadir)
    try:
        demo.seed(ctx, 3)  # synthetic reports, some with a photo: blobs
        kept = _submit(ctx, f"{CANARY} what happened")
    finally:
        ctx.close()
    return datadir, recovery, kept


def _restore(src: Path, dst: Path, recovery: str, **kw: object) -> restore.Restored:
    return restore.restore(src, dst, recovery, staff_params=pw.INSECURE_FAST_FOR_TESTS,
                           receipt_params=pw.INSECURE_FAST_FOR_TESTS, **kw)  # type: ignore[arg-type]


def test_a_backup_holds_no_plaintext_and_restores_with_the_recovery_key(
        node: tuple[DataDir, str, tuple[str, str, str]], tmp_path: Path) -> None:
    datadir, recovery, (report_id, code, secret) = node
    out = tmp_path / "node.bkp"
    made = make.make(datadir, out)
    data = out.read_bytes()
    assert CANARY.encode() not in data
    assert datadir.identity_key.read_bytes() not in data
    assert (datadir.keys / "consent.key").read_bytes() not in data
    assert made.files > 4 and oct(out.stat().st_mode & 0o777) == "0o600"
    assert not list(tmp_path.glob("*.partial"))

    done = _restore(out, tmp_path / "restored", recovery)
    assert done.deletions_replayed == 0
    ctx = _open(DataDir(tmp_path / "restored"))
    try:
        access = ctx.intake.open_receipt(code, secret)
        assert access.report_id == report_id
        assert CANARY in ctx.intake.view_with_key(report_id, access.data_key).record["narrative"]
        assert ctx.audit.verify(ctx.db.read()).ok
        assert _blob_names(datadir) and _blob_names(datadir) == _blob_names(
            DataDir(tmp_path / "restored"))
    finally:
        ctx.close()


def test_another_nodes_recovery_key_restores_nothing(
        node: tuple[DataDir, str, tuple[str, str, str]], tmp_path: Path) -> None:
    datadir, _, _ = node
    _, other_recovery = _node(tmp_path / "other")
    out = tmp_path / "node.bkp"
    make.make(datadir, out)
    with pytest.raises(restore.WrongRecoveryKey):
        _restore(out, tmp_path / "restored", other_recovery)
    assert not (tmp_path / "restored").exists()
    assert not [p for p in tmp_path.iterdir() if "restoring" in p.name]


@pytest.mark.parametrize("where", ["stream", "trailer", "signature", "cut"])
def test_a_damaged_archive_restores_nothing(
        node: tuple[DataDir, str, tuple[str, str, str]], tmp_path: Path, where: str) -> None:
    datadir, recovery, _ = node
    out = tmp_path / "node.bkp"
    make.make(datadir, out)
    data = bytearray(out.read_bytes())
    with out.open("rb") as f:
        opened = archive.read_trailer(f)
    at = {"stream": opened.stream_offset + opened.stream_length // 2,
          "trailer": opened.stream_offset + opened.stream_length + 10,
          "signature": len(data) - len(archive.END) - 16 - 30}
    if where == "cut":
        middle = opened.stream_offset + opened.stream_length // 2
        del data[middle:middle + 1000]
    else:
        data[at[where]] ^= 0x01
    out.write_bytes(bytes(data))
    with pytest.raises(ArchiveInvalid):
        _restore(out, tmp_path / "restored", recovery)
    assert not (tmp_path / "restored").exists()


def test_deletions_made_after_the_backup_are_replayed_at_restore(
        node: tuple[DataDir, str, tuple[str, str, str]], tmp_path: Path) -> None:
    datadir, recovery, (report_id, _, _) = node
    old = tmp_path / "old.bkp"
    make.make(datadir, old)
    ctx = _open(datadir)
    try:
        admin = accounts.unlock(ctx.db.read(), ADMIN, ADMIN_PASSPHRASE)
        ctx.deletion.by_staff(admin, report_id, "duplicate")
    finally:
        ctx.close()
    newer = tmp_path / "newer.bkp"
    make.make(datadir, newer)
    for name, source in (("from-live", datadir.root), ("from-newer", newer)):
        done = _restore(old, tmp_path / name, recovery, deletions_from=[source])
        assert done.deletions_replayed == 1
        ctx = _open(DataDir(tmp_path / name))
        try:
            conn = ctx.db.read()
            assert conn.execute("SELECT COUNT(*) FROM reports WHERE id = ?",
                                (report_id,)).fetchone()[0] == 0
            assert conn.execute("SELECT reason FROM deletions WHERE report_id = ?",
                                (report_id,)).fetchone()[0] == "duplicate"
            assert ctx.audit.verify(conn).ok
        finally:
            ctx.close()
        for path in (tmp_path / name).rglob("*"):
            if path.is_file():
                assert CANARY.encode() not in path.read_bytes(), path.name
    # without the later deletion log, the old archive brings the report back (and says so)
    done = _restore(old, tmp_path / "plain", recovery)
    assert done.deletions_replayed == 0


def test_generations_keep_the_newest_n(node: tuple[DataDir, str, tuple[str, str, str]],
                                       tmp_path: Path) -> None:
    datadir, _, _ = node
    removed_all = []
    for n in range(3):
        _, removed = make.make_generation(datadir, tmp_path / "gens", 2, now=1_800_000_000 + n)
        removed_all += removed
    assert sorted(p.name for p in (tmp_path / "gens").iterdir()) == [
        "backup-20270115T080001Z.bkp", "backup-20270115T080002Z.bkp"]
    assert [p.name for p in removed_all] == ["backup-20270115T080000Z.bkp"]


def test_the_commands_back_up_and_restore(node: tuple[DataDir, str, tuple[str, str, str]],
                                          tmp_path: Path) -> None:
    datadir, recovery, _ = node
    out = tmp_path / "cli.bkp"
    run = subprocess.run([sys.executable, "-m", "node.cli", "backup", "--data", str(datadir.root),
                          "--out", str(out), "--new-key"], capture_output=True, text=True,
                         cwd=ROOT, timeout=300, check=False)
    assert run.returncode == 0, run.stderr
    assert "A new backup key pair was made" in run.stdout
    env = {**os.environ, "BACKUP_RECOVERY_KEY": "AAAA-" + recovery[5:]}  # mistyped
    bad = subprocess.run([sys.executable, "-m", "node.cli", "restore", "--from", str(out),
                          "--data", str(tmp_path / "r")], capture_output=True, text=True,
                         cwd=ROOT, env=env, timeout=300, check=False)
    assert bad.returncode != 0 and "Traceback" not in bad.stderr
    assert not (tmp_path / "r").exists()
    env["BACKUP_RECOVERY_KEY"] = recovery
    good = subprocess.run([sys.executable, "-m", "node.cli", "restore", "--from", str(out),
                           "--data", str(tmp_path / "r")], capture_output=True, text=True,
                          cwd=ROOT, env=env, timeout=600, check=False)
    assert good.returncode == 0, good.stderr
    assert "the chain of custody and the evidence log check" in good.stdout


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=400))
def test_the_trailer_parser_refuses_any_bytes_with_archive_invalid(data: bytes) -> None:
    import io

    for blob in (data, archive.MAGIC + data, archive.MAGIC + data + archive.END):
        with pytest.raises(ArchiveInvalid):
            archive.read_trailer(io.BytesIO(blob))


def test_a_node_older_than_certified_recovery_keys_is_told_how_to_get_a_backup_key(
        tmp_path: Path) -> None:
    from node.backups.keys import NoRecoveryKey
    from tests.integration.test_schema10_fixture import copy_fixture

    datadir, _ = copy_fixture(tmp_path)
    _open(datadir).close()  # the upgrade: it opens, with no backup key yet
    with pytest.raises(NoRecoveryKey, match="rotate-key --key recovery"):
        make.make(datadir, tmp_path / "old.bkp")
    assert not list(tmp_path.glob("old.bkp*"))


def test_an_archive_made_before_the_backup_key_was_replaced_still_restores(
        node: tuple[DataDir, str, tuple[str, str, str]], tmp_path: Path) -> None:
    from node import keyring
    from node.backups import keys
    from node.storage.database import Database

    datadir, recovery, _ = node
    before = make.make(datadir, tmp_path / "before.bkp")
    db = Database(datadir.database)
    try:
        certifier = keyring.load(datadir, db).certifier
        with db.write() as conn:
            old = keys.ensure(conn, certifier)
            new = keys.rotate(conn, certifier)
    finally:
        db.close()
    assert new.public != old.public
    after = make.make(datadir, tmp_path / "after.bkp")
    with after.path.open("rb") as f:
        assert archive.read_trailer(f).trailer["backup_key"] == new.public.raw().hex()
    assert _restore(before.path, tmp_path / "r1", recovery).files == before.files
    assert _restore(after.path, tmp_path / "r2", recovery).files == after.files

