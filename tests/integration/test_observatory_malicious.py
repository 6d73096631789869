"""A malicious node against a real observatory (issue 5, "Tests that must exist"): forged
signature, replay, wrong recipient, expired message, forked checkpoint (same size with a
different root; a smaller tree), a message relayed over another peer's connection, and
plaintext or secio connections. Each is refused, and nothing is stored: the row counts of
every table are the same before and after (a fork stores its alarm, and only that). The
fork alarm is on the admin page until acknowledged.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp
import multiaddr  # type: ignore[import-untyped]
import pytest
import trio
from libp2p import new_host
from libp2p.crypto.keys import KeyPair
from libp2p.crypto.x25519 import create_new_key_pair as new_x25519_key_pair
from libp2p.custom_types import TProtocol, TSecurityOptions
from libp2p.network.config import ConnectionConfig
from libp2p.peer.id import ID
from libp2p.peer.peerinfo import PeerInfo
from libp2p.security import secio
from libp2p.security.insecure.transport import PLAINTEXT_PROTOCOL_ID, InsecureTransport
from libp2p.security.noise.transport import PROTOCOL_ID as NOISE_PROTOCOL_ID
from libp2p.security.noise.transport import Transport as NoiseTransport
from libp2p.security.secio.transport import Transport as SecioTransport

from crypto.keys import SigningKey
from crypto.merkle import MemoryTree
from observatory.context import ObservatoryContext
from protocol.delivery import DeliveryAck
from protocol.framing import FrameDecoder
from protocol.witness import CosignatureResponse
from tests.unit.observatory.fakenode import PROTOCOL_ID, FakeNode, ObservatoryAddress
from tests.unit.observatory.support import (
    PASSPHRASE,
    count_rows,
    login_data,
    make_observatory,
    serving,
)
from transport.identity import key_pair_from_signing_key


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return make_observatory(tmp_path / "observatory")


async def member(ctx: ObservatoryContext, obs: ObservatoryAddress, leaves: int = 8) -> FakeNode:
    """A started node, approved, with one checkpoint of `leaves` leaves already cosigned."""
    node = FakeNode()
    await node.start()
    await node.enroll(obs)
    ctx.members.approve(node.node_id, int(time.time()))
    node.grow(leaves)
    answer = await node.ask(node.push(), obs)
    assert isinstance(answer, CosignatureResponse) and answer.outcome == "cosigned"
    return node


async def refused(node: FakeNode, frame: bytes, obs: ObservatoryAddress,
                  reader: FakeNode | None = None) -> DeliveryAck:
    """Send `frame` from `node`'s host; the refusal, addressed to the claimed sender."""
    answer = (reader or node).open_response(await node.send(frame, obs), obs)
    assert isinstance(answer, DeliveryAck) and answer.status == "rejected", answer
    return answer


async def test_forged_replayed_misaddressed_and_expired_envelopes_store_nothing(
        root: Path) -> None:
    async with serving(root) as (ctx, _served, obs):
        node = await member(ctx, obs)
        try:
            node.grow(4)
            push = node.push(12, 8)
            before = count_rows(ctx)

            # forged: the member's node id, another key
            forged = node.seal(push, obs, signing_key=SigningKey.generate())
            bad_signature = await refused(node, forged.to_frame(), obs)
            assert bad_signature.reason == "not_authenticated"

            # wrong recipient: signed by the member, addressed to another node
            other = node.seal(push, obs, recipient="ef" * 16)
            assert (await refused(node, other.to_frame(), obs)).reason == "wrong_recipient"

            # expired: created two days ago, lived an hour
            old = node.seal(push, obs, now=int(time.time()) - 2 * 86400, ttl=3600)
            assert (await refused(node, old.to_frame(), obs)).reason == "expired"

            # unknown sender: a node that never asked to join
            stranger = FakeNode()
            unknown = stranger.seal(push, obs)
            answer = await refused(node, unknown.to_frame(), obs, reader=stranger)
            # the same answer as a member's forged signature: membership is not revealed
            assert answer.model_copy(update={"envelope_id": "00" * 16}) == \
                bad_signature.model_copy(update={"envelope_id": "00" * 16})

            # a checkpoint signed with another key, in an authentic envelope: refused
            bad_note = node.push(12, 8, key=SigningKey.generate())
            bad = await node.ask(bad_note, obs)
            assert isinstance(bad, CosignatureResponse)
            assert bad.refusal == "bad_checkpoint_signature"

            after = count_rows(ctx)
            # Only the authentic refused envelope was recorded (so a replay of it is a
            # duplicate); the unverifiable ones left no trace at all.
            assert after == {**before, "transport_seen": before["transport_seen"] + 2}

            # replayed: an authentic push, then the very same frame again
            genuine = node.seal(push, obs)
            first = node.open_response(await node.send(genuine.to_frame(), obs), obs)
            assert isinstance(first, CosignatureResponse) and first.outcome == "cosigned"
            stored = count_rows(ctx)
            replay = node.open_response(await node.send(genuine.to_frame(), obs), obs)
            assert isinstance(replay, DeliveryAck) and replay.status == "duplicate"
            assert count_rows(ctx) == stored
        finally:
            await node.stop()


async def test_a_message_relayed_over_another_peers_connection_is_refused(root: Path) -> None:
    async with serving(root) as (ctx, _served, obs):
        node = await member(ctx, obs)
        relay = FakeNode()
        await relay.start()
        try:
            node.grow(2)
            before = count_rows(ctx)
            envelope = node.seal(node.push(10, 8), obs)
            answer = node.open_response(await relay.send(envelope.to_frame(), obs), obs)
            assert isinstance(answer, DeliveryAck) and answer.reason == "peer_mismatch"
            assert count_rows(ctx) == before
            # the relay did not use the envelope up: its sender still delivers it
            own = node.open_response(await node.send(envelope.to_frame(), obs), obs)
            assert isinstance(own, CosignatureResponse) and own.outcome == "cosigned"
        finally:
            await relay.stop()
            await node.stop()


async def test_forked_checkpoints_are_refused_kept_and_shown_to_the_admin(root: Path) -> None:
    async with serving(root) as (ctx, served, obs):
        node = await member(ctx, obs, leaves=8)
        try:
            witnessed = ctx.checkpoints.latest(node.node_id)
            assert witnessed is not None and witnessed.size == 8
            before = count_rows(ctx, "witness_state", "cosigned_checkpoints", "fork_alarms")

            # same size, different root: a fork
            other_log = MemoryTree(bytes([i]) * 32 for i in range(8))
            fork = await node.ask(node.push(8, 8, log=other_log), obs)
            assert isinstance(fork, CosignatureResponse)
            assert (fork.outcome, fork.refusal) == ("refused", "inconsistent")

            # an extension of another history: a fork too
            other_log.append(b"x" * 32)
            other_log.append(b"y" * 32)
            branch = await node.ask(node.push(10, 8, log=other_log), obs)
            assert isinstance(branch, CosignatureResponse) and branch.refusal == "inconsistent"

            # a smaller tree: refused (it may be an old push arriving late; no alarm)
            smaller = await node.ask(node.push(5), obs)
            assert isinstance(smaller, CosignatureResponse)
            assert (smaller.refusal, smaller.witnessed_size) == ("smaller_tree", 8)

            after = count_rows(ctx, "witness_state", "cosigned_checkpoints", "fork_alarms")
            assert after == {**before, "fork_alarms": before["fork_alarms"] + 2}
            assert ctx.checkpoints.latest(node.node_id) == witnessed  # the witness kept its view
            alarms = ctx.checkpoints.alarms()
            assert {a.pushed_size for a in alarms} == {8, 10}
            assert all(a.old_note == witnessed.note for a in alarms)

            # pushing the same fork again raises no second alarm
            await node.ask(node.push(8, 8, log=MemoryTree(bytes([i]) * 32 for i in range(8))),
                           obs)
            assert count_rows(ctx, "fork_alarms") == {"fork_alarms": 2}

            # the admin sees both notes, and acknowledges
            jar = aiohttp.CookieJar(unsafe=True)
            async with aiohttp.ClientSession(cookie_jar=jar) as http:
                async with http.get(f"{served.web_url}/admin/") as r:
                    assert str(r.url).endswith("/admin/en/login")  # signed out: nothing shown
                    assert node.origin not in await r.text()
                async with http.post(f"{served.web_url}/admin/en/login",
                                     data=await login_data(http, served.web_url, "en", PASSPHRASE),
                                     ) as r:
                    page = await r.text()
                assert "Fork alarms (2)" in page and node.origin in page
                for alarm in alarms:
                    assert str(alarm.new_note.split("\n")[2]) in page  # the forked root
                csrf = re.search(r'name="csrf" value="([^"]+)"', page)
                assert csrf is not None
                async with http.post(
                        f"{served.web_url}/admin/en/alarms/{alarms[0].id}/acknowledge",
                        data={"csrf": csrf.group(1)}) as r:
                    assert "Fork alarms (1)" in await r.text()
            assert len(ctx.checkpoints.alarms(unacknowledged_only=True)) == 1
            assert len(ctx.checkpoints.alarms()) == 2  # both kept as proof
        finally:
            await node.stop()


# -- connections without Noise ------------------------------------------------------------------


def plaintext_only(key_pair: KeyPair) -> TSecurityOptions:
    return {PLAINTEXT_PROTOCOL_ID: InsecureTransport(key_pair)}


def secio_only(key_pair: KeyPair) -> TSecurityOptions:
    return {TProtocol(secio.transport.ID): SecioTransport(key_pair)}


def noise_only(key_pair: KeyPair) -> TSecurityOptions:
    return {NOISE_PROTOCOL_ID: NoiseTransport(
        key_pair, noise_privkey=new_x25519_key_pair().private_key)}


def dial_and_send(security: Callable[[KeyPair], TSecurityOptions], key: SigningKey,
                  peer_id: str, addrs: tuple[str, ...], frame: bytes) -> str:
    """A careless or hostile libp2p peer with the node's key (its own trio run): connect
    with only the given security, send `frame` on a federation stream, read the answer.
    What happened, as a string."""

    async def main() -> str:
        key_pair = key_pair_from_signing_key(key)
        host = new_host(key_pair=key_pair, sec_opt=security(key_pair),
                        connection_config=ConnectionConfig(max_connections_per_peer=1))
        outcome = "?"
        async with host.run([multiaddr.Multiaddr("/ip4/127.0.0.1/tcp/0")]):
            target = ID.from_base58(peer_id)
            try:
                with trio.fail_after(10):
                    await host.connect(PeerInfo(target, [multiaddr.Multiaddr(a) for a in addrs]))
                    stream = await host.new_stream(target, [TProtocol(PROTOCOL_ID)])
                    await stream.write(frame)
                    await stream.close_write()  # type: ignore[attr-defined]
                    decoder = FrameDecoder()  # one length-prefixed frame (libp2p raises at EOF)
                    while (answer := decoder.next_frame()) is None:
                        decoder.feed(await stream.read(decoder.wanted))
                    await stream.close()
                    outcome = f"answered:{answer.hex()}"
            except trio.TooSlowError:
                outcome = "timeout"
            except Exception as exc:  # noqa: BLE001 - which error is not the point
                outcome = f"failed:{type(exc).__name__}"
            await host.close()
        return outcome

    return trio.run(main)


@pytest.mark.parametrize("security", [plaintext_only, secio_only], ids=["plaintext", "secio"])
async def test_plaintext_and_secio_connections_are_refused(
        root: Path, security: Callable[[KeyPair], TSecurityOptions]) -> None:
    async with serving(root) as (ctx, _served, obs):
        node = FakeNode()
        frame = node.seal(node.membership_request(), obs).to_frame()
        before = count_rows(ctx)
        outcome = await asyncio.to_thread(dial_and_send, security, node.key, obs.peer_id,
                                          obs.addrs, frame)
        assert outcome.startswith("failed:"), outcome
        assert count_rows(ctx) == before  # the request to join never arrived
        # the control: the same request over Noise arrives and is stored as pending
        sent = await asyncio.to_thread(dial_and_send, noise_only, node.key, obs.peer_id,
                                       obs.addrs, frame)
        assert sent.startswith("answered:"), sent
        answer = node.open_response(bytes.fromhex(sent.split(":", 1)[1]), obs)
        assert isinstance(answer, DeliveryAck) and answer.status == "accepted"
        pending: Any = ctx.members.get(node.node_id)
        assert pending is not None and pending.status == "pending"
