"""The witness store: what a cosignature, a fork and a refusal leave in the database."""

from __future__ import annotations

import pytest

from crypto.checkpoint import Ed25519Verifier, open_checkpoint
from crypto.merkle import MemoryTree
from observatory.context import ObservatoryContext
from observatory.errors import UnknownAlarm
from protocol.witness import CheckpointPush
from protocol.witnessing import Cosign, Fork, Refuse
from tests.unit.observatory.fakenode import FakeNode
from tests.unit.observatory.support import count_rows

NOW = 1_800_000_000


def approved(ctx: ObservatoryContext) -> FakeNode:
    node = FakeNode()
    with ctx.db.write() as conn:
        ctx.members.enroll_in(conn, node.membership_request(), NOW)
    ctx.members.approve(node.node_id, NOW)
    return node


def witness(ctx: ObservatoryContext, node: FakeNode, push: CheckpointPush,
            now: int = NOW) -> Cosign | Refuse | Fork:
    with ctx.db.write() as conn:
        return ctx.checkpoints.witness_in(conn, node.node_id, node.key.verify_key, push, now)


def test_cosignatures_move_the_state_and_are_kept_per_size(ctx: ObservatoryContext) -> None:
    node = approved(ctx)
    node.grow(3)
    assert isinstance(witness(ctx, node, node.push()), Cosign)
    node.grow(3)
    assert isinstance(witness(ctx, node, node.push(6, 3), NOW + 5), Cosign)
    latest = ctx.checkpoints.latest(node.node_id)
    assert latest is not None and (latest.size, latest.cosigned_at) == (6, NOW + 5)
    checkpoint, note = open_checkpoint(latest.cosigned_note.encode(),
                                       Ed25519Verifier(node.origin, node.key.verify_key),
                                       [ctx.identity.cosigner.verifier])
    assert checkpoint.size == 6 and note.is_signed_by(ctx.identity.cosigner.verifier)
    assert count_rows(ctx, "witness_state", "cosigned_checkpoints") == {
        "witness_state": 1, "cosigned_checkpoints": 2}
    # the same size again: a fresh cosignature replaces the old one, nothing else grows
    assert isinstance(witness(ctx, node, node.push(6, 6), NOW + 9), Cosign)
    assert count_rows(ctx, "cosigned_checkpoints") == {"cosigned_checkpoints": 2}
    assert ctx.checkpoints.latest(node.node_id).cosigned_at == NOW + 9  # type: ignore[union-attr]


def test_a_fork_is_kept_once_and_acknowledged(ctx: ObservatoryContext) -> None:
    node = approved(ctx)
    node.grow(4)
    witness(ctx, node, node.push())
    other = MemoryTree(b"%d" % i for i in range(4))
    before = count_rows(ctx, "witness_state", "cosigned_checkpoints")
    for _ in range(2):
        assert isinstance(witness(ctx, node, node.push(4, 4, log=other)), Fork)
    assert count_rows(ctx, "witness_state", "cosigned_checkpoints") == before
    (alarm,) = ctx.checkpoints.alarms()
    assert (alarm.node_id, alarm.witnessed_size, alarm.pushed_size) == (node.node_id, 4, 4)
    assert alarm.new_note == node.note(4, log=other) and alarm.acknowledged_at is None
    ctx.checkpoints.acknowledge(alarm.id, NOW + 1)
    ctx.checkpoints.acknowledge(alarm.id, NOW + 2)  # idempotent: the first time is kept
    assert ctx.checkpoints.alarms()[0].acknowledged_at == NOW + 1
    assert ctx.checkpoints.alarms(unacknowledged_only=True) == []
    with pytest.raises(UnknownAlarm):
        ctx.checkpoints.acknowledge(alarm.id + 1, NOW)


def test_refusals_store_nothing(ctx: ObservatoryContext) -> None:
    node = approved(ctx)
    node.grow(5)
    witness(ctx, node, node.push())
    before = count_rows(ctx)
    assert witness(ctx, node, node.push(3)).reason == "smaller_tree"  # type: ignore[union-attr]
    node.grow(1)
    assert witness(ctx, node, node.push(6, 4)).reason == "old_size_mismatch"  # type: ignore[union-attr]
    assert count_rows(ctx) == before


def test_no_checkpoint_yet(ctx: ObservatoryContext) -> None:
    assert ctx.checkpoints.latest(FakeNode().node_id) is None
