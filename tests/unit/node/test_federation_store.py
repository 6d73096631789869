"""The federation tables: cosignatures appended to notes, alarms kept, and never any report
data (docs/invariants.md, 3)."""

from __future__ import annotations

import secrets

import pytest

from crypto.checkpoint import Checkpoint, Cosigner, SignedNote
from crypto.keys import DataKey, SigningKey
from node.context import NodeContext
from node.evidence.signing import sign_if_grown
from node.federation import store
from node.intake.models import ReportInput
from protocol.witnessing import witness_name
from tests.conftest import CANARY


def test_cosignature_lines_are_appended_to_the_note(node_ctx: NodeContext) -> None:
    node_ctx.intake.submit(ReportInput(narrative=CANARY), DataKey.generate(), [], "test")
    stored = sign_if_grown(node_ctx.db, node_ctx.keys, int(node_ctx.clock().timestamp()))
    assert stored is not None
    checkpoint = Checkpoint.parse(SignedNote.parse(stored.note).text)
    witnesses = sorted(secrets.token_hex(16) for _ in range(2))
    with node_ctx.db.write() as conn:
        assert store.with_cosignatures(conn, stored.note, stored.size) == stored.note
        for w in witnesses:
            line = Cosigner(witness_name(w), SigningKey.generate()).cosign_at(checkpoint, 7)
            store.record_cosignature(conn, w, stored.size, line.line().rstrip("\n"), 7)
            store.record_cosignature(conn, w, stored.size, line.line().rstrip("\n"), 8)  # again
        note = SignedNote.parse(store.with_cosignatures(conn, stored.note, stored.size))
    assert note.text == checkpoint.text()
    assert [s.name for s in note.signatures] == [
        stored.checkpoint.origin, *(witness_name(w) for w in witnesses)]
    conn = node_ctx.db.read()
    assert store.cosigned_sizes(conn) == [(stored.size, 2)]
    assert [w.cosigned_size for w in store.witnesses_of_ours(conn)] == [stored.size] * 2

    # Only hashes and keys: the report's text is nowhere in the federation tables.
    dump = "\n".join(line for line in conn.iterdump() if '"federation_' in line)
    assert dump and CANARY not in dump


def test_alarms_are_raised_once_and_kept(node_ctx: NodeContext) -> None:
    with node_ctx.db.write() as conn:
        args = dict(first_note="a\n", second_note="b\n", detail="d", now=1)
        assert store.raise_alarm(conn, "peer_fork", "o", "n", **args)  # type: ignore[arg-type]
        assert not store.raise_alarm(conn, "peer_fork", "o", "n", **args)  # type: ignore[arg-type]
    assert len(store.alarms(node_ctx.db.read())) == 1
    with pytest.raises(Exception, match="kept"), node_ctx.db.write() as conn:
        conn.execute("DELETE FROM federation_alarms")


def test_writes_need_a_transaction(node_ctx: NodeContext) -> None:
    with pytest.raises(RuntimeError):
        store.record_request(node_ctx.db.read(), "o", 1)
