"""Perpetrator tokens over the one client/responder path (issue 18): a node blinds, the
evaluator (`observatory.oprf_evaluator`, over a real SQLite file) evaluates with its epoch key
and proves it, the node checks the proof against the published key and unblinds.

Also: the budget per member and day holds (refused whole, nothing charged), a retried
request is answered again without being charged again, malformed and identity elements are
refused, an answer under another key or with a flipped bit is rejected, the audit holds counts
and never an element."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest

from node.matching.evaluation import EvaluationRejected, PendingEvaluation
from observatory.oprf_evaluator import (
    EpochKeys,
    EvaluatorLimits,
    OprfEvaluatorService,
    ensure_schema,
)
from protocol.exchanges import ClientExchange, Endpoint
from protocol.matching import OprfEvaluation, OprfEvaluationRequest
from runtime.sqlite import Database
from tests.unit.protocol.conftest import NOW, Node
from tests.unit.protocol.link import Link
from tests.unit.protocol.test_protocol_responder import asking, peer_of, refused
from transport import store
from transport.inbox import ReplayGuard


class Evaluator:
    """The evaluator's process as the tests need it: its database, keys and responder."""

    def __init__(self, me: Node, keys: dict[str, Any], path: Path, *, budget: int) -> None:
        from protocol.responder import Responder
        from transport.identity import peer_id_from_public_key

        def migrate(conn: sqlite3.Connection) -> None:
            store.ensure_schema(conn)
            ensure_schema(conn)

        self.me = me
        self.db = Database(path / "evaluator.db", migrate)
        guard = ReplayGuard(self.db)
        (path / "keys").mkdir()
        self.keys = EpochKeys(path / "keys")
        self.public_key = self.keys.create(1)
        endpoint = Endpoint(me.node_id, me.signing_key, lookup_key=keys.get, is_replay=guard)
        self.responder: Responder[sqlite3.Connection] = Responder(
            endpoint, once=guard.once, peer_id_of=lambda k: peer_id_from_public_key(k.raw()),
            clock=lambda: NOW)
        OprfEvaluatorService(self.keys, EvaluatorLimits(per_member_per_day=budget),
                             clock=lambda: NOW).serve(self.responder)

    def ask(self, node: Node, keys: dict[str, Any], request: OprfEvaluationRequest,
            client: ClientExchange | None = None) -> Any:
        client = client or asking(node, self.me, keys)
        frame = client.send_request(request, now=NOW)
        return Link().carry(self.responder.answer(frame, peer_of(node)), client).message

    def audit(self) -> list[tuple[Any, ...]]:
        return [tuple(r) for r in self.db.read().execute(
            "SELECT member, epoch, elements, outcome FROM oprf_audit ORDER BY seq")]


@pytest.fixture
def evaluator(bob: Node, keys: dict[str, Any], tmp_path: Path) -> Any:
    ev = Evaluator(bob, keys, tmp_path, budget=5)
    yield ev
    ev.db.close()


INPUTS = [b"name_group\x00bdl mhmd\x00brigade:34", b"unit_rank\x00brigade:34\x00colonel"]


def test_tokens_round_trip_and_match_across_blinds(alice, keys, evaluator) -> None:
    first = PendingEvaluation.of(INPUTS, epoch=1)
    answer = evaluator.ask(alice, keys, first.request)
    assert isinstance(answer, OprfEvaluation)
    tokens = first.tokens(answer, evaluator.public_key)
    assert tokens == [evaluator.keys.evaluator(1).evaluate_known(i) for i in INPUTS]
    second = PendingEvaluation.of(INPUTS[:1], epoch=1)
    assert second.request.blinded_elements[0] != first.request.blinded_elements[0]
    assert second.tokens(evaluator.ask(alice, keys, second.request),
                         evaluator.public_key) == tokens[:1]
    assert evaluator.audit() == [(alice.node_id, 1, 2, "evaluated"), (alice.node_id, 1, 1,
                                                                       "evaluated")]


def test_budget_per_member_and_day_holds(alice, keys, evaluator) -> None:
    ok = PendingEvaluation.of([b"a", b"b", b"c", b"d"], epoch=1)
    assert isinstance(evaluator.ask(alice, keys, ok.request), OprfEvaluation)
    over = PendingEvaluation.of([b"e", b"f"], epoch=1)  # 4 + 2 > 5: refused whole
    assert refused(evaluator.ask(alice, keys, over.request)) == "over_budget"
    last = PendingEvaluation.of([b"e"], epoch=1)  # the refusal charged nothing
    assert isinstance(evaluator.ask(alice, keys, last.request), OprfEvaluation)
    assert refused(evaluator.ask(alice, keys, PendingEvaluation.of([b"g"], 1).request)
                   ) == "over_budget"
    assert sum(r[2] for r in evaluator.audit()) == 5


def test_a_retry_is_answered_again_without_a_second_charge(alice, keys, evaluator) -> None:
    pending = PendingEvaluation.of([b"a", b"b", b"c"], epoch=1)
    client = asking(alice, evaluator.me, keys)
    frame = client.send_request(pending.request, now=NOW)
    evaluator.responder.answer(frame, peer_of(alice))  # the answer is lost
    again = ClientExchange.resume(client.endpoint, frame)
    answer = Link().carry(evaluator.responder.answer(frame, peer_of(alice)), again).message
    assert pending.tokens(answer, evaluator.public_key) == [
        evaluator.keys.evaluator(1).evaluate_known(i) for i in (b"a", b"b", b"c")]
    assert [r[2] for r in evaluator.audit()] == [3]


def test_identity_and_malformed_elements_are_refused(alice, keys, evaluator) -> None:
    for element in ("00" * 32, "ff" * 32):
        request = OprfEvaluationRequest(request_id="ab" * 16, suite="ristretto255-SHA512",
                                        epoch=1, blinded_elements=(element,))
        assert refused(evaluator.ask(alice, keys, request)) == "malformed"
    assert evaluator.audit() == []


def test_unknown_epoch_is_refused(alice, keys, evaluator) -> None:
    assert refused(evaluator.ask(alice, keys, PendingEvaluation.of([b"a"], 2).request)
                   ) == "unknown_epoch"


def test_answer_under_another_key_or_altered_is_rejected(alice, keys, evaluator,
                                                         tmp_path: Path) -> None:
    pending = PendingEvaluation.of(INPUTS, epoch=1)
    answer = evaluator.ask(alice, keys, pending.request)
    (tmp_path / "other").mkdir()
    other_key = EpochKeys(tmp_path / "other").create(1)
    with pytest.raises(EvaluationRejected):  # the published key is another one
        pending.tokens(answer, other_key)
    flipped = answer.proof[:-1] + ("0" if answer.proof[-1] != "0" else "1")
    with pytest.raises(EvaluationRejected):
        pending.tokens(answer.model_copy(update={"proof": flipped}), evaluator.public_key)
    swapped = answer.model_copy(update={"evaluated_elements": answer.evaluated_elements[::-1]})
    with pytest.raises(EvaluationRejected):
        pending.tokens(swapped, evaluator.public_key)
    # an evaluator that uses another key but names the published one is caught by the proof
    (tmp_path / "rogue").mkdir()
    rogue = EpochKeys(tmp_path / "rogue")
    rogue.create(1)
    got = rogue.evaluator(1).evaluate([bytes.fromhex(e) for e in pending.request.blinded_elements])
    forged = answer.model_copy(update={
        "evaluated_elements": tuple(e.hex() for e in got.elements), "proof": got.proof.hex()})
    with pytest.raises(EvaluationRejected):
        pending.tokens(forged, evaluator.public_key)
    assert len(pending.tokens(answer, evaluator.public_key)) == 2


def test_the_audit_and_the_database_hold_no_element(alice, keys, evaluator) -> None:
    pending = PendingEvaluation.of(INPUTS, epoch=1)
    answer = evaluator.ask(alice, keys, pending.request)
    raw = b"".join(p.read_bytes() for p in evaluator.db.path.parent.rglob("*") if p.is_file())
    for element in (*pending.request.blinded_elements, *answer.evaluated_elements):
        assert bytes.fromhex(element) not in raw and element.encode() not in raw
    for data in INPUTS:
        assert data not in raw


def test_a_retired_epoch_evaluates_nothing(alice, keys, evaluator) -> None:
    evaluator.keys.retire(1)
    fresh = OprfEvaluatorService(evaluator.keys, EvaluatorLimits(), clock=lambda: NOW)
    with pytest.raises(KeyError):
        evaluator.keys.evaluator(1)
    assert fresh is not None
