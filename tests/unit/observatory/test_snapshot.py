"""The public statistics as a static, signed snapshot (issue 21): written from a real
observatory database with a member's release, verified against the observatory's key, and
refused when a file is changed, added or removed, or the list is signed by another key;
also through the commands."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from crypto.keys import SigningKey
from observatory import snapshot
from observatory.context import ObservatoryContext
from tests.unit.observatory.fakenode import ObservatoryAddress
from tests.unit.observatory.releases import make_release
from tests.unit.observatory.test_release_ingest import ask, member

ROOT = Path(__file__).resolve().parents[3]


def _published(ctx: ObservatoryContext) -> None:
    obs = ObservatoryAddress(ctx.identity.node_id, ctx.identity.verify_key, ())
    node = member(ctx, obs)
    ask(ctx, obs, node, make_release())


def test_a_snapshot_verifies_and_holds_the_pages_and_open_data(ctx: ObservatoryContext,
                                                                tmp_path: Path) -> None:
    _published(ctx)
    made = snapshot.write(ctx, tmp_path / "site")
    root = made.directory
    for lang in ctx.config.languages:
        page = (root / lang / "index.html").read_text(encoding="utf-8")
        assert "<html" in page and "<script" not in page
        assert (root / lang / "methodology" / "index.html").is_file()
        assert (root / lang / "countries" / "CD" / "index.html").is_file()
    assert b"2025" in (root / "data" / "statistics.csv").read_bytes()
    assert snapshot.verify(root, ctx.identity.identity_key_hex) == []


def test_a_changed_added_or_removed_file_or_another_key_is_reported(
        ctx: ObservatoryContext, tmp_path: Path) -> None:
    _published(ctx)
    root = snapshot.write(ctx, tmp_path / "site").directory
    key = ctx.identity.identity_key_hex
    csv = root / "data" / "statistics.csv"
    original = csv.read_bytes()
    csv.write_bytes(original.replace(b"2025", b"2024", 1))
    assert snapshot.verify(root, key) == ["changed: data/statistics.csv"]
    csv.write_bytes(original)
    (root / "en" / "extra.html").write_text("<p>not from the observatory</p>")
    assert snapshot.verify(root, key) == ["not in the signed list: en/extra.html"]
    (root / "en" / "extra.html").unlink()
    (root / "en" / "index.html").unlink()
    assert snapshot.verify(root, key) == ["missing: en/index.html"]
    other = SigningKey.generate().verify_key.raw().hex()
    assert "not signed by this observatory's key" in snapshot.verify(root, other)[0]
    sig = root / snapshot.SIGNATURE
    flipped = bytearray(sig.read_text().strip(), "ascii")
    flipped[0] = ord("0") if flipped[0] != ord("0") else ord("1")
    sig.write_text(flipped.decode())
    assert "not signed by this observatory's key" in snapshot.verify(root, key)[0]


def test_the_commands_write_and_verify_a_snapshot(observatory_dir: Path,
                                                  tmp_path: Path) -> None:
    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "observatory.cli", *args],
                              capture_output=True, text=True, cwd=ROOT, timeout=120,
                              check=False)

    made = run("snapshot", "--data", str(observatory_dir), "--out", str(tmp_path / "s"))
    assert made.returncode == 0, made.stderr
    key = made.stdout.rsplit("--identity-key ", 1)[1].strip()
    good = run("verify-mirror", "--dir", str(tmp_path / "s"), "--identity-key", key)
    assert good.returncode == 0 and "exactly what the observatory signed" in good.stdout
    (tmp_path / "s" / "index.html").write_text("<p>defaced</p>")
    bad = run("verify-mirror", "--dir", str(tmp_path / "s"), "--identity-key", key)
    assert bad.returncode == 1 and "changed: index.html" in bad.stderr
