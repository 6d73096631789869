"""A share's parts on the expert's home node (issue 16), attacked: any `SealedShare` a
member may send is either refused with nothing stored or kept as ciphertext that opens for
its expert only if it is exactly what was sealed to them; a flipped bit, or a part of
another share put in its place, is never shown (and the refusal is in the custody chain).
Real node database, real sealed boxes, the real observatory registry for the credential."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crypto.keys import DataKey
from node import accounts
from node.context import NodeContext
from node.experts.shares import PartRefused, SentShare, ShareUnavailable
from node.intake.models import Consent, ReportInput
from protocol.engagements import SealedShare
from tests.expert_vetting import EXPERT_PASSPHRASE, engaged, vetted_expert
from tests.team import make_team
from tests.unit.protocol.expert_strategies import shares

SENDER = "5e" * 16


def count(ctx: NodeContext, table: str) -> int:
    return int(ctx.db.read().execute(f"SELECT count(*) FROM {table}").fetchone()[0])


@pytest.fixture
def shared(node_ctx: NodeContext, tmp_path: Path) -> tuple[Any, list[SentShare]]:
    """This node's own expert, and two reports shared with them."""
    team = make_team(node_ctx)
    expert = vetted_expert(node_ctx, [node_ctx], tmp_path)
    sent = []
    for text in ("the first account", "the second account"):
        r = node_ctx.intake.submit(ReportInput(narrative=text, consent=Consent(
            sharing=True, share_account=True, share_scope_set=True)),
            DataKey.generate(), [], "test")
        sent.append(node_ctx.shares.share(
            team.coordinator, engagement_id=engaged(node_ctx, expert.expert_key, r.report_id),
            report_id=r.report_id,
            expert_key=expert.expert_key, groups=("narrative",), files=(),
            expires=int(time.time()) + 3600, observatory_key=expert.observatory_key))
    reader = accounts.unlock(node_ctx.db.read(), expert.username, EXPERT_PASSPHRASE)
    return reader, sent


def test_a_flipped_bit_or_a_swapped_part_is_never_shown(
        node_ctx: NodeContext, shared: tuple[Any, list[SentShare]]) -> None:
    reader, (first, second) = shared
    assert node_ctx.shares.open_held(reader, first.share_id).fields == {
        "narrative": "the first account"}
    (sealed,) = node_ctx.db.read().execute(
        "SELECT sealed FROM expert_share_parts WHERE share_id = ?",
        (first.share_id,)).fetchone()
    for i in (0, len(sealed) // 2, len(sealed) - 1):
        flipped = bytearray(sealed)
        flipped[i] ^= 0x01
        with node_ctx.db.write() as w:
            w.execute("UPDATE expert_share_parts SET sealed = ? WHERE share_id = ?",
                      (bytes(flipped), first.share_id))
        with pytest.raises(ShareUnavailable):
            node_ctx.shares.open_held(reader, first.share_id)
    # the second share's part, sealed to the same expert, put in the first's place
    with node_ctx.db.write() as w:
        w.execute("UPDATE expert_share_parts SET sealed = (SELECT sealed FROM "
                  "expert_share_parts WHERE share_id = ?) WHERE share_id = ?",
                  (second.share_id, first.share_id))
    with pytest.raises(ShareUnavailable):
        node_ctx.shares.open_held(reader, first.share_id)
    refusals = node_ctx.db.read().execute(
        "SELECT count(*) FROM audit_log WHERE action = 'expert.share_refused' "
        "AND object_id = ?", (first.share_id,)).fetchone()[0]
    assert refusals == 4
    assert node_ctx.shares.open_held(reader, second.share_id).fields == {
        "narrative": "the second account"}


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(share=shares(), to_the_expert=st.booleans())
def test_any_share_from_a_member_is_refused_or_never_shown(
        node_ctx: NodeContext, shared: tuple[Any, list[SentShare]], share: SealedShare,
        to_the_expert: bool) -> None:
    reader, _ = shared
    now = int(time.time())
    if to_the_expert:
        share = share.model_copy(update={
            "recipient_box_key": reader.member.public_key.raw().hex(),
            "expires": max(share.expires, now + 60)})
    before = (count(node_ctx, "expert_shares_held"), count(node_ctx, "expert_share_parts"))
    try:
        with node_ctx.db.write() as conn:
            node_ctx.shares.receive_part_in(conn, share, sender=SENDER, now=now)
    except PartRefused:
        after = (count(node_ctx, "expert_shares_held"), count(node_ctx, "expert_share_parts"))
        assert after == before  # refused: nothing stored
        return
    assert to_the_expert
    with pytest.raises(ShareUnavailable):  # random bytes never open as a share
        node_ctx.shares.open_held(reader, share.share_id)
