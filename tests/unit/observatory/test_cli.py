"""``backup-observatory`` in-process on real data directories: init (the production Argon2id
parameters, once), show-key, and the admin commands."""

from __future__ import annotations

import json
import stat
import time
from pathlib import Path

import pytest

from observatory.admin_passphrase import verify_passphrase
from observatory.cli import PASSPHRASE_ENV, main
from observatory.context import open_observatory
from tests.unit.observatory.fakenode import FakeNode
from transport.identity import peer_id_from_public_key


def test_init_creates_a_private_identity_and_a_hashed_passphrase(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    root = tmp_path / "obs"
    monkeypatch.setenv(PASSPHRASE_ENV, "a long enough passphrase")
    assert main(["init", "--data", str(root)]) == 0
    assert "node id" in capsys.readouterr().out
    assert stat.S_IMODE(root.stat().st_mode) == 0o700
    assert stat.S_IMODE((root / "keys" / "identity.key").stat().st_mode) == 0o600
    assert (root / "observatory.toml").exists()
    ctx = open_observatory(root)
    try:
        stored = ctx.admin_passphrase_hash()
        assert stored is not None and stored.startswith("$argon2id$")
        assert "m=262144,t=3" in stored  # libsodium's MODERATE: 256 MiB, 3 passes
        assert verify_passphrase(stored, "a long enough passphrase")
        assert "a long enough" not in (root / "observatory.db").read_bytes().decode("latin-1")
    finally:
        ctx.close()
    # a second init changes nothing
    assert main(["init", "--data", str(root)]) == 1


def test_init_refuses_a_short_passphrase(tmp_path: Path,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(PASSPHRASE_ENV, "short")
    assert main(["init", "--data", str(tmp_path / "obs")]) == 2
    assert not (tmp_path / "obs").exists()


def test_show_key_prints_what_nodes_pin(observatory_dir: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["show-key", "--data", str(observatory_dir), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    ctx = open_observatory(observatory_dir)
    try:
        assert info["node_id"] == ctx.identity.node_id
        assert info["identity_key"] == ctx.identity.verify_key.raw().hex()
        assert info["peer_id"] == peer_id_from_public_key(ctx.identity.verify_key.raw())
        assert info["addrs"] == ["/ip4/127.0.0.1/tcp/4001"]
        assert info["multiaddrs"] == [f"/ip4/127.0.0.1/tcp/4001/p2p/{info['peer_id']}"]
        assert info["witness_vkey"].startswith(f"backup.witness/{info['node_id']}+")
    finally:
        ctx.close()
    assert main(["show-key", "--data", str(observatory_dir)]) == 0
    text = capsys.readouterr().out
    assert f'observatory_node_id = "{info["node_id"]}"' in text
    assert f'observatory_identity_key = "{info["identity_key"]}"' in text
    assert 'observatory_addrs = ["/ip4/127.0.0.1/tcp/4001"]' in text


def test_admin_commands(observatory_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = ["--data", str(observatory_dir)]
    ok, no = FakeNode(organisation_name="Maison Espoir"), FakeNode(organisation_name="Nope")
    ctx = open_observatory(observatory_dir)
    try:
        with ctx.db.write() as conn:
            for node in (ok, no):
                ctx.members.enroll_in(conn, node.membership_request(), int(time.time()))
    finally:
        ctx.close()
    assert main(["requests", *data]) == 0
    listing = capsys.readouterr().out
    assert "Maison Espoir" in listing and ok.node_id in listing and "federation@" in listing
    assert main(["approve", ok.node_id, *data]) == 0
    assert main(["approve", ok.node_id, *data]) == 1  # already approved: nothing changed
    assert "approved, not pending" in capsys.readouterr().err
    assert main(["reject", no.node_id, "--reason", "Unknown organisation", *data]) == 0
    capsys.readouterr()
    assert main(["members", *data]) == 0
    members = capsys.readouterr().out
    assert "sequence 1" in members and ok.node_id in members and no.node_id not in members
    assert main(["revoke", ok.node_id, "--reason", "left_federation", *data]) == 0
    assert main(["members", "--all", *data]) == 0
    everyone = capsys.readouterr().out
    assert "sequence 2" in everyone and "left_federation" in everyone
    assert "Unknown organisation" in everyone
    with pytest.raises(SystemExit):
        main(["revoke", ok.node_id, "--reason", "because", *data])
    assert main(["requests", "--data", str(observatory_dir)]) == 0
    assert "No request" in capsys.readouterr().out


def test_commands_on_a_directory_without_an_observatory(tmp_path: Path) -> None:
    with pytest.raises(SystemExit, match="no observatory"):
        main(["members", "--data", str(tmp_path)])
