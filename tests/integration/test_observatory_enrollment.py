"""Enrollment end to end (issue 5, "Observatory: membership"): a node, played with a real
libp2p host and `protocol` messages, asks to join a real observatory (aiohttp + libp2p on
127.0.0.1, SQLite on disk); an admin approves by CLI or on the web page; the node's next
request returns its certificate; the signed membership list verifies with the observatory's
key, and a revocation appears in the next one.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import aiohttp
import pytest

from observatory.cli import main as cli
from protocol.delivery import DeliveryAck
from protocol.errors import RolledBack
from protocol.membership import MembershipDecision, MembershipList
from tests.unit.observatory.fakenode import FakeNode
from tests.unit.observatory.support import (
    PASSPHRASE,
    TEST_CONFIG,
    count_rows,
    login_data,
    make_observatory,
    serving,
)


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return make_observatory(tmp_path / "observatory")


async def sign_in(http: aiohttp.ClientSession, url: str) -> str:
    """Sign in on the admin page; the dashboard's CSRF token."""
    async with http.post(f"{url}/admin/en/login",
                         data=await login_data(http, url, "en", PASSPHRASE)) as r:
        assert r.status == 200 and str(r.url).endswith("/admin/en/")
        page = await r.text()
    match = re.search(r'name="csrf" value="([^"]+)"', page)
    assert match is not None
    return match.group(1)


async def test_enrollment_approved_by_cli_then_listed_then_revoked(root: Path) -> None:
    node = FakeNode(organisation_name="Clinique du Lac")
    async with serving(root) as (ctx, _served, obs):
        await node.start()
        try:
            # 1. the request is stored as pending, and asking again changes nothing
            answer = await node.enroll(obs)
            assert isinstance(answer, DeliveryAck) and answer.status == "accepted"
            before = count_rows(ctx, "members")
            again = await node.enroll(obs)  # a fresh envelope: the poll
            assert isinstance(again, DeliveryAck) and again.status == "accepted"
            assert count_rows(ctx, "members") == before == {"members": 1}
            member = ctx.members.get(node.node_id)
            assert member is not None and member.status == "pending"
            assert member.contact == "federation@example.org"

            # 2. not a member yet: the list is refused
            refused = await node.query_list(obs)
            assert isinstance(refused, DeliveryAck)
            assert (refused.status, refused.reason) == ("rejected", "not_a_member")

            # 3. the admin approves on the command line (while the server runs)
            assert cli(["approve", node.node_id, "--data", str(root)]) == 0

            # 4. the next request returns the certificate, signed by the observatory
            decision = await node.enroll(obs)
            assert isinstance(decision, MembershipDecision)
            assert decision.decision == "approved" and decision.certificate is not None
            body = decision.certificate.verify(issuer_key=obs.identity_key,
                                               now=int(time.time()))
            assert body.node_id == node.node_id and body.issuer == obs.node_id
            assert body.identity_key == node.key.verify_key.raw().hex()

            # 5. the membership list names the node and verifies with the observatory's key
            listed = await node.query_list(obs)
            assert isinstance(listed, MembershipList)
            first = listed.verify(issuer_key=obs.identity_key, now=int(time.time()),
                                  previous_sequence=None)
            entry = first.member(node.node_id)
            assert entry is not None and entry.certificate_serial == body.serial
            assert first.issuer == obs.node_id

            # 6. revocation appears in the next list, and the node's queries are refused
            assert cli(["revoke", node.node_id, "--reason", "misbehaviour",
                        "--data", str(root)]) == 0
            latest = ctx.lists.current(int(time.time()))
            after = latest.verify(issuer_key=obs.identity_key, now=int(time.time()),
                                  previous_sequence=first.sequence)
            assert after.member(node.node_id) is None
            assert [(r.node_id, r.reason) for r in after.revocations] == [
                (node.node_id, "misbehaviour")]
            with pytest.raises(RolledBack):
                listed.verify(issuer_key=obs.identity_key, now=int(time.time()),
                              previous_sequence=after.sequence)
            gone = await node.query_list(obs)
            assert isinstance(gone, DeliveryAck) and gone.reason == "not_a_member"
            revoked = await node.enroll(obs)
            assert isinstance(revoked, DeliveryAck) and revoked.reason == "revoked"
        finally:
            await node.stop()


async def test_enrollment_approved_and_rejected_on_the_web_page(root: Path) -> None:
    approved, rejected = FakeNode(organisation_name="Maison Espoir"), FakeNode()
    async with serving(root) as (ctx, served, obs):
        await approved.start()
        await rejected.start()
        try:
            for node in (approved, rejected):
                answer = await node.enroll(obs)
                assert isinstance(answer, DeliveryAck) and answer.status == "accepted"
            async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
                csrf = await sign_in(http, served.web_url)
                async with http.get(f"{served.web_url}/admin/en/") as r:
                    page = await r.text()
                assert "Maison Espoir" in page and approved.node_id in page
                # a form without the CSRF token is refused, and changes nothing
                async with http.post(
                        f"{served.web_url}/admin/en/requests/{approved.node_id}/approve") as r:
                    assert r.status == 403
                assert ctx.members.get(approved.node_id).status == "pending"  # type: ignore[union-attr]
                async with http.post(
                        f"{served.web_url}/admin/en/requests/{approved.node_id}/approve",
                        data={"csrf": csrf}) as r:
                    assert r.status == 200 and "is now a member" in await r.text()
                async with http.post(
                        f"{served.web_url}/admin/en/requests/{rejected.node_id}/reject",
                        data={"csrf": csrf, "reason": "We could not verify the organisation"}
                ) as r:
                    assert r.status == 200 and "was rejected" in await r.text()

            decision = await approved.enroll(obs)
            assert isinstance(decision, MembershipDecision) and decision.decision == "approved"
            assert decision.certificate is not None
            decision.certificate.verify(issuer_key=obs.identity_key, now=int(time.time()))
            refusal = await rejected.enroll(obs)
            assert isinstance(refusal, MembershipDecision) and refusal.decision == "rejected"
            assert refusal.reason == "We could not verify the organisation"
            assert refusal.certificate is None
        finally:
            await approved.stop()
            await rejected.stop()


async def test_a_known_node_id_with_another_key_is_refused(root: Path) -> None:
    node = FakeNode()
    async with serving(root) as (ctx, _served, obs):
        await node.start()
        impostor = FakeNode(node_id=node.node_id)
        await impostor.start()
        try:
            await node.enroll(obs)
            before = count_rows(ctx, "members")
            answer = await impostor.enroll(obs)
            # Its envelope is checked with the key registered for that node id: refused, as
            # an unknown sender would be (nothing tells it the node id is known).
            assert isinstance(answer, DeliveryAck) and answer.status == "rejected"
            assert answer.reason == "not_authenticated"
            # Signed with the registered key but announcing another box key: refused too.
            changed = await node.ask(node.membership_request(box_key="ab" * 32), obs)
            assert isinstance(changed, DeliveryAck) and changed.reason == "key_mismatch"
            assert count_rows(ctx, "members") == before
            assert ctx.members.get(node.node_id).box_key == node.box_key  # type: ignore[union-attr]
        finally:
            await impostor.stop()
            await node.stop()


async def test_one_peer_cannot_flood_requests_to_join(tmp_path: Path) -> None:
    """Issue 11, finding 5: requests to join were unlimited. One peer now gets a signed
    `rate_limited` refusal once past its share, nothing is stored for it, and another peer
    is answered as always."""
    root = make_observatory(tmp_path / "o", TEST_CONFIG.replace(
        "requests_per_peer_per_hour = 120", "requests_per_peer_per_hour = 6"))
    flooder, other = FakeNode(organisation_name="Flood"), FakeNode(organisation_name="Other")
    async with serving(root) as (ctx, _served, obs):
        await flooder.start()
        await other.start()
        try:
            answers = [await flooder.enroll(obs) for _ in range(3)]
            before = count_rows(ctx)
            answers += [await flooder.enroll(obs) for _ in range(2)]
            assert [(a.status, a.reason) for a in answers if isinstance(a, DeliveryAck)] == [
                ("accepted", None)] * 3 + [("rejected", "rate_limited")] * 2
            assert count_rows(ctx) == before and before["members"] == 1  # refused: nothing
            answer = await other.enroll(obs)
            assert isinstance(answer, DeliveryAck) and answer.status == "accepted"
        finally:
            await flooder.stop()
            await other.stop()


async def test_pending_requests_to_join_are_capped(tmp_path: Path) -> None:
    """New keys are free to make: at most `enrollment.max_pending` requests wait; beyond,
    `enrollment_full` and nothing stored, while those waiting are answered as always."""
    root = make_observatory(tmp_path / "o", TEST_CONFIG.replace(
        "max_pending = 200", "max_pending = 2"))
    nodes = [FakeNode(organisation_name=f"Org {n}") for n in range(3)]
    async with serving(root) as (ctx, _served, obs):
        for node in nodes:
            await node.start()
        try:
            answers = [await node.enroll(obs) for node in nodes]
            assert [(a.status, a.reason) for a in answers if isinstance(a, DeliveryAck)] == [
                ("accepted", None), ("accepted", None), ("rejected", "enrollment_full")]
            assert count_rows(ctx, "members") == {"members": 2}
            assert ctx.members.get(nodes[2].node_id) is None
            again = await nodes[0].enroll(obs)  # one waiting polls: answered as before
            assert isinstance(again, DeliveryAck) and again.status == "accepted"
            assert cli(["approve", nodes[0].node_id, "--data", str(root)]) == 0
            answer = await nodes[2].enroll(obs)  # a place is free again
            assert isinstance(answer, DeliveryAck) and answer.status == "accepted"
        finally:
            for node in nodes:
                await node.stop()
