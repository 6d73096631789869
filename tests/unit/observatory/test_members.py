"""Members and membership lists on a real SQLite database: requests to join, decisions,
certificates, and the signed, numbered list (issue 5, "Observatory: membership")."""

from __future__ import annotations

import time

import pytest

from observatory.context import ObservatoryContext
from observatory.errors import InvalidReason, UnknownNode, WrongState
from observatory.membership_lists import DAY
from protocol.errors import RolledBack
from tests.unit.observatory.fakenode import FakeNode
from tests.unit.observatory.support import count_rows

NOW = 1_800_000_000


def enroll(ctx: ObservatoryContext, node: FakeNode, now: int = NOW, **changes: str) -> str:
    with ctx.db.write() as conn:
        return ctx.members.enroll_in(conn, node.membership_request(**changes), now).status


def test_a_request_is_stored_once_as_pending(ctx: ObservatoryContext) -> None:
    node = FakeNode(organisation_name="Clinique du Lac", country="CD")
    assert enroll(ctx, node) == "pending"
    assert enroll(ctx, node, NOW + 60, organisation_name="Renamed") == "pending"
    member = ctx.members.get(node.node_id)
    assert member is not None
    assert (member.organisation_name, member.requested_at) == ("Clinique du Lac", NOW)
    assert member.peer_id.startswith("12D3KooW")
    assert count_rows(ctx, "members") == {"members": 1}


def test_another_key_for_a_known_node_or_a_known_key_for_another_node_is_refused(
        ctx: ObservatoryContext) -> None:
    node = FakeNode()
    enroll(ctx, node)
    assert enroll(ctx, node, box_key="cd" * 32) == "key_mismatch"
    assert enroll(ctx, node, identity_key="ef" * 32) == "key_mismatch"
    copycat = FakeNode(key=node.key)
    assert enroll(ctx, copycat) == "key_in_use"
    assert count_rows(ctx, "members") == {"members": 1}


def test_approval_issues_a_certificate_and_the_next_list(ctx: ObservatoryContext) -> None:
    node = FakeNode()
    enroll(ctx, node)
    assert ctx.lists.latest_in(ctx.db.read()) is None
    member = ctx.members.approve(node.node_id, NOW + 10)
    assert member.status == "approved" and member.joined_at == NOW + 10
    assert member.certificate is not None
    body = member.certificate.verify(issuer_key=ctx.identity.verify_key, now=NOW + 20)
    assert body.not_after - body.not_before == ctx.config.certificate_days * DAY
    listed = ctx.lists.current(NOW + 20)
    list_body = listed.verify(issuer_key=ctx.identity.verify_key, now=NOW + 20,
                              previous_sequence=None)
    assert list_body.sequence == 1
    entry = list_body.member(node.node_id)
    assert entry is not None and entry.certificate_serial == body.serial
    assert enroll(ctx, node) == "approved"  # the next request returns it
    with pytest.raises(WrongState):
        ctx.members.approve(node.node_id, NOW + 30)
    with pytest.raises(UnknownNode):
        ctx.members.approve("00" * 16, NOW)


def test_rejection_needs_a_displayable_reason_and_is_final(ctx: ObservatoryContext) -> None:
    node = FakeNode()
    enroll(ctx, node)
    for bad, problem in (("", "empty"), ("   ", "empty"), ("x" * 1001, "too_long"),
                         ("evil \u202e txet", "control_characters"),
                         ("bell\x07", "control_characters")):
        with pytest.raises(ValueError) as caught:  # InvalidReason is a ValueError too
            ctx.members.reject(node.node_id, bad, NOW)
        assert isinstance(caught.value, InvalidReason) and caught.value.problem == problem
    member = ctx.members.reject(node.node_id, "  Not a\nregistered  NGO ", NOW)
    assert (member.status, member.reason) == ("rejected", "Not a registered NGO")
    assert enroll(ctx, node) == "rejected"
    with pytest.raises(WrongState):
        ctx.members.approve(node.node_id, NOW)
    assert ctx.lists.count() == 0  # a rejection changes no list


def test_revocation_takes_effect_in_the_next_list(ctx: ObservatoryContext) -> None:
    stays, leaves = FakeNode(), FakeNode()
    for node in (stays, leaves):
        enroll(ctx, node)
        ctx.members.approve(node.node_id, NOW)
    before = ctx.lists.current(NOW).verify(issuer_key=ctx.identity.verify_key, now=NOW,
                                           previous_sequence=None)
    revoked = ctx.members.revoke(stays.node_id, "other", NOW)
    assert (revoked.status, revoked.reason, revoked.revoked_at) == ("revoked", "other", NOW)
    with pytest.raises(WrongState):
        ctx.members.revoke(stays.node_id, "other", NOW)
    after = ctx.lists.current(NOW + 1)
    body = after.verify(issuer_key=ctx.identity.verify_key, now=NOW + 1,
                        previous_sequence=before.sequence)
    assert body.member(stays.node_id) is None
    assert [r.node_id for r in body.revocations] == [stays.node_id]
    assert body.member(leaves.node_id) is not None
    with pytest.raises(ValueError):
        ctx.members.revoke(leaves.node_id, "because", NOW)  # type: ignore[arg-type]
    assert enroll(ctx, stays) == "revoked"


def test_a_pending_request_cannot_be_revoked(ctx: ObservatoryContext) -> None:
    node = FakeNode()
    enroll(ctx, node)
    with pytest.raises(WrongState):
        ctx.members.revoke(node.node_id, "other", NOW)


def test_the_list_is_reissued_with_a_new_number_once_half_expired(
        ctx: ObservatoryContext) -> None:
    node = FakeNode()
    enroll(ctx, node)
    ctx.members.approve(node.node_id, NOW)
    validity = ctx.config.membership_list_days * DAY
    first = ctx.lists.current(NOW)
    assert ctx.lists.current(NOW + validity // 2 - 1) == first
    second = ctx.lists.current(NOW + validity // 2)
    assert second.body.sequence == first.body.sequence + 1
    assert second.body.expires == NOW + validity // 2 + validity
    second.verify(issuer_key=ctx.identity.verify_key, now=NOW + validity - 1,
                  previous_sequence=first.body.sequence)
    with pytest.raises(RolledBack):
        first.verify(issuer_key=ctx.identity.verify_key, now=NOW,
                     previous_sequence=second.body.sequence)


def test_a_certificate_is_renewed_in_its_last_quarter(ctx: ObservatoryContext) -> None:
    node = FakeNode()
    enroll(ctx, node)
    first = ctx.members.approve(node.node_id, NOW)
    assert first.certificate is not None
    validity = ctx.config.certificate_days * DAY
    with ctx.db.write() as conn:
        early = ctx.members.enroll_in(conn, node.membership_request(), NOW + validity // 2)
    assert early.member is not None and early.member.certificate == first.certificate
    late_time = NOW + validity - validity // 4 + 1
    sequence = ctx.lists.count()
    with ctx.db.write() as conn:
        late = ctx.members.enroll_in(conn, node.membership_request(), late_time)
    assert late.member is not None and late.member.certificate is not None
    assert late.member.certificate_serial != first.certificate_serial
    late.member.certificate.verify(issuer_key=ctx.identity.verify_key, now=late_time)
    assert ctx.lists.count() == sequence + 1
    body = ctx.lists.current(late_time).body
    entry = body.member(node.node_id)
    assert entry is not None and entry.certificate_serial == late.member.certificate_serial


def test_lookup_keys_cover_every_status(ctx: ObservatoryContext) -> None:
    node = FakeNode()
    assert ctx.members.key_of(node.node_id) is None
    enroll(ctx, node, now=int(time.time()))
    assert ctx.members.key_of(node.node_id) == node.key.verify_key
