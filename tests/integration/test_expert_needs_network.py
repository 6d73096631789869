"""Mobilising an expert across organisations (issue 16), with the observatory and three
real `backup-node serve` processes on 127.0.0.1 (libp2p, SQLite on disk). A coordinator on
A posts a need; the expert directory matches an expert of B; the need travels through A's
outbox to B; B's expert sees it in the expert app and accepts (signed with their own key);
A's coordinator picks them; both nodes record the engagement, and the description sealed
to the expert opens only in their app; they write to each other in the engagement's end-to-end
encrypted thread. A's coordinator shares a case with the engaged expert,
who reads it in the app and signs an opinion that A commits as evidence; A revokes it: the
expert can no longer read it and no sealed part is left on either node (issue 16
"Multi-process run": the whole flow). Then a need whose deadline passes while B is offline:
B refuses it when it arrives late, and erases one it held when it comes back."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import Any

import aiohttp
import pyotp
import pytest

from crypto import passphrase as pw
from node import accounts
from node.context import open_node
from node.datadir import DataDir
from node.experts import needs, profiles, vetting
from protocol.encoding import canonical_json
from protocol.statements import verify_key_from_hex
from tests.conftest import NodeProcess, files_containing, free_port, make_node, start_together
from tests.conftest import test_config as base_config
from tests.integration.conftest import csrf_of
from tests.integration.test_expert_shares import NARRATIVE, SCOPED, complete_on, report
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
PASS = "umbrella gravel orbit nineteen lantern"
EXPERT = "amani-expert"
COORDINATOR = "coord-a"
CANARY = "Canary-mobilise-4471 medico-legal exam"
OPINION = "OPINION-CANARY-91d0: findings consistent with the account"
THREAD_A = "Canary-thread-A: can you examine her on Monday?"
THREAD_B = "Canary-thread-B: yes, at ten, with an interpreter"


def _people(root: Path, *, expert: bool) -> None:
    """A coordinator (and on B an expert with a signed profile, vouched for), made before
    the node starts."""
    ctx = open_node(DataDir(root), staff_params=pw.INSECURE_FAST_FOR_TESTS,
                    receipt_params=pw.INSECURE_FAST_FOR_TESTS)
    try:
        with ctx.db.write() as conn:
            accounts.create(conn, COORDINATOR, PASS, {"coordinator"},
                            pw.INSECURE_FAST_FOR_TESTS, 0, certifier=ctx.keys.certifier)
            if expert:
                accounts.create(conn, EXPERT, PASS, {"expert"}, pw.INSECURE_FAST_FOR_TESTS, 0,
                                certifier=ctx.keys.certifier)
        if not expert:
            return
        person = accounts.unlock(ctx.db.read(), EXPERT, PASS)
        now = int(time.time())
        profiles.save_profile(ctx.db, ctx.audit, person, node_id=ctx.keys.node_id,
                              specialties=["forensic_medicine"], languages=["fr", "sw"],
                              countries=["CD"], regions=["CD-NK"], modes=["on_site"], now=now)
        vetting.vouch(ctx.db, ctx.audit, accounts.unlock(ctx.db.read(), COORDINATOR, PASS),
                      person.member.id, now)
    finally:
        ctx.close()


def _config(observatory: Observatory, node: Node, nodes: list[Node], expert_port: int) -> str:
    ring = nodes[(nodes.index(node) + 1) % len(nodes)]
    peers = "".join(f'\n[[federation.peers]]\nnode_id = "{n.node_id}"\naddrs = ["{n.addr}"]\n'
                    for n in nodes if n is not node and n is not ring)
    return (base_config() + _federation(observatory, node, ring) + peers
            + f"\n[expert_app]\nenabled = true\nport = {expert_port}\n")


async def _staff(node: Node) -> aiohttp.ClientSession:
    session = aiohttp.ClientSession(base_url=node.process.url,
                                    cookie_jar=aiohttp.CookieJar(unsafe=True))
    token = csrf_of(await (await session.get("/staff/login")).text())
    r = await session.post("/staff/login", data={"csrf": token, "username": COORDINATOR,
                                                 "passphrase": PASS}, allow_redirects=False)
    assert r.status == 303, await r.text()
    return session


async def _expert(app: str) -> tuple[aiohttp.ClientSession, str]:
    """The expert signed in on their app, second factor enrolled; their home page."""
    web = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
    form = await (await web.get(f"{app}/expert/login")).text()
    r = await web.post(f"{app}/expert/login", data={
        "csrf": csrf_of(form), "username": EXPERT, "passphrase": PASS})
    page = await r.text()
    secret = re.search(r'id="totp-secret">([^<]+)<', page)
    assert secret, page
    r = await web.post(f"{app}/expert/second-factor", data={
        "csrf": csrf_of(page), "code": pyotp.TOTP(secret.group(1).replace(" ", "")).now()})
    home = await r.text()
    r = await web.post(f"{app}/expert/availability",
                       data={"csrf": csrf_of(home), "availability": "now"})
    return web, await r.text()


def _post_in_the_past(node: Node, observatory: Observatory, seconds_left: int) -> str:
    """A need posted (with the node stopped) nearly an hour ago, so that its deadline is
    `seconds_left` away (a deadline is at least an hour after posting): posted now, then
    its times, and those of its message still waiting for the outbox, moved back an hour,
    as if the node had been posted to then."""
    ctx = open_node(DataDir(node.root), staff_params=pw.INSECURE_FAST_FOR_TESTS,
                    receipt_params=pw.INSECURE_FAST_FOR_TESTS)
    try:
        coordinator = accounts.unlock(ctx.db.read(), COORDINATOR, PASS)
        now = int(time.time())
        need_id, reached = needs.post(
            ctx.db, ctx.audit, coordinator, node_id=ctx.keys.node_id,
            observatory_key=verify_key_from_hex(observatory.info["identity_key"]),
            specialty="forensic_medicine", languages=["sw"], country="CD", regions=[],
            mode="on_site", urgency="immediate", deadline_hours=1, description="",
            report_id=None, now=now)
        assert reached == 1
        shift = 3600 - seconds_left
        with ctx.db.write() as conn:
            conn.execute("UPDATE expert_needs SET posted_at = posted_at - ?, "
                         "answer_by = answer_by - ?, deadline = deadline - ? WHERE need_id = ?",
                         (shift, shift, shift, need_id))
            [(row_id, text)] = conn.execute("SELECT id, message FROM expert_outgoing").fetchall()
            message = json.loads(text)
            message["posted_at"] -= shift
            message["deadline"] -= shift
            conn.execute("UPDATE expert_outgoing SET message = ? WHERE id = ?",
                         (canonical_json(message).decode(), row_id))
        return need_id
    finally:
        ctx.close()


async def test_a_need_on_a_reaches_an_expert_on_b_who_is_engaged(tmp_path: Path) -> None:
    observatory = Observatory(make_observatory(tmp_path / "observatory"),
                              tmp_path / "observatory.log")
    nodes: list[Node] = []
    for name in "abc":
        root = make_node(tmp_path / name).root
        nodes.append(Node(name, root, _keys(root),
                          NodeProcess(root, free_port(), tmp_path / f"{name}.log")))
    a, b, c = nodes
    ports = {n.name: free_port() for n in nodes}
    _people(a.root, expert=False)
    _people(b.root, expert=True)
    try:
        observatory.start()
        for node in nodes:
            (node.root / "node.toml").write_text(_config(observatory, node, nodes,
                                                         ports[node.name]))
        start_together(node.process for node in nodes)
        for node in nodes:
            await eventually(lambda n=node: n.membership() == "pending", "pending")
            cli("-m", "observatory.cli", "approve", node.node_id, "--data",
                str(observatory.root))

        def vouch_waiting() -> str | None:
            out = cli("-m", "observatory.cli", "expert-vouches", "--data",
                      str(observatory.root)).stdout
            return out if b.node_id in out else None

        vouch_id = (await eventually(vouch_waiting, "B's vouch at the observatory")).split()[0]
        cli("-m", "observatory.cli", "countersign", vouch_id, "--days", "30", "--data",
            str(observatory.root))
        app = f"http://127.0.0.1:{ports['b']}"
        expert_web, _home = await _expert(app)

        def listed_available() -> bool:
            rows = a.query("SELECT directory FROM expert_directory")
            return bool(rows) and any(e["availability"] == "now" for e in
                                      json.loads(rows[0][0])["body"]["entries"])

        await eventually(listed_available, "A's directory listing B's available expert")

        # A's coordinator posts the need: only structured fields leave A.
        coordinator = await _staff(a)
        page = await (await coordinator.get("/staff/needs")).text()
        r = await coordinator.post("/staff/needs", data={
            "csrf": csrf_of(page), "specialty": "forensic_medicine", "languages": "sw",
            "country": "CD", "regions": "CD-NK", "mode": "on_site", "urgency": "urgent",
            "deadline_hours": "48", "description": CANARY}, allow_redirects=False)
        assert r.status == 303, await r.text()
        need_path = r.headers["Location"].split("?")[0]
        need_id = need_path.rsplit("/", 1)[1]

        def arrived() -> bool:
            return bool(b.query("SELECT 1 FROM expert_needs_received WHERE need_id = ?",
                                need_id))

        await eventually(arrived, "the need on B")
        assert not c.query("SELECT 1 FROM expert_needs_received")  # nobody of C matched
        # B's expert sees it (the badge, then the list) and accepts.
        home = await (await expert_web.get(f"{app}/expert/")).text()
        assert 'class="badge"' in home
        listing = await (await expert_web.get(f"{app}/expert/needs")).text()
        assert f"need-{need_id}" in listing and CANARY not in listing
        r = await expert_web.post(f"{app}/expert/needs/{a.node_id}/{need_id}/answer",
                                  data={"csrf": csrf_of(listing), "answer": "accept"})
        assert r.status == 200

        def accepted() -> bool:
            return a.query("SELECT answer FROM expert_need_matches WHERE need_id = ?",
                           need_id) == [("accept",)]

        await eventually(accepted, "the signed acceptance on A")
        page = await (await coordinator.get(need_path)).text()
        [expert_key] = re.findall(r'name="expert" value="([0-9a-f]{64})"', page)
        r = await coordinator.post(f"{need_path}/pick", data={
            "csrf": csrf_of(page), "expert": expert_key}, allow_redirects=False)
        assert r.status == 303, await r.text()
        [(engagement_id, home_node)] = a.query(
            "SELECT engagement_id, home_node FROM expert_engagements")
        assert home_node == b.node_id

        def recorded() -> list[Any]:
            return b.query("SELECT engagement_id, requesting_node, expert_key "
                           "FROM expert_engagements")

        [(on_b, requesting, key_on_b)] = await eventually(recorded, "the engagement on B")
        assert (on_b, requesting, key_on_b) == (engagement_id, a.node_id, expert_key)
        # The description opens in the expert's app only; it is sealed at rest on both nodes.
        listing = await (await expert_web.get(f"{app}/expert/needs")).text()
        assert f"/expert/engagements/{engagement_id}" in listing
        opened = await (await expert_web.get(f"{app}/expert/engagements/{engagement_id}")).text()
        assert CANARY in opened

        # One message each way in the engagement's end-to-end encrypted thread.
        thread_page = await (await coordinator.get(f"/staff/threads/{engagement_id}")).text()
        r = await coordinator.post(f"/staff/threads/{engagement_id}", data={
            "csrf": csrf_of(thread_page), "text": THREAD_A}, allow_redirects=False)
        assert r.status == 303, await r.text()

        def messages_on(node: Node) -> int:
            return int(node.query("SELECT count(*) FROM expert_thread_messages WHERE "
                                  "thread_id = ?", engagement_id)[0][0])

        await eventually(lambda: messages_on(b) == 1, "A's message on B")
        opened = await (await expert_web.get(f"{app}/expert/engagements/{engagement_id}")).text()
        assert THREAD_A in opened
        r = await expert_web.post(f"{app}/expert/threads/{engagement_id}", data={
            "csrf": csrf_of(opened), "text": THREAD_B}, allow_redirects=False)
        assert r.status == 303, await r.text()
        await eventually(lambda: messages_on(a) == 2, "B's answer on A")
        thread_page = await (await coordinator.get(f"/staff/threads/{engagement_id}")).text()
        assert THREAD_A in thread_page and THREAD_B in thread_page
        for root in (a.root, b.root, c.root, observatory.root):
            assert files_containing(root, b"Canary-thread-") == []

        # A shares a case with the engaged expert (its reporter allowed experts of other
        # organisations to see the account), on the case's share page.
        case_id = await report(a, SCOPED)
        office = await staff(a)  # the admin, who holds the case keys, shares it
        try:
            form = await (await office.get(f"/staff/cases/{case_id}/share?engagement="
                                           f"{engagement_id}&expert={expert_key}")).text()
            assert engagement_id in form
            r = await office.post(f"/staff/cases/{case_id}/share", data=[
                ("csrf", csrf_of(form)), ("engagement", engagement_id),
                ("expert", expert_key), ("days", "7"), ("groups", "narrative"),
                ("groups", "when")], allow_redirects=False)
            assert r.status == 303, await r.text()
            [(share_id, to_node)] = a.query("SELECT share_id, home_node FROM "
                                            "expert_shares_sent WHERE report_id = ?", case_id)
            assert to_node == b.node_id
            await eventually(lambda: complete_on(b, share_id) and not a.query(
                "SELECT 1 FROM expert_share_parts"), "the share kept on B")
            # B's expert reads it in the app, opened with their key; never at rest on B.
            shared = await expert_web.get(f"{app}/expert/shares/{share_id}")
            assert shared.status == 200 and NARRATIVE in await shared.text()
            for root in (b.root, c.root, observatory.root):
                assert files_containing(root, NARRATIVE.encode()) == []
            # B's expert signs an opinion on it (issue 16): sealed to A, through B's outbox,
            # checked and committed to A's evidence log, opened by a coordinator of A.
            await eventually(lambda: b.query("SELECT count(*) FROM expert_profiles WHERE "
                                             "credential IS NOT NULL") == [(1,)],
                             "the credential kept on B")
            page = await (await expert_web.get(f"{app}/expert/shares/{share_id}/opinion")
                          ).text()
            body = aiohttp.FormData()
            for name, value in (("csrf", csrf_of(page)), ("kind", "medico_legal_certificate"),
                                ("text", OPINION)):
                body.add_field(name, value)
            r = await expert_web.post(f"{app}/expert/shares/{share_id}/opinion", data=body,
                                      allow_redirects=False)
            assert r.status == 303, await r.text()
            await eventually(lambda: a.query("SELECT count(*) FROM expert_opinions") == [
                (1,)], "the signed opinion on A")
            opinions_page = await (await office.get(f"/staff/cases/{case_id}/opinions")
                                   ).text()
            assert OPINION in opinions_page
            for root in (a.root, b.root, observatory.root):
                assert files_containing(root, OPINION.encode()) == []
            # A revokes: at once nothing of it is left on A or waiting in A's outbox ...
            form = await (await office.get(f"/staff/cases/{case_id}/share")).text()
            r = await office.post(f"/staff/cases/{case_id}/shares/{share_id}/revoke",
                                  data={"csrf": csrf_of(form)}, allow_redirects=False)
            assert r.status == 303, await r.text()
        finally:
            await office.close()
        assert a.query("SELECT count(*) FROM expert_share_parts") == [(0,)]
        assert a.query("SELECT count(*) FROM transport_outbox WHERE message_type = ? AND "
                       "status = 'pending'", "expert.share v1") == [(0,)]
        # ... and B erases its copy: the expert can no longer read it.
        await eventually(lambda: b.query(
            "SELECT revoked_at IS NOT NULL FROM expert_shares_held WHERE share_id = ?",
            share_id) == [(1,)] and b.query("SELECT count(*) FROM expert_share_parts") == [
            (0,)], "the share erased on B")
        gone = await expert_web.get(f"{app}/expert/shares/{share_id}", allow_redirects=False)
        assert gone.status == 404
        assert c.query("SELECT count(*) FROM expert_share_parts") == [(0,)]
        await coordinator.close()
        await expert_web.close()
        for node in (a, b):
            for path in node.root.glob("node.db*"):
                assert CANARY.encode() not in path.read_bytes(), path

        # A need expires at its deadline everywhere, also on a node that was offline.
        for node in (a, b):
            node.process.stop()
        held = _post_in_the_past(a, observatory, 60)
        b.process.start()
        a.process.start()
        await eventually(lambda: b.query("SELECT 1 FROM expert_needs_received "
                                         "WHERE need_id = ?", held), "the short need on B")
        b.process.stop()
        a.process.stop()
        late = _post_in_the_past(a, observatory, 3)
        [(deadline,)] = a.query("SELECT max(deadline) FROM expert_needs WHERE need_id IN "
                                "(?, ?)", held, late)
        await eventually(lambda: time.time() > deadline + 1, "both deadlines passed",
                         timeout=120)
        b.process.start()
        a.process.start()  # delivers the late need at once

        def refused_late() -> bool:
            return bool(a.query("SELECT 1 FROM transport_outbox WHERE status = 'failed' "
                                "AND message_type = 'expert.need v1'"))

        await eventually(refused_late, "B refusing the need that arrived after its deadline")
        assert not b.query("SELECT 1 FROM expert_needs_received WHERE need_id = ?", late)
        await eventually(lambda: not b.query("SELECT 1 FROM expert_needs_received "
                                             "WHERE need_id = ?", held),
                         "B erasing the need whose deadline passed while it was offline")
    finally:
        for node in nodes:
            node.process.stop()
        observatory.stop()
