"""Court bundles end to end: submit a report with attachments and an addition, export its
bundle, verify it offline; change any byte of any file and the verifier fails, naming the
check; no export without the reporter's consent to legal use."""

from __future__ import annotations

import io
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest

from backup_evidence.verify import NotABundle, verify_bundle
from crypto.keys import DataKey, SigningKey
from node import errors
from node.context import NodeContext
from node.demo import tiny_png
from node.intake.models import AdditionInput, Consent, ReportInput
from tests.conftest import ROOT
from tests.team import Team, make_team


@pytest.fixture
def team(node_ctx: NodeContext) -> Team:
    return make_team(node_ctx)


def submit(ctx: NodeContext, files: int = 3, consent: Consent | None = None):  # type: ignore[no-untyped-def]
    key = DataKey.generate()
    staged = []
    allowance = ctx.intake.allowance()
    for i in range(files):
        w = ctx.intake.attachment_writer(key, allowance, f"photo-{i}.png")
        w.feed(tiny_png(i) + bytes([i]) * 100)
        staged.append(w.finish())
    r = ctx.intake.submit(ReportInput(narrative="what happened", region="R1",
                                      consent=consent or Consent(legal=True)), key, staged, "test")
    access = ctx.intake.open_receipt(r.code, r.secret)
    ctx.intake.add_information(access, AdditionInput(text="more, later"), [])
    return r


def write(tmp_path: Path, data: bytes, name: str = "bundle.zip") -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def test_export_and_verify(node_ctx: NodeContext, team: Team, tmp_path: Path) -> None:
    r = submit(node_ctx)
    submit(node_ctx)  # another case in the same log
    data = node_ctx.bundles.export(team.coordinator, r.report_id)
    path = write(tmp_path, data)
    report = verify_bundle(str(path), node_ctx.keys.identity_public.raw().hex())
    assert report.ok, [c for c in report.checks if not c[1]]
    names = zipfile.ZipFile(path).namelist()
    assert "evidence/report.jsonl" in names and "summary.html" in names
    # the report's and the addition's disclosures; each photo's disclosures and file
    assert sum(n.startswith("evidence/") for n in names) == 8
    with zipfile.ZipFile(path) as z:
        assert z.read("evidence/001-attachment.png") == tiny_png(0) + bytes([0]) * 100
    # the export is in the chain of custody
    actions = [row[0] for row in node_ctx.db.read().execute(
        "SELECT action FROM audit_log WHERE object_id = ?", (r.report_id,))]
    assert "case.export" in actions
    # the offline verifier, as a lawyer runs it
    out = subprocess.run([sys.executable, "-m", "backup_evidence.verify", "verify", str(path),
                          "--public-key", node_ctx.keys.identity_public.raw().hex()],
                         capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert out.returncode == 0 and "the bundle verifies" in out.stdout
    # a different trusted key is refused
    other = SigningKey.generate().verify_key.raw().hex()
    assert not verify_bundle(str(path), other).ok


def _rewrite(data: bytes, member: str, change: Any) -> bytes:
    src = zipfile.ZipFile(io.BytesIO(data))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as dst:
        for info in src.infolist():
            content = src.read(info.filename)
            if info.filename == member:
                content = change(content)
            dst.writestr(info, content)
    return buf.getvalue()


def _flip(content: bytes) -> bytes:
    if not content:
        return b"x"
    i = len(content) // 2
    return content[:i] + bytes([content[i] ^ 0x01]) + content[i + 1:]


def test_any_changed_byte_fails(node_ctx: NodeContext, team: Team, tmp_path: Path) -> None:
    r = submit(node_ctx, files=2)
    data = node_ctx.bundles.export(team.coordinator, r.report_id)
    key = node_ctx.keys.identity_public.raw().hex()
    for member in zipfile.ZipFile(io.BytesIO(data)).namelist():
        tampered = write(tmp_path, _rewrite(data, member, _flip), "t.zip")
        try:
            report = verify_bundle(str(tampered), key)
        except NotABundle:
            continue  # e.g. manifest.json no longer JSON: refused outright
        failed = [name for name, ok, _ in report.checks if not ok]
        assert failed, f"changing {member} went unnoticed"
        out = subprocess.run([sys.executable, "-m", "backup_evidence.verify", "verify",
                              str(tampered), "--public-key", key], capture_output=True,
                             text=True, cwd=ROOT, timeout=60)
        assert out.returncode in (1, 2), member
        assert "FAILED" in out.stdout or "NOT A BUNDLE" in out.stderr, member
    # an extra file is noticed too
    buf = io.BytesIO(data)
    with zipfile.ZipFile(buf, "a") as z:
        z.writestr("evidence/planted.txt", b"not evidence")
    report = verify_bundle(str(write(tmp_path, buf.getvalue(), "x.zip")), key)
    assert not report.ok


def test_export_needs_legal_consent(node_ctx: NodeContext, team: Team) -> None:
    r = submit(node_ctx, files=1, consent=Consent(care=True))
    with pytest.raises(errors.ConsentMissing):
        node_ctx.bundles.export(team.coordinator, r.report_id)
    access = node_ctx.intake.open_receipt(r.code, r.secret)
    node_ctx.intake.change_consent(access, Consent(legal=True))
    assert node_ctx.bundles.export(team.coordinator, r.report_id)
    node_ctx.intake.change_consent(access, Consent(legal=False))
    with pytest.raises(errors.ConsentMissing):
        node_ctx.bundles.export(team.coordinator, r.report_id)
    for person in (team.caseworker, team.analyst, team.admin):
        with pytest.raises(errors.Forbidden):
            node_ctx.bundles.export(person, r.report_id)


def test_not_a_bundle(tmp_path: Path) -> None:
    path = write(tmp_path, b"not a zip")
    with pytest.raises(NotABundle):
        verify_bundle(str(path))
    out = subprocess.run([sys.executable, "-m", "backup_evidence.verify", "verify", str(path)],
                         capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert out.returncode == 2


@pytest.mark.slow
def test_export_bundle_cli(node_process: Any, tmp_path: Path) -> None:
    import json
    import os
    import urllib.request

    from tests.conftest import ADMIN, ADMIN_PASSPHRASE

    body = json.dumps({"narrative": "for the court", "consent": {"legal": True}}).encode()
    req = urllib.request.Request(node_process.url + "/api/v1/reports", data=body,
                                 headers={"Content-Type": "application/json"}, method="POST")
    with urllib.request.urlopen(req, timeout=30) as resp:  # loopback only
        assert resp.status == 201
    node_process.stop()
    from node.context import open_node
    from node.datadir import DataDir

    ctx = open_node(DataDir(node_process.datadir))
    case_id = ctx.db.read().execute("SELECT id FROM reports").fetchone()[0]
    ctx.close()
    out_file = tmp_path / "case.zip"
    env = {**os.environ, "BACKUP_PASSPHRASE": ADMIN_PASSPHRASE}
    done = subprocess.run([sys.executable, "-m", "node.cli", "export-bundle", "--data",
                           str(node_process.datadir), "--case", case_id, "--out", str(out_file),
                           "--username", ADMIN], env=env, capture_output=True, text=True,
                          cwd=ROOT, timeout=120)
    assert done.returncode == 0, done.stderr
    check = subprocess.run([sys.executable, "-m", "backup_evidence.verify", "verify",
                            str(out_file)], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert check.returncode == 0 and "NOTE: no --public-key" in check.stdout
