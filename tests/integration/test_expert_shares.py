"""Consented case sharing across processes (issue 16): `backup-observatory serve` and two
`backup-node serve` processes on 127.0.0.1. Node b is an expert's home node; node a's
coordinator shares part of a report with that expert (a vetted expert, countersigned by the
observatory). The expert reads it in the expert app on b; the share is revoked, and no wrap
is left on either node; then again with b offline at the revocation: a holds nothing at
once, b erases its copy when it returns. Refusals (no consent, a scope never asked, outside
the scope, a revoked credential) store nothing; the narrative is never in plaintext under
b's or the observatory's data directory."""

from __future__ import annotations

import json
import re
import secrets
import time
import urllib.request
from pathlib import Path
from typing import Any

import aiohttp
import pyotp
import pytest

from crypto import passphrase as pw
from node import accounts
from node.context import NodeContext, open_node
from node.datadir import DataDir
from node.experts.shares import ScopeNotAsked, ShareRefused
from protocol.statements import verify_key_from_hex
from tests.conftest import (
    ADMIN,
    ADMIN_PASSPHRASE,
    NodeProcess,
    files_containing,
    make_node,
    start_together,
)
from tests.conftest import test_config as base_config
from tests.expert_vetting import engaged
from tests.integration.conftest import csrf_of
from tests.integration.test_expert_federation import EXPERT, PASS, add_expert
from tests.integration.test_federation_double import listen_port
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

pytestmark = pytest.mark.slow

NARRATIVE = "SHARE-CANARY-4e1d: what happened, told only to the expert"
SCOPED = {"sharing": True, "share_account": True, "share_other_orgs": True,
          "share_scope_set": True}


async def report(node: Node, consent: dict[str, bool], narrative: str = NARRATIVE) -> str:
    """A report through the JSON API; its id."""
    before = {r[0] for r in node.query("SELECT id FROM reports")}
    async with aiohttp.ClientSession(base_url=node.process.url) as public:
        form = aiohttp.FormData()
        form.add_field("report", json.dumps({"narrative": narrative, "incident_year": 2024,
                                             "consent": consent}),
                       content_type="application/json")
        r = await public.post("/api/v1/reports", data=form)
        assert r.status == 201, await r.text()
    (new,) = {r[0] for r in node.query("SELECT id FROM reports")} - before
    return str(new)


def counts(node: Node) -> dict[str, int]:
    return {t: node.query(f"SELECT count(*) FROM {t}")[0][0]
            for t in ("expert_shares_sent", "expert_share_parts")}


class ExpertApp:
    """The expert signed in on their app (passphrase, then the required second factor)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.web = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
        self.totp: str | None = None

    async def sign_in(self) -> None:
        form = await (await self.web.get(f"{self.url}/expert/login")).text()
        r = await self.web.post(f"{self.url}/expert/login", data={
            "csrf": csrf_of(form), "username": EXPERT, "passphrase": PASS})
        page = await r.text()
        secret = re.search(r'id="totp-secret">([^<]+)<', page)
        if secret:  # first sign-in: enrol the second factor
            self.totp = secret.group(1).replace(" ", "")
            r = await self.web.post(f"{self.url}/expert/second-factor", data={
                "csrf": csrf_of(page), "code": pyotp.TOTP(self.totp).now()})
        else:
            assert self.totp is not None, page
            r = await self.web.post(f"{self.url}/expert/login/code", data={
                "csrf": csrf_of(page), "code": pyotp.TOTP(self.totp).now()})
        assert r.status == 200, await r.text()

    async def get(self, path: str) -> tuple[int, str]:
        r = await self.web.get(f"{self.url}{path}", allow_redirects=False)
        return r.status, await r.text()


def complete_on(node: Node, share_id: str) -> bool:
    held = node.query("SELECT parts, (SELECT count(*) FROM expert_share_parts p "
                      "WHERE p.share_id = h.share_id) FROM expert_shares_held h "
                      "WHERE share_id = ?", share_id)
    return bool(held) and held[0][0] == held[0][1] >= 1


def coordinator_of(ctx: NodeContext) -> accounts.UnlockedStaff:
    return accounts.unlock(ctx.db.read(), ADMIN, ADMIN_PASSPHRASE)


async def test_share_read_revoke_and_revoke_while_offline(tmp_path: Path) -> None:
    observatory = Observatory(make_observatory(tmp_path / "observatory"),
                              tmp_path / "observatory.log")
    roots = {name: make_node(tmp_path / name).root for name in "ab"}
    a, b = (Node(n, roots[n], _keys(roots[n]),
                 NodeProcess(roots[n], listen_port(), tmp_path / f"{n}.log")) for n in "ab")
    ports = {"a": listen_port(), "b": listen_port()}
    ctx: NodeContext | None = None
    expert_app = ExpertApp(f"http://127.0.0.1:{ports['b']}")
    try:
        observatory.start()
        observatory_key = verify_key_from_hex(observatory.info["identity_key"])
        expert_key = add_expert(b.root)
        for node, peer in ((a, b), (b, a)):
            (node.root / "node.toml").write_text(
                base_config() + _federation(observatory, node, peer)
                + f"\n[expert_app]\nenabled = true\nport = {ports[node.name]}\n")
        start_together(node.process for node in (a, b))
        for node in (a, b):
            await eventually(lambda n=node: n.membership() == "pending", "pending")  # type: ignore[misc]
            cli("-m", "observatory.cli", "approve", node.node_id, "--data",
                str(observatory.root))
            await eventually(lambda n=node: n.membership() == "approved", "approved")  # type: ignore[misc]

        # b's coordinator vouches; the observatory's admin countersigns.
        session = await staff(b)
        try:
            page = await (await session.get("/staff/experts")).text()
            staff_id = b.query("SELECT staff_id FROM expert_profiles")[0][0]
            r = await session.post(f"/staff/experts/{staff_id}/vouch",
                                   data={"csrf": csrf_of(page)}, allow_redirects=False)
            assert r.status == 303, await r.text()
        finally:
            await session.close()

        def waiting() -> str | None:
            out = cli("-m", "observatory.cli", "expert-vouches", "--data",
                      str(observatory.root)).stdout
            return out if expert_key in out else None

        vouch_id = (await eventually(waiting, "the vouch arrived")).split()[0]
        out = cli("-m", "observatory.cli", "countersign", vouch_id, "--days", "30", "--data",
                  str(observatory.root)).stdout
        serial = out.split("credential ")[1].split(",")[0]

        def a_lists_expert() -> bool:
            rows = a.query("SELECT directory FROM expert_directory")
            return bool(rows) and any(e["credential"]["body"]["expert_key"] == expert_key
                                      for e in json.loads(rows[0][0])["body"]["entries"])

        await eventually(a_lists_expert, "a's directory listing b's expert")

        scoped = await report(a, SCOPED)
        unasked = await report(a, {"sharing": True}, "an older consent, no scope asked")
        refused = await report(a, {"care": True}, "no sharing consent")
        local_only = await report(a, {"sharing": True, "share_account": True,
                                      "share_scope_set": True}, "this organisation only")

        ctx = open_node(DataDir(a.root), staff_params=pw.INSECURE_FAST_FOR_TESTS,
                        receipt_params=pw.INSECURE_FAST_FOR_TESTS)
        coordinator = coordinator_of(ctx)
        now = int(time.time())

        def share(report_id: str, groups: tuple[str, ...] = ("narrative", "when"),
                  files: tuple[str, ...] = ()) -> Any:
            assert ctx is not None
            return ctx.shares.share(coordinator, engagement_id=engaged(ctx, expert_key),
                                    report_id=report_id, expert_key=expert_key,
                                    groups=groups, files=files, expires=now + 3600,
                                    observatory_key=observatory_key)

        # Refusals store nothing.
        before = counts(a)
        with pytest.raises(ShareRefused) as no_consent:
            share(refused)
        assert no_consent.value.code == "no_consent"
        with pytest.raises(ScopeNotAsked):
            share(unasked)
        with pytest.raises(ShareRefused) as other_org:
            share(local_only)
        assert other_org.value.code == "not_other_orgs"
        with pytest.raises(ShareRefused) as outside:
            share(scoped, groups=("narrative", "contact"))
        assert outside.value.code == "no_contact_consent"
        with pytest.raises(ShareRefused) as no_files:
            share(scoped, groups=(), files=("ab" * 16,))
        assert no_files.value.code == "outside_scope"
        assert counts(a) == before

        # Shared: the parts leave a through its outbox and wait on b as ciphertext.
        sent = share(scoped)
        assert sent.home_node == b.node_id

        await eventually(lambda: complete_on(b, sent.share_id)
                         and counts(a)["expert_share_parts"] == 0, "the share kept on b")

        # The expert reads it on b's expert app, opened with their own key.
        await expert_app.sign_in()
        status, home = await expert_app.get("/expert/")
        assert status == 200 and f"/expert/shares/{sent.share_id}" in home
        status, page = await expert_app.get(f"/expert/shares/{sent.share_id}")
        assert status == 200 and NARRATIVE in page and "2024" in page
        # An id that was not shared with them: refused.
        status, _ = await expert_app.get(f"/expert/shares/{secrets.token_hex(16)}")
        assert status == 404

        # Canary: never in plaintext under b's or the observatory's data directory.
        for root in (b.root, observatory.root):
            assert files_containing(root, NARRATIVE.encode()) == []
            assert files_containing(root, b"SHARE-CANARY-4e1d") == []

        ctx.shares.revoke(coordinator, sent.share_id)
        assert ctx.shares.sent(sent.share_id).revoked_at is not None  # type: ignore[union-attr]
        assert counts(a)["expert_share_parts"] == 0
        assert a.query("SELECT count(*) FROM transport_outbox WHERE message_type = ? "
                       "AND status = 'pending'", "expert.share v1") == [(0,)]

        def erased_on(node: Node, share_id: str) -> bool:
            return node.query("SELECT count(*) FROM expert_share_parts WHERE share_id = ?",
                              share_id) == [(0,)] and node.query(
                "SELECT revoked_at IS NOT NULL FROM expert_shares_held WHERE share_id = ?",
                share_id) == [(1,)]

        await eventually(lambda: erased_on(b, sent.share_id), "the copy erased on b")
        status, _ = await expert_app.get(f"/expert/shares/{sent.share_id}")
        assert status == 404

        # Custody on both nodes.
        actions_a = {r[0] for r in a.query("SELECT action FROM audit_log")}
        assert {"expert.share", "expert.share_revoked"} <= actions_a
        actions_b = {r[0] for r in b.query("SELECT action FROM audit_log")}
        assert {"expert.share_received", "expert.share_opened", "expert.share_erased",
                "expert.share_refused"} <= actions_b

        # Again, with b offline when the coordinator stops the access.
        second = share(scoped)
        await eventually(lambda: complete_on(b, second.share_id), "the second share on b")
        b.process.stop()
        ctx.shares.revoke(coordinator, second.share_id)
        # At once on a: revoked, nothing of the material left, the revocation queued.
        assert counts(a)["expert_share_parts"] == 0
        assert ctx.shares.sent(second.share_id).active(int(time.time())) is False  # type: ignore[union-attr]
        await eventually(lambda: a.query(
            "SELECT count(*) FROM transport_outbox WHERE message_type = ? "
            "AND status = 'pending'", "expert.revocation v1") == [(1,)],
            "the revocation waiting for b")
        assert not erased_on(b, second.share_id)  # b is offline: its copy is still there
        b.process.start()
        await eventually(lambda: erased_on(b, second.share_id), "erased when b returned")

        # A revoked credential ends the expert's shares on both nodes, and nothing more is
        # shared, nothing stored.
        third = share(scoped)
        await eventually(lambda: complete_on(b, third.share_id), "the third share on b")
        cli("-m", "observatory.cli", "revoke-expert", serial, "--reason", "misconduct",
            "--data", str(observatory.root))
        await eventually(lambda: a.query(
            "SELECT revoke_reason FROM expert_shares_sent WHERE share_id = ?",
            third.share_id) == [("credential_revoked",)], "the share ended on a")
        await eventually(lambda: erased_on(b, third.share_id), "the share ended on b")

        def a_revoked() -> bool:
            rows = a.query("SELECT directory FROM expert_directory")
            return any(r["serial"] == serial
                       for r in json.loads(rows[0][0])["body"]["revocations"])

        await eventually(a_revoked, "the revocation in a's directory")
        before = counts(a)
        with pytest.raises(ShareRefused) as revoked:
            share(scoped)
        assert revoked.value.code in ("revoked", "not_listed")
        assert counts(a) == before
        with urllib.request.urlopen(f"{a.process.url}/en/", timeout=10) as r:
            assert r.status == 200
    finally:
        await expert_app.web.close()
        if ctx is not None:
            ctx.close()
        for node in (a, b):
            node.process.stop()
        observatory.stop()
