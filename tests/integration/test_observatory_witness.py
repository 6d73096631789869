"""Witnessed checkpoints end to end (issue 5): a member node pushes its evidence log's
checkpoints over libp2p; the observatory cosigns the first (trust on first use) and each
consistent extension; `GET /api/v1/checkpoints/{node_id}` serves the latest with a
cosignature that verifies with the observatory's key alone.
"""

from __future__ import annotations

import base64
import time
from pathlib import Path

import aiohttp
import pytest

from crypto.checkpoint import CosignatureVerifier, Ed25519Verifier, decode_vkey, open_checkpoint
from protocol.delivery import DeliveryAck
from protocol.witness import CosignatureResponse
from protocol.witnessing import witness_name
from tests.unit.observatory.fakenode import FakeNode, ObservatoryAddress
from tests.unit.observatory.support import make_observatory, serving


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return make_observatory(tmp_path / "observatory")


async def join(node: FakeNode, obs: ObservatoryAddress, ctx: object) -> None:
    from observatory.context import ObservatoryContext

    assert isinstance(ctx, ObservatoryContext)
    await node.enroll(obs)
    ctx.members.approve(node.node_id, int(time.time()))


async def test_checkpoints_are_cosigned_and_served(root: Path) -> None:
    node = FakeNode()
    async with serving(root) as (ctx, served, obs):
        await node.start()
        try:
            await join(node, obs, ctx)
            witness = CosignatureVerifier(witness_name(obs.node_id), obs.identity_key)
            log_key = Ed25519Verifier(node.origin, node.key.verify_key)

            # first checkpoint: trust on first use
            node.grow(5)
            first = await node.ask(node.push(), obs)
            assert isinstance(first, CosignatureResponse) and first.outcome == "cosigned"
            assert first.cosignature is not None
            assert first.cosignature.startswith(f"— {witness.name} ")

            # a consistent extension, with its proof from the witnessed size
            node.grow(12)
            second = await node.ask(node.push(17, 5), obs)
            assert isinstance(second, CosignatureResponse) and second.outcome == "cosigned"

            # the same checkpoint again: cosigned again (idempotent)
            again = await node.ask(node.push(17, 17), obs)
            assert isinstance(again, CosignatureResponse) and again.outcome == "cosigned"

            async with aiohttp.ClientSession() as http:
                url = f"{served.web_url}/api/v1/checkpoints/{node.node_id}"
                async with http.get(url) as r:
                    assert r.status == 200
                    assert r.content_type == "text/plain"
                    assert r.headers["Cache-Control"].startswith("no-store")
                    text = await r.text()
                async with http.get(url, params={"format": "json"}) as r:
                    assert r.status == 200
                    doc = await r.json()
                async with http.get(f"{served.web_url}/api/v1/checkpoints/{'0' * 32}") as r:
                    assert r.status == 404 and (await r.json())["error"] == "not_found"
                async with http.get(f"{served.web_url}/api/v1/checkpoints/nope") as r:
                    assert r.status == 400

            checkpoint, verified = open_checkpoint(text.encode(), log_key, [witness])
            assert checkpoint.size == 17 and checkpoint.origin == node.origin
            assert verified.is_signed_by(witness) and verified.is_signed_by(log_key)
            # the JSON variant says the same and names the key to check it with
            assert doc["checkpoint"] == text and doc["size"] == 17
            assert doc["node_id"] == node.node_id and doc["origin"] == node.origin
            assert base64.b64decode(doc["root_hash"]) == checkpoint.root_hash
            assert decode_vkey(doc["witness_vkey"]) == witness
            assert doc["cosignature"] in text
        finally:
            await node.stop()


async def test_a_wrong_old_size_is_answered_with_the_witnessed_size(root: Path) -> None:
    node = FakeNode()
    async with serving(root) as (ctx, _served, obs):
        await node.start()
        try:
            await join(node, obs, ctx)
            node.grow(4)
            await node.ask(node.push(), obs)
            node.grow(4)
            answer = await node.ask(node.push(8, 2), obs)
            assert isinstance(answer, CosignatureResponse)
            assert (answer.outcome, answer.refusal) == ("refused", "old_size_mismatch")
            assert answer.witnessed_size == 4
            retry = await node.ask(node.push(8, answer.witnessed_size), obs)
            assert isinstance(retry, CosignatureResponse) and retry.outcome == "cosigned"
        finally:
            await node.stop()


async def test_a_pending_node_cannot_have_checkpoints_witnessed(root: Path) -> None:
    node = FakeNode()
    async with serving(root) as (ctx, _served, obs):
        await node.start()
        try:
            await node.enroll(obs)  # pending, not approved
            node.grow(3)
            answer = await node.ask(node.push(), obs)
            assert isinstance(answer, DeliveryAck) and answer.reason == "not_a_member"
            assert ctx.checkpoints.latest(node.node_id) is None
        finally:
            await node.stop()
