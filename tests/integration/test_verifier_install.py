"""The offline verifier installs on its own, as a court's machine would get it: built from a
copy of ``verifier/`` and ``crypto/`` alone, into a fresh virtual environment, from wheels only
(no compiler could run: ``--only-binary :all:`` and no C compiler on the way). It then
verifies a real bundle exported by a node, without the node's code, a web framework, libp2p
or SQLite being importable or imported."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

import pytest

from crypto.keys import DataKey
from node.context import NodeContext
from node.demo import tiny_png
from node.intake.models import AdditionInput, Consent, ReportInput
from tests.conftest import ROOT
from tests.team import make_team

CHECK = r"""
import importlib, sys
from backup_evidence.verify import verify_bundle

report = verify_bundle(sys.argv[1], sys.argv[2])
assert report.ok, [c for c in report.checks if not c[1]]
for absent in ("node", "observatory", "transport", "protocol", "runtime", "aiohttp", "libp2p",
               "trio", "sqlite_utils"):
    try:
        importlib.import_module(absent)
    except ImportError:
        continue
    raise SystemExit(f"{absent} is importable in the verifier's environment")
loaded = sorted(m for m in sys.modules
                if m.split(".")[0] in ("sqlite3", "_sqlite3", "aiohttp", "libp2p", "asyncio"))
if loaded:
    raise SystemExit(f"the verifier imported {loaded}")
print("checked", len(report.checks))
"""


def _bundle(ctx: NodeContext, path: Path) -> str:
    """A real bundle of a case with two attachments and an addition; returns the node's
    public key as the court would be given it."""
    key = DataKey.generate()
    staged = []
    for i in range(2):
        w = ctx.intake.attachment_writer(key, ctx.intake.allowance(), f"photo-{i}.png")
        w.feed(tiny_png(i))
        staged.append(w.finish())
    r = ctx.intake.submit(ReportInput(narrative="for the court", consent=Consent(legal=True)),
                          key, staged, "test")
    ctx.intake.add_information(ctx.intake.open_receipt(r.code, r.secret),
                               AdditionInput(text="later"), [])
    path.write_bytes(ctx.bundles.export(make_team(ctx).coordinator, r.report_id))
    return ctx.keys.identity_public.raw().hex()


@pytest.mark.slow
def test_the_verifier_installs_alone_and_verifies_a_bundle(node_ctx: NodeContext,
                                                            tmp_path: Path) -> None:
    court = tmp_path / "court"  # the court's machine: nothing of the node's is here
    court.mkdir()
    bundle = court / "bundle.zip"
    public_key = _bundle(node_ctx, bundle)
    # A copy of the two folders the verifier's distribution is built from: nothing else of
    # the checkout may be needed.
    checkout = court / "checkout"
    for folder in ("verifier", "crypto"):
        shutil.copytree(ROOT / folder, checkout / folder,
                        ignore=shutil.ignore_patterns("*.egg-info", "build", "__pycache__"))
    source = checkout / "verifier"
    env_dir = court / "venv"
    venv.EnvBuilder(with_pip=True).create(env_dir)
    python = env_dir / "bin" / "python"
    environment = {k: v for k, v in os.environ.items()
                   if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}
    environment |= {"CC": "false", "CXX": "false", "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    install = subprocess.run(
        [str(python), "-m", "pip", "install", "-q", "--only-binary", ":all:",
         "-c", str(ROOT / "constraints.txt"), str(source)],
        cwd=court, env=environment, capture_output=True, text=True, timeout=600)
    assert install.returncode == 0, install.stderr[-3000:]

    check = subprocess.run([str(python), "-c", CHECK, str(bundle), public_key], cwd=court,
                           env=environment, capture_output=True, text=True, timeout=120)
    assert check.returncode == 0, check.stdout + check.stderr
    command = subprocess.run(
        [str(env_dir / "bin" / "backup-evidence"), "verify", str(bundle), "--public-key",
         public_key], cwd=court, env=environment, capture_output=True, text=True,
        timeout=120)
    assert command.returncode == 0 and "the bundle verifies" in command.stdout, (
        command.stdout + command.stderr)


def test_the_main_install_has_the_verifier_command() -> None:
    """``backup-evidence`` comes with the node's install too (the node depends on the
    verifier's distribution)."""
    command = Path(sys.executable).parent / "backup-evidence"
    assert command.exists()
    out = subprocess.run([str(command), "verify", "--help"], capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 0 and "--public-key" in out.stdout
