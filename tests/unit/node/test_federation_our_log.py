"""This node's side of witnessing: which push each witness needs, and what each answer
means (`node.federation.our_log`), over a real node database; no network."""

from __future__ import annotations

import base64
import secrets

import pytest

from crypto.checkpoint import Checkpoint, Cosigner, SignedNote
from crypto.keys import DataKey, SigningKey
from node.context import NodeContext
from node.evidence import checkpoints, log_store
from node.evidence.signing import sign_if_grown
from node.federation import our_log, store
from node.federation.errors import BadAnswer, Refused
from node.intake.models import ReportInput
from protocol.delivery import DeliveryAck
from protocol.witness import CosignatureResponse
from protocol.witnessing import evidence_origin, witness_name

NOW = 2_000_000_000
WITNESS = secrets.token_hex(16)


def grow(ctx: NodeContext, reports: int = 1) -> int:
    for _ in range(reports):
        ctx.intake.submit(ReportInput(narrative="n"), DataKey.generate(), [], "test")
    stored = sign_if_grown(ctx.db, ctx.keys, int(ctx.clock().timestamp()))
    assert stored is not None
    return stored.size


def cosign(ctx: NodeContext, size: int, key: SigningKey, at: int = NOW) -> CosignatureResponse:
    stored = checkpoints.checkpoint_at(ctx.db.read(), size)
    assert stored is not None
    checkpoint = Checkpoint.parse(SignedNote.parse(stored.note).text)
    line = Cosigner(witness_name(WITNESS), key).cosign_at(checkpoint, at).line().rstrip("\n")
    return CosignatureResponse(origin=evidence_origin(ctx.keys.node_id), size=size,
                               outcome="cosigned", cosignature=line)


def answer(ctx: NodeContext, message: object, key: SigningKey) -> str:
    with ctx.db.write() as conn:
        return our_log.handle_answer(conn, message,  # type: ignore[arg-type]
                                     node_id=ctx.keys.node_id,
                                     log_keys=(ctx.keys.checkpoint_key.verify_key,
                                               ctx.keys.identity_public), witness=WITNESS,
                                     witness_key=key.verify_key, now=NOW)


def refusal(ctx: NodeContext, size: int, reason: str, witnessed: int | None) -> CosignatureResponse:
    return CosignatureResponse(origin=evidence_origin(ctx.keys.node_id), size=size,
                               outcome="refused", refusal=reason,  # type: ignore[arg-type]
                               witnessed_size=witnessed)


def test_first_push_then_pushes_from_the_cosigned_size(node_ctx: NodeContext) -> None:
    conn = node_ctx.db.read()
    assert our_log.next_push(conn, WITNESS) is None  # nothing signed yet
    size1 = grow(node_ctx, 2)
    push = our_log.next_push(conn, WITNESS)
    assert push is not None and push.old_size is None and not push.consistency_proof
    key = SigningKey.generate()
    assert answer(node_ctx, cosign(node_ctx, size1, key), key) == "cosigned"
    assert our_log.next_push(conn, WITNESS) is None  # cosigned: nothing to do
    assert store.cosignature_lines(conn, size1)[0][0] == WITNESS
    size2 = grow(node_ctx, 3)
    push = our_log.next_push(conn, WITNESS)
    assert push is not None and push.old_size == size1 and push.summary.size == size2
    expected = log_store.consistency_proof(conn, size1, size2)
    assert push.consistency_proof == tuple(h.hex() for h in expected.path)


def test_a_cosignature_must_verify(node_ctx: NodeContext) -> None:
    size = grow(node_ctx)
    key, other = SigningKey.generate(), SigningKey.generate()
    with pytest.raises(BadAnswer):
        answer(node_ctx, cosign(node_ctx, size, other), key)  # another key
    with pytest.raises(BadAnswer):
        answer(node_ctx, cosign(node_ctx, size, key, at=NOW + 3600), key)  # from the future
    bogus = cosign(node_ctx, size, key).model_copy(update={"size": size + 5})
    with pytest.raises(BadAnswer):
        answer(node_ctx, bogus, key)  # a size this node never signed
    foreign = cosign(node_ctx, size, key).model_copy(update={"origin": "backup.node/x/evidence"})
    with pytest.raises(BadAnswer):
        answer(node_ctx, foreign, key)
    assert not store.cosignature_lines(node_ctx.db.read(), size)


def test_old_size_mismatch_restarts_from_the_witnessed_size(node_ctx: NodeContext) -> None:
    small = grow(node_ctx)
    size = grow(node_ctx, 2)
    key = SigningKey.generate()
    assert answer(node_ctx, refusal(node_ctx, size, "old_size_mismatch", small),
                  key) == "old_size_mismatch"
    push = our_log.next_push(node_ctx.db.read(), WITNESS)
    assert push is not None and push.old_size == small and push.consistency_proof


def test_inconsistent_raises_our_alarm_and_stops_pushes(node_ctx: NodeContext) -> None:
    size = grow(node_ctx)
    key = SigningKey.generate()
    assert answer(node_ctx, refusal(node_ctx, size, "inconsistent", size), key) == "inconsistent"
    conn = node_ctx.db.read()
    [alarm] = store.alarms(conn)
    assert alarm.kind == "own_log_fork" and alarm.reported_by == WITNESS
    assert alarm.second_note.startswith(evidence_origin(node_ctx.keys.node_id))
    grow(node_ctx)
    assert our_log.next_push(conn, WITNESS) is None


def test_a_witness_ahead_of_us_is_an_alarm(node_ctx: NodeContext) -> None:
    size = grow(node_ctx)
    key = SigningKey.generate()
    assert answer(node_ctx, refusal(node_ctx, size, "smaller_tree", size + 10),
                  key) == "witness_ahead"
    [alarm] = store.alarms(node_ctx.db.read())
    assert alarm.kind == "witness_ahead" and str(size + 10) in (alarm.detail or "")
    assert our_log.next_push(node_ctx.db.read(), WITNESS) is None


def test_refusals_that_a_retry_cannot_change(node_ctx: NodeContext) -> None:
    size = grow(node_ctx)
    key = SigningKey.generate()
    with pytest.raises(Refused) as exc:
        answer(node_ctx, refusal(node_ctx, size, "unknown_log", None), key)
    assert exc.value.code == "unknown_log"
    ack = DeliveryAck(envelope_id="ab" * 16, status="rejected", reason="not_a_member")
    with pytest.raises(Refused):
        answer(node_ctx, ack, key)
    assert answer(node_ctx, DeliveryAck(envelope_id="ab" * 16, status="duplicate"),
                  key) == "duplicate"
    state = store.witness_of_ours(node_ctx.db.read(), WITNESS)
    assert state is not None and state.cosigned_size is None


def test_a_lost_cosignature_is_asked_for_again(node_ctx: NodeContext) -> None:
    size = grow(node_ctx, 2)
    key = SigningKey.generate()
    # The witness cosigned `size` but its answer was lost; a retry told us its size.
    assert answer(node_ctx, refusal(node_ctx, size, "old_size_mismatch", size),
                  key) == "old_size_mismatch"
    push = our_log.next_push(node_ctx.db.read(), WITNESS)
    assert push is not None and push.old_size == size and not push.consistency_proof
    assert answer(node_ctx, cosign(node_ctx, size, key), key) == "cosigned"
    assert our_log.next_push(node_ctx.db.read(), WITNESS) is None


def test_a_flipped_bit_in_a_witness_role_cosignature_is_refused(node_ctx: NodeContext) -> None:
    """A peer witness cosigns with its witness role key (issue 13); any flipped bit of the
    signature (after the key ID and time) is refused and nothing is kept."""
    size = grow(node_ctx)
    key = SigningKey.generate().derive(b"backup-role/witness/1")
    good = cosign(node_ctx, size, key)
    assert good.cosignature is not None
    name, b64 = good.cosignature.removeprefix("\u2014 ").split(" ")
    raw = base64.b64decode(b64)
    for bit in (0, 77, 300, 511):
        flipped = bytearray(raw)
        flipped[12 + bit // 8] ^= 1 << (bit % 8)
        line = f"\u2014 {name} {base64.b64encode(bytes(flipped)).decode()}"
        with pytest.raises(BadAnswer):
            answer(node_ctx, good.model_copy(update={"cosignature": line}), key)
    assert not store.cosignature_lines(node_ctx.db.read(), size)
    assert answer(node_ctx, good, key) == "cosigned"


def test_a_checkpoint_signed_before_role_keys_is_still_cosigned(node_ctx: NodeContext) -> None:
    """Generation 0: a checkpoint this node signed with its identity key before the
    upgrade is pushed and its cosignature kept, like one signed by the checkpoint key."""
    node_ctx.intake.submit(ReportInput(narrative="n"), DataKey.generate(), [], "test")
    with node_ctx.db.write() as conn:
        stored = checkpoints.maybe_checkpoint(
            conn, checkpoints.log_signer(node_ctx.keys.node_id, node_ctx.keys.identity), NOW)
    assert stored is not None
    key = SigningKey.generate()
    assert answer(node_ctx, cosign(node_ctx, stored.size, key), key) == "cosigned"
