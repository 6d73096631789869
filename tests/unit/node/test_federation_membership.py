"""Enrollment answers and membership lists, as this node believes them
(`node.federation.enrollment`, `members`, `directory`), over a real node database."""

from __future__ import annotations

import secrets

import pytest

from crypto.keys import SigningKey
from node.context import NodeContext
from node.federation import enrollment, members, store
from node.federation.config import FederationConfig
from node.federation.directory import Directory
from node.federation.errors import BadAnswer, Refused
from protocol.delivery import DeliveryAck
from protocol.errors import BadSignature, RolledBack
from protocol.membership import (
    CertificateBody,
    MemberEntry,
    MembershipCertificate,
    MembershipDecision,
    MembershipList,
    MembershipListBody,
    Revocation,
)

NOW = 2_000_000_000
OBSERVATORY_KEY = SigningKey.generate()
OBSERVATORY = secrets.token_hex(16)
CONFIG = FederationConfig(
    observatory_node_id=OBSERVATORY,
    observatory_identity_key=OBSERVATORY_KEY.verify_key.raw().hex(),
    observatory_addrs=["/ip4/127.0.0.1/tcp/4001"], organisation_name="Org", country="CD",
    contact="c@example.org")


def certificate(ctx: NodeContext, *, key: SigningKey = OBSERVATORY_KEY, node_id: str | None = None,
                identity: str | None = None, not_after: int = NOW + 3600) -> MembershipCertificate:
    request = enrollment.request(ctx.keys, CONFIG)
    body = CertificateBody(serial=secrets.token_hex(16), issuer=OBSERVATORY,
                           node_id=node_id or ctx.keys.node_id,
                           organisation_name=request.organisation_name, country="CD",
                           identity_key=identity or request.identity_key,
                           box_key=request.box_key, not_before=NOW - 10, not_after=not_after)
    return MembershipCertificate.issue(body, key)


def decide(ctx: NodeContext, answer: object) -> str:
    with ctx.db.write() as conn:
        return enrollment.handle_answer(conn, answer, keys=ctx.keys,  # type: ignore[arg-type]
                                        config=CONFIG, now=NOW)


def test_the_request_carries_the_node_keys(node_ctx: NodeContext) -> None:
    request = enrollment.request(node_ctx.keys, CONFIG)
    assert request.node_id == node_ctx.keys.node_id
    assert request.identity_key == node_ctx.keys.identity_public.raw().hex()
    assert request.box_key == node_ctx.keys.intake_public.raw().hex()
    assert request.self_certified_key(node_ctx.keys.node_id) == node_ctx.keys.identity_public


def test_pending_then_approved(node_ctx: NodeContext) -> None:
    assert decide(node_ctx, DeliveryAck(envelope_id="ab" * 16, status="accepted")) == "pending"
    conn = node_ctx.db.read()
    assert store.membership(conn, OBSERVATORY).status == "pending"  # type: ignore[union-attr]
    cert = certificate(node_ctx)
    approval = MembershipDecision(node_id=node_ctx.keys.node_id, decision="approved",
                                  certificate=cert)
    assert decide(node_ctx, approval) == "approved"
    stored = store.membership(conn, OBSERVATORY)
    assert stored is not None and stored.status == "approved" and stored.certificate == cert


@pytest.mark.parametrize("bad", ["other_issuer", "other_node", "other_key", "expired"])
def test_a_certificate_that_is_not_ours_is_not_believed(node_ctx: NodeContext, bad: str) -> None:
    cert = {
        "other_issuer": lambda: certificate(node_ctx, key=SigningKey.generate()),
        "other_node": lambda: certificate(node_ctx, node_id=secrets.token_hex(16)),
        "other_key": lambda: certificate(node_ctx, identity="cd" * 32),
        "expired": lambda: certificate(node_ctx, not_after=NOW - 1),
    }[bad]()
    approval = MembershipDecision(node_id=cert.body.node_id, decision="approved", certificate=cert)
    with pytest.raises(BadAnswer):
        decide(node_ctx, approval)
    assert store.membership(node_ctx.db.read(), OBSERVATORY) is None


def test_rejection_is_kept_with_its_reason(node_ctx: NodeContext) -> None:
    decision = MembershipDecision(node_id=node_ctx.keys.node_id, decision="rejected",
                                  reason="unknown organisation")
    assert decide(node_ctx, decision) == "rejected"
    stored = store.membership(node_ctx.db.read(), OBSERVATORY)
    assert stored is not None and stored.reason == "unknown organisation"
    with pytest.raises(Refused):
        decide(node_ctx, DeliveryAck(envelope_id="ab" * 16, status="rejected", reason="malformed"))


def member(node_id: str, key: SigningKey) -> MemberEntry:
    return MemberEntry(node_id=node_id, organisation_name="Peer", country="UA",
                       identity_key=key.verify_key.raw().hex(), box_key="00" * 32,
                       certificate_serial=secrets.token_hex(16), joined_at=NOW)


def listing(sequence: int, entries: list[MemberEntry], revoked: tuple[Revocation, ...] = (),
            key: SigningKey = OBSERVATORY_KEY, expires: int = NOW + 600) -> MembershipList:
    return MembershipList.issue(MembershipListBody(
        issuer=OBSERVATORY, sequence=sequence, issued_at=NOW - 1, expires=expires,
        members=tuple(entries), revocations=revoked), key)


def accept(ctx: NodeContext, signed: MembershipList) -> object:
    with ctx.db.write() as conn:
        return members.accept(conn, signed, node_id=ctx.keys.node_id, config=CONFIG, now=NOW)


def test_lists_move_forward_only_and_revocations_take_effect(node_ctx: NodeContext) -> None:
    peer_key = SigningKey.generate()
    peer = secrets.token_hex(16)
    conn = node_ctx.db.read()
    assert accept(node_ctx, listing(2, [member(peer, peer_key)])) is not None
    assert accept(node_ctx, listing(2, [member(peer, peer_key)])) is None  # the same again
    with pytest.raises(RolledBack):
        accept(node_ctx, listing(1, []))
    with pytest.raises(BadSignature):
        accept(node_ctx, listing(3, [], key=SigningKey.generate()))
    stored = store.membership_list(conn, OBSERVATORY)
    assert stored is not None and stored.sequence == 2
    directory = Directory(OBSERVATORY, OBSERVATORY_KEY.verify_key, stored.signed.body)
    assert directory.key_of(peer, NOW) == peer_key.verify_key
    assert directory.key_of(OBSERVATORY, NOW) == OBSERVATORY_KEY.verify_key
    assert directory.key_of(peer, NOW + 600) is None  # an expired list is not believed

    # The next list revokes the peer, and this node too.
    revoked = (Revocation(node_id=peer, revoked_at=NOW, reason="key_compromised"),
               Revocation(node_id=node_ctx.keys.node_id, revoked_at=NOW, reason="misbehaviour"))
    accept(node_ctx, listing(3, [], revoked))
    stored = store.membership_list(conn, OBSERVATORY)
    assert stored is not None
    directory = directory.with_members(stored.signed.body)
    assert directory.key_of(peer, NOW) is None
    mine = store.membership(conn, OBSERVATORY)
    assert mine is not None and mine.status == "rejected" and "misbehaviour" in (mine.reason or "")


def test_a_list_answer_that_cannot_be_believed_is_refused(node_ctx: NodeContext) -> None:
    with node_ctx.db.write() as conn, pytest.raises(Refused) as exc:
        members.handle_answer(conn, listing(1, [], expires=NOW), node_id=node_ctx.keys.node_id,
                              config=CONFIG, now=NOW)
    assert exc.value.code == "expired"


def test_a_certificate_in_its_last_quarter_is_renewed(node_ctx: NodeContext) -> None:
    cert = certificate(node_ctx, not_after=NOW + 390)  # valid NOW - 10 .. NOW + 390
    decide(node_ctx, MembershipDecision(node_id=node_ctx.keys.node_id, decision="approved",
                                        certificate=cert))
    membership = store.membership(node_ctx.db.read(), OBSERVATORY)
    assert membership is not None
    assert not enrollment.renewal_due(membership, NOW + 289)
    assert enrollment.renewal_due(membership, NOW + 290)
    # the renewed certificate replaces the old one
    renewed = certificate(node_ctx, not_after=NOW + 3600)
    decide(node_ctx, MembershipDecision(node_id=node_ctx.keys.node_id, decision="approved",
                                        certificate=renewed))
    membership = store.membership(node_ctx.db.read(), OBSERVATORY)
    assert membership is not None and membership.certificate == renewed
    assert not enrollment.renewal_due(membership, NOW + 290)
