"""Vetting experts end to end (issue 16): a member node, played with a real libp2p host,
vouches for an expert to a real observatory (aiohttp + libp2p on 127.0.0.1, SQLite on
disk); the admin countersigns; the node fetches the signed directory and keeps it in a real
node database; it may share with the expert only while a directory younger than a day lists
them. A forged and a revoked credential are refused, with nothing stored."""

from __future__ import annotations

import secrets
import time
from pathlib import Path

import pytest

from crypto.keys import SigningKey
from node.context import NodeContext
from node.experts import directory
from protocol.delivery import DeliveryAck
from protocol.errors import BadSignature, RolledBack
from protocol.experts import (
    DIRECTORY_MAX_AGE,
    CredentialBody,
    DirectoryBody,
    DirectoryEntry,
    ExpertAvailability,
    ExpertCredential,
    ExpertCredentialIssued,
    ExpertDirectory,
    ExpertDirectoryQuery,
    ExpertProfile,
    ExpertRefused,
    ExpertVouch,
    VouchBody,
)
from tests.unit.observatory.fakenode import FakeNode, ObservatoryAddress
from tests.unit.observatory.support import count_rows, make_observatory, serving

PROFILE = ExpertProfile(specialties=("forensic_medicine", "sexual_reproductive_health"),
                        languages=("fr", "sw"), countries=("CD",), regions=("CD-NK",),
                        modes=("on_site", "remote"))
VETTING_TABLES = ("expert_vouches", "expert_credentials", "expert_directories")


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return make_observatory(tmp_path / "observatory")


def vouch(node: FakeNode, expert: SigningKey, *, signer: SigningKey | None = None,
          home: str | None = None) -> ExpertVouch:
    return ExpertVouch.sign(VouchBody(
        vouch_id=secrets.token_hex(16), home_node=home or node.node_id,
        expert_key=expert.verify_key.raw().hex(), box_key="0e" * 32, profile=PROFILE,
        vouched_at=int(time.time())), signer or expert)


async def member(ctx, obs: ObservatoryAddress) -> FakeNode:  # type: ignore[no-untyped-def]
    node = FakeNode()
    await node.start()
    await node.enroll(obs)
    ctx.members.approve(node.node_id, int(time.time()))
    return node


def keep(node_ctx: NodeContext, answer: object, observatory_key: object) -> None:
    assert isinstance(answer, ExpertDirectory), answer
    with node_ctx.db.write() as conn:
        directory.accept_in(conn, answer, observatory_key=observatory_key,  # type: ignore[arg-type]
                            now=int(time.time()))


async def test_a_vouched_expert_is_countersigned_listed_and_then_revoked(
        root: Path, node_ctx: NodeContext) -> None:
    async with serving(root) as (ctx, _served, obs):
        node = await member(ctx, obs)
        key = ctx.identity.verify_key
        expert = SigningKey.generate()
        try:
            before = count_rows(ctx, *VETTING_TABLES)
            # A vouch the expert did not sign, and one for another node's expert: refused,
            # nothing stored.
            forged = await node.ask(vouch(node, expert, signer=SigningKey.generate()), obs)
            assert isinstance(forged, DeliveryAck) and forged.reason == "bad_expert_signature"
            elsewhere = await node.ask(vouch(node, expert, home="ef" * 16), obs)
            assert isinstance(elsewhere, DeliveryAck) and elsewhere.reason == "not_home_node"
            assert count_rows(ctx, *VETTING_TABLES) == before

            pending = await node.ask(vouch(node, expert), obs)
            assert isinstance(pending, DeliveryAck) and pending.status == "accepted"
            [waiting] = ctx.experts.pending()
            assert waiting.expert_key == expert.verify_key.raw().hex()
            with pytest.raises(ExpertRefused) as refused:
                directory.shareable(node_ctx.db.read(), waiting.expert_key,
                                    observatory_key=key, now=int(time.time()))
            assert refused.value.code == "no_directory"

            credential = ctx.experts.countersign(waiting.vouch_id, int(time.time()))
            issued = await node.ask(vouch(node, expert), obs)  # the node's next resend
            assert isinstance(issued, ExpertCredentialIssued)
            assert issued.credential == credential
            body = issued.credential.verify(issuer_key=key, now=int(time.time()))
            assert body.home_node == node.node_id and body.specialties == PROFILE.specialties

            keep(node_ctx, await node.ask(ExpertDirectoryQuery(), obs), key)
            now = int(time.time())
            entry = directory.shareable(node_ctx.db.read(), body.expert_key,
                                        observatory_key=key, now=now)
            assert entry.availability == "away" and entry.profile == PROFILE
            # A directory younger than a day, or nothing.
            with pytest.raises(ExpertRefused) as refused:
                directory.shareable(node_ctx.db.read(), body.expert_key, observatory_key=key,
                                    now=now + DIRECTORY_MAX_AGE)
            assert refused.value.code == "directory_stale"

            # Availability, from the expert's home node only.
            change = ExpertAvailability(serial=body.serial, availability="now",
                                        changed_at=now)
            stranger = await member(ctx, obs)
            try:
                refused_change = await stranger.ask(change, obs)
                assert isinstance(refused_change, DeliveryAck)
                assert refused_change.reason == "unknown_credential"
            finally:
                await stranger.stop()
            assert (await node.ask(change, obs)).status == "accepted"  # type: ignore[union-attr]
            keep(node_ctx, await node.ask(ExpertDirectoryQuery(), obs), key)
            assert directory.shareable(node_ctx.db.read(), body.expert_key, observatory_key=key,
                                       now=int(time.time())).availability == "now"

            # Revoked: gone from the next directory, listed as revoked, never vetted again.
            ctx.experts.revoke(body.serial, "misconduct", int(time.time()))
            latest = await node.ask(ExpertDirectoryQuery(), obs)
            keep(node_ctx, latest, key)
            assert isinstance(latest, ExpertDirectory)
            assert [r.serial for r in latest.body.revocations] == [body.serial]
            with pytest.raises(ExpertRefused) as refused:
                directory.shareable(node_ctx.db.read(), body.expert_key, observatory_key=key,
                                    now=int(time.time()))
            assert refused.value.code == "not_listed"
            before = count_rows(ctx, *VETTING_TABLES)
            again = await node.ask(vouch(node, expert), obs)
            assert isinstance(again, DeliveryAck) and again.reason == "revoked"
            assert count_rows(ctx, *VETTING_TABLES) == before
        finally:
            await node.stop()


async def test_a_forged_or_older_directory_is_refused_and_nothing_stored(
        root: Path, node_ctx: NodeContext) -> None:
    async with serving(root) as (ctx, _served, obs):
        node = await member(ctx, obs)
        key = ctx.identity.verify_key
        try:
            first = await node.ask(ExpertDirectoryQuery(), obs)
            keep(node_ctx, first, key)
            assert isinstance(first, ExpertDirectory)
            stored = directory.latest(node_ctx.db.read())
            now = int(time.time())
            # A credential and a directory signed by someone who is not the observatory.
            impostor = SigningKey.generate()
            expert = SigningKey.generate()
            forged_credential = ExpertCredential.issue(CredentialBody(
                serial=secrets.token_hex(16), issuer=ctx.identity.node_id,
                home_node=node.node_id, expert_key=expert.verify_key.raw().hex(),
                box_key="0e" * 32, specialties=PROFILE.specialties,
                vouch_id=secrets.token_hex(16), not_before=now - 1,
                not_after=now + 86400), impostor)
            entry = DirectoryEntry(credential=forged_credential, profile=PROFILE,
                                   availability="now")
            body = DirectoryBody(issuer=ctx.identity.node_id,
                                 sequence=first.body.sequence + 1, issued_at=now,
                                 entries=(entry,))
            for forged in (ExpertDirectory.issue(body, impostor),  # forged directory
                           ExpertDirectory.issue(body, ctx.identity.signing_key)):
                # (the second: the observatory's key around a credential it never signed)
                with node_ctx.db.write() as conn, pytest.raises(BadSignature):
                    directory.accept_in(conn, forged, observatory_key=key, now=now)
                assert directory.latest(node_ctx.db.read()) == stored
            with pytest.raises(ExpertRefused) as refused:
                directory.shareable(node_ctx.db.read(), expert.verify_key.raw().hex(),
                                    observatory_key=key, now=now)
            assert refused.value.code == "not_listed"
            # An older directory, even the observatory's own, does not replace a newer one.
            with node_ctx.db.write() as conn, pytest.raises(RolledBack):
                directory.accept_in(conn, first, observatory_key=key, now=now)
            # A stranger to the federation is never handed the directory.
            stranger = FakeNode()
            await stranger.start()
            try:
                answer = await stranger.ask(ExpertDirectoryQuery(), obs)
                assert isinstance(answer, DeliveryAck) and answer.status == "rejected"
            finally:
                await stranger.stop()
        finally:
            await node.stop()


def test_the_admins_commands_refuse_what_does_not_exist(
        root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from observatory.cli import main

    assert main(["expert-vouches", "--data", str(root)]) == 0
    assert "No vouch for an expert is waiting." in capsys.readouterr().out
    assert main(["countersign", "ab" * 16, "--data", str(root)]) == 1
    assert "unknown_vouch" in capsys.readouterr().err
    assert main(["revoke-expert", "ab" * 16, "--reason", "left", "--data", str(root)]) == 1
    assert "unknown_credential" in capsys.readouterr().err
