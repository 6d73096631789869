"""Vetting across processes (issue 16): separate `backup-node serve` (with `[expert_app]`
and `[federation]`) and `backup-observatory serve` processes on 127.0.0.1. The expert's
profile is signed by their own key; a coordinator vouches on the staff page; the node's
outbox carries the vouch to the observatory; the admin countersigns; the node keeps the
credential and, at once, the directory that lists the expert; the expert app answers on its
own address."""

from __future__ import annotations

import json
import re
import sqlite3
import time
import urllib.request
from pathlib import Path

import aiohttp
import pyotp
import pytest

from crypto import passphrase as pw
from node import accounts
from node.context import open_node
from node.datadir import DataDir
from node.experts import directory, profiles
from protocol.experts import ExpertRefused
from protocol.statements import verify_key_from_hex
from tests.conftest import NodeProcess, free_port, make_node
from tests.conftest import test_config as base_config
from tests.integration.conftest import csrf_of
from tests.integration.test_federation_network import (
    Node,
    Observatory,
    _federation,
    _keys,
    cli,
    eventually,
    staff,
)
from tests.unit.observatory.support import make_observatory

PASS = "a long enough passphrase"
EXPERT = "zawadi-canary"  # a username that no code or key can contain by chance


def add_expert(root: Path) -> str:
    """An expert account with a filled-in profile (which the expert signs), made before the
    node starts; their public signing key."""
    ctx = open_node(DataDir(root), staff_params=pw.INSECURE_FAST_FOR_TESTS,
                    receipt_params=pw.INSECURE_FAST_FOR_TESTS)
    try:
        with ctx.db.write() as conn:
            accounts.create(conn, EXPERT, PASS, {"expert"}, pw.INSECURE_FAST_FOR_TESTS, 0,
                            certifier=ctx.keys.certifier)
        expert = accounts.unlock(ctx.db.read(), EXPERT, PASS)
        now = int(time.time())
        profiles.save_profile(ctx.db, ctx.audit, expert, node_id=ctx.keys.node_id,
                              specialties=["forensic_medicine"], languages=["fr", "sw"],
                              countries=["CD"], regions=["CD-NK"], modes=["on_site"], now=now)
        stored = profiles.get(ctx.db.read(), expert.member.id)
        assert stored is not None
        return stored.signing_public_key.hex()
    finally:
        ctx.close()


async def test_a_vouch_travels_to_the_observatory_and_the_credential_comes_back(
        tmp_path: Path) -> None:
    observatory = Observatory(make_observatory(tmp_path / "observatory"),
                              tmp_path / "observatory.log")
    roots = [make_node(tmp_path / name).root for name in "ab"]
    nodes = [Node(name, root, _keys(root), NodeProcess(root, free_port(), tmp_path / f"{name}.log"))
             for name, root in zip("ab", roots, strict=True)]
    a, b = nodes
    expert_port = free_port()
    try:
        observatory.start()
        observatory_key = verify_key_from_hex(observatory.info["identity_key"])
        expert_key = add_expert(a.root)
        (a.root / "node.toml").write_text(
            base_config() + _federation(observatory, a, b)
            + f"\n[expert_app]\nenabled = true\nport = {expert_port}\n")
        a.process.start()
        await eventually(lambda: a.membership() == "pending", "pending")
        cli("-m", "observatory.cli", "approve", a.node_id, "--data", str(observatory.root))
        await eventually(lambda: a.membership() == "approved", "a approved")
        with urllib.request.urlopen(f"http://127.0.0.1:{expert_port}/expert/login",
                                    timeout=10) as r:
            assert r.status == 200

        session = await staff(a)
        try:
            page = await (await session.get("/staff/experts")).text()
            assert EXPERT in page and "Not vouched for yet" in page
            staff_id = a.query("SELECT staff_id FROM expert_profiles")[0][0]
            r = await session.post(f"/staff/experts/{staff_id}/vouch",
                                   data={"csrf": csrf_of(page)}, allow_redirects=False)
            assert r.status == 303, await r.text()
        finally:
            await session.close()

        def waiting() -> str | None:
            out = cli("-m", "observatory.cli", "expert-vouches", "--data",
                      str(observatory.root)).stdout
            return out if expert_key in out else None

        listing = await eventually(waiting, "the vouch arrived")
        assert a.node_id in listing and "forensic_medicine" in listing
        vouch_id = listing.split()[0]
        out = cli("-m", "observatory.cli", "countersign", vouch_id, "--days", "30", "--data",
                  str(observatory.root)).stdout
        serial = out.split("credential ")[1].split(",")[0]

        def kept() -> bool:
            return a.query("SELECT credential IS NOT NULL FROM expert_profiles") == [(1,)]

        await eventually(kept, "the credential kept by the node")

        def listed() -> bool:
            rows = a.query("SELECT directory FROM expert_directory")
            return bool(rows) and any(
                e["credential"]["body"]["serial"] == serial
                for e in json.loads(rows[0][0])["body"]["entries"])

        await eventually(listed, "the directory listing the expert")
        # One tap on the expert app (after the required second factor) reaches the directory.
        app = f"http://127.0.0.1:{expert_port}"
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as web:
            form = await (await web.get(f"{app}/expert/login")).text()
            r = await web.post(f"{app}/expert/login", data={
                "csrf": csrf_of(form), "username": EXPERT, "passphrase": PASS})
            page = await r.text()
            secret = re.search(r'id="totp-secret">([^<]+)<', page)
            assert secret, page
            r = await web.post(f"{app}/expert/second-factor", data={
                "csrf": csrf_of(page),
                "code": pyotp.TOTP(secret.group(1).replace(" ", "")).now()})
            home = await r.text()
            r = await web.post(f"{app}/expert/availability",
                               data={"csrf": csrf_of(home), "availability": "now"})
            assert r.status == 200

        def available() -> bool:
            rows = a.query("SELECT directory FROM expert_directory")
            return any(e["availability"] == "now"
                       for e in json.loads(rows[0][0])["body"]["entries"])

        await eventually(available, "the availability in the node's directory", timeout=30)
        conn = sqlite3.connect(f"file:{a.root / 'node.db'}?mode=ro", uri=True)
        try:
            entry = directory.shareable(conn, expert_key, observatory_key=observatory_key,
                                        now=int(time.time()))
            assert entry.credential.body.serial == serial
        finally:
            conn.close()

        # Revoked by the admin: the node's next directory names it; sharing is refused.
        cli("-m", "observatory.cli", "revoke-expert", serial, "--reason", "misconduct",
            "--data", str(observatory.root))

        def revoked() -> bool:
            rows = a.query("SELECT directory FROM expert_directory")
            return any(r["serial"] == serial
                       for r in json.loads(rows[0][0])["body"]["revocations"])

        await eventually(revoked, "the revocation in the node's directory", timeout=30)
        conn = sqlite3.connect(f"file:{a.root / 'node.db'}?mode=ro", uri=True)
        try:
            with pytest.raises(ExpertRefused):
                directory.shareable(conn, expert_key, observatory_key=observatory_key,
                                    now=int(time.time()))
        finally:
            conn.close()
        # Pseudonymous: the observatory holds keys and codes, never the expert's username.
        for path in observatory.root.glob("observatory.db*"):
            assert EXPERT.encode() not in path.read_bytes()
    finally:
        a.process.stop()
        observatory.stop()
