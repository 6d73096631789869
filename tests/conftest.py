"""Shared fixtures: real nodes in temporary directories, real servers on 127.0.0.1.

In-process fixtures use the smallest Argon2id parameters (`INSECURE_FAST_FOR_TESTS`, the
SecureDrop pattern); nodes started through the CLI in a subprocess use production ones.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterable, Iterator
from pathlib import Path

import pytest

from crypto import passphrase as pw
from node.context import NodeContext, open_node
from node.datadir import DataDir

ROOT = Path(__file__).resolve().parent.parent
ADMIN = "admin"
ADMIN_PASSPHRASE = "correct horse battery staple"
CANARY = "CANARY-7f3a9c"

TEST_CONFIG = """\
site_name = "BackUp test"
organisation = "Test organisation"
disguise_name = "Garden notes"
quick_exit_url = "{exit_url}"
languages = ["en", "fr", "ar", "sw", "uk"]
default_language = "en"
secure_cookies = false

[limits]
max_file_mb = 2
max_total_mb = 3
max_files = 4
max_text_chars = 5000

[rate_limits]
reports_per_minute = 1000
receipt_attempts_per_minute = 1000
staff_logins_per_minute = 1000

[[regions]]
code = "R1"
name = "North"
names = {{ fr = "Nord", ar = "الشمال" }}
subdivision = "CD-NK"

[[regions]]
code = "R2"
name = "South"
subdivision = "CD-SK"

[[crisis_contacts]]
name = "Test line"
contact = "000"

[[services]]
id = "clinic"
name = "North clinic"
kinds = ["medical", "psychosocial"]
regions = ["R1"]
contact = "+000 1"

[[services]]
id = "lawyers"
name = "Lawyers everywhere"
kinds = ["legal"]
contact = "+000 2"
"""


def test_config(exit_url: str = "http://127.0.0.1:9/neutral") -> str:
    return TEST_CONFIG.format(exit_url=exit_url)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def make_node(root: Path, config_text: str | None = None,
              staff_params: pw.KdfParams = pw.INSECURE_FAST_FOR_TESTS) -> DataDir:
    from node.context import init_node

    datadir = DataDir(root)
    init_node(datadir, ADMIN, ADMIN_PASSPHRASE, config_text or test_config(), staff_params)
    return datadir


@pytest.fixture(scope="session")
def _initialised_node(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One node made by `make_node` for the session, never opened: `node_dir` copies it."""
    return make_node(tmp_path_factory.mktemp("node-template") / "node").root


@pytest.fixture
def node_dir(tmp_path: Path, _initialised_node: Path) -> DataDir:
    """A fresh node of the test's own: a file copy of the session's initialised one (its
    database, keys and configuration), not a new `init` (migrations and key generation,
    their fsyncs, for each of a thousand tests). Tests that need nodes of distinct identity
    make the others with `make_node`."""
    shutil.copytree(_initialised_node, tmp_path / "node")
    return DataDir(tmp_path / "node")


@pytest.fixture
def node_ctx(node_dir: DataDir) -> Iterator[NodeContext]:
    ctx = open_node(node_dir, staff_params=pw.INSECURE_FAST_FOR_TESTS,
                    receipt_params=pw.INSECURE_FAST_FOR_TESTS)
    yield ctx
    ctx.close()


def files_containing(root: Path, needle: bytes) -> list[Path]:
    """Every file under `root` whose bytes contain `needle` (the canary check)."""
    hits = []
    for p in root.rglob("*"):
        if p.is_file() and needle in p.read_bytes():
            hits.append(p)
    return hits


class NodeProcess:
    """`backup-node serve` in a real subprocess, for restarts and kill -9."""

    def __init__(self, datadir: Path, port: int, log_path: Path) -> None:
        self.datadir = datadir
        self.port = port
        self.log_path = log_path
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 120) -> None:  # a bound for hangs: loaded machines are slow
        self.launch()
        self.wait_started(timeout)

    def launch(self) -> None:
        """The process, started; `wait_started` waits until it serves."""
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            # the staff office on the public address too: the explicit choice, so that these
            # tests reach both at `url` (the default, apart, is tested in test_node_server)
            [sys.executable, "-m", "node.cli", "serve", "--data", str(self.datadir),
             "--host", "127.0.0.1", "--port", str(self.port), "--staff-on-public"],
            stdout=log, stderr=subprocess.STDOUT, cwd=ROOT, env={**os.environ})
        log.close()

    def wait_started(self, timeout: float = 120) -> None:
        assert self.proc is not None, "launch() first"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"node exited: {self.log_path.read_text()[-2000:]}")
            try:
                with urllib.request.urlopen(self.url + "/en/", timeout=1) as r:
                    if r.status == 200:
                        return
            except OSError:
                time.sleep(0.1)
        raise TimeoutError("node did not start")

    def kill9(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)


def start_together(processes: Iterable[NodeProcess]) -> None:
    """Start several nodes at once, then wait until each serves: their imports and start-up
    run side by side on the machine's cores instead of one after another."""
    started = list(processes)
    for process in started:
        process.launch()
    for process in started:
        process.wait_started()


def init_with_cli(root: Path, config_text: str) -> None:
    """`backup-node init` exactly as an admin runs it (production Argon2id parameters)."""
    env = {**os.environ, "BACKUP_ADMIN_PASSPHRASE": ADMIN_PASSPHRASE}
    out = subprocess.run([sys.executable, "-m", "node.cli", "init", "--data", str(root),
                          "--admin", ADMIN], env=env, cwd=ROOT, capture_output=True,
                         timeout=120, check=True)
    assert b"RECOVERY KEY" in out.stdout
    (root / "node.toml").write_text(config_text, encoding="utf-8")


@pytest.fixture
def node_process(tmp_path: Path) -> Iterator[NodeProcess]:
    root = tmp_path / "node"
    init_with_cli(root, test_config())
    proc = NodeProcess(root, free_port(), tmp_path / "node.log")
    proc.start()
    yield proc
    proc.stop()


@pytest.fixture(scope="session")
def chromium_path() -> str:
    path = shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(path).exists():
        pytest.fail("Debian's chromium is not installed: run `make test`, which installs it")
    return path
