"""The documented production install (docs/operations.md) works from a clean directory: a
new venv, `pip install -c constraints.txt ./verifier .` (not editable: what an operator
installs, with its templates, catalogues, word lists and model as package data), `init
--admin NAME`, `serve`, and the reporting site and the staff sign-in answer. Slow: it
installs every dependency again (from pip's cache, which `make test`'s own install filled).
Run from outside the checkout, so nothing is imported from the source tree."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import free_port

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_the_documented_install_inits_and_serves_from_a_clean_directory(tmp_path: Path) -> None:
    source = tmp_path / "src"
    archive = subprocess.run(["git", "-C", str(ROOT), "ls-files", "-z"], capture_output=True,
                             check=True).stdout.split(b"\0")
    for name in filter(None, archive):
        rel = name.decode()
        if not (ROOT / rel).is_file():
            continue
        (source / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / rel, source / rel)
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    pip = subprocess.run([str(venv / "bin" / "pip"), "install", "-q", "--disable-pip-version-check",
                          "-c", "constraints.txt", "./verifier", "."], cwd=source,
                         capture_output=True, text=True, timeout=1500, check=False)
    assert pip.returncode == 0, pip.stderr[-3000:]
    data = tmp_path / "node"
    env = {**os.environ, "BACKUP_ADMIN_PASSPHRASE": "lantern orbit meadow copper violin harbour"}
    init = subprocess.run([str(venv / "bin" / "backup-node"), "init", "--data", str(data),
                           "--admin", "admin"], cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=300, check=False)
    assert init.returncode == 0, init.stderr
    port, staff_port = free_port(), free_port()
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        server = subprocess.Popen(
            [str(venv / "bin" / "backup-node"), "serve", "--data", str(data), "--port",
             str(port), "--staff-port", str(staff_port)], cwd=tmp_path, stdout=out,
            stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{staff_port}/staff/login",
                                            timeout=5) as r:
                    assert r.status == 200
                    break
            except OSError:
                assert server.poll() is None, log.read_text(errors="replace")
                assert time.monotonic() < deadline, "the installed node did not start"
                time.sleep(0.5)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as r:
            page = r.read().decode()
        assert r.status == 200 and "<html" in page
    finally:
        server.terminate()
        server.wait(timeout=30)
    # passed: the copy and the venv (some 30,000 files) go, so that the session's later
    # scans of the temporary directory (the storage residue test) do not walk them again
    shutil.rmtree(venv)
    shutil.rmtree(source)
