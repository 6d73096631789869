"""Perpetrator matching end to end in one process (issue 18): three real nodes (data
directories, consent, staff confirming identifiers on a case), the real evaluator service
(its own key and database) and the real observatory (its federation responder and
database), frames in and frames out without the network.

Nodes a and b name the same invented commander, a in Latin script and b in Arabic script;
c names another man of the same group. The observatory tells a and b, and only them, that
one of their cases matched a case at 1 other organisation; c hears nothing. The evaluator
holds the key, the observatory only tokens: no name is anywhere under either's data
directory. A revoked member's tokens match nothing; a deleted report's tokens are withdrawn;
a coordinator dismisses a match and it is not shown again."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from crypto import passphrase as pw
from crypto.keys import DataKey, SigningKey
from node import errors
from node.context import NodeContext, open_node
from node.intake.models import Consent, ReportInput
from node.matching import notices
from node.matching.evaluation import PendingTokens
from node.matching.recipe import Identifiers
from observatory.context import ObservatoryContext
from observatory.federation import Federation
from observatory.matching import MatchingConfig, TokenMatcher
from observatory.oprf_evaluator import (
    EpochKeys,
    EvaluatorLimits,
    OprfEvaluatorService,
    ensure_schema,
)
from protocol.delivery import DeliveryAck
from protocol.exchanges import Endpoint
from protocol.matching import OprfEvaluation, Token, TokenSubmission
from protocol.message import Message
from protocol.responder import Responder
from runtime.sqlite import Database
from tests.conftest import files_containing, make_node
from tests.team import Team, make_team
from tests.unit.observatory.fakenode import FakeNode, ObservatoryAddress
from transport import store
from transport.identity import peer_id_from_public_key
from transport.inbox import ReplayGuard

LATIN = ("Mahmoud Abdelrahman", "Jaysh al-Nasr")
ARABIC = ("محمود عبد الرحمن", "جيش النصر")
OTHER = ("Tariq Mansour", "Jaysh al-Nasr")


def _peer(node: FakeNode) -> str:
    return peer_id_from_public_key(node.key.verify_key.raw())


class EvaluatorProcess:
    """The evaluator as its operator runs it: own key, own database, own responder."""

    def __init__(self, root: Path, members: dict[str, FakeNode]) -> None:
        root.mkdir()
        (root / "keys").mkdir()
        self.key = SigningKey.generate()
        self.address = ObservatoryAddress("e0" * 16, self.key.verify_key, ())

        def migrate(conn: sqlite3.Connection) -> None:
            store.ensure_schema(conn)
            ensure_schema(conn)

        self.db = Database(root / "evaluator.db", migrate)
        guard = ReplayGuard(self.db)
        self.keys = EpochKeys(root / "keys")
        self.public_key = self.keys.create(1)  # published in the membership list
        endpoint = Endpoint(self.address.node_id, self.key, is_replay=guard,
                            lookup_key=lambda n: (members[n].key.verify_key if n in members
                                                  else None))
        self.responder: Responder[sqlite3.Connection] = Responder(
            endpoint, once=guard.once, peer_id_of=lambda k: peer_id_from_public_key(k.raw()),
            clock=lambda: int(time.time()))
        OprfEvaluatorService(self.keys, EvaluatorLimits(per_member_per_day=50),
                             clock=lambda: int(time.time())).serve(self.responder)


@dataclass
class Member:
    ctx: NodeContext
    team: Team
    net: FakeNode  # the node's federation identity (signs its envelopes)


def _ask(net: FakeNode, to: ObservatoryAddress, answer: Any, message: Message) -> Message:
    frame = net.seal(message, to).to_frame()  # type: ignore[arg-type]
    return net.open_response(answer(frame, _peer(net)), to)


def build_world(ctx: ObservatoryContext, tmp_path: Path) -> dict[str, Any]:
    """Three member nodes, the evaluator and the observatory (also used by
    bench/bench_matching.py)."""
    obs = ObservatoryAddress(ctx.identity.node_id, ctx.identity.verify_key, ())
    federation = Federation(ctx)
    members: dict[str, Member] = {}
    nets: dict[str, FakeNode] = {}
    for name in ("a", "b", "c"):
        node = open_node(make_node(tmp_path / name), staff_params=pw.INSECURE_FAST_FOR_TESTS,
                         receipt_params=pw.INSECURE_FAST_FOR_TESTS)
        net = FakeNode(organisation_name=f"Organisation {name}")
        _ask(net, obs, federation.answer, net.membership_request())
        ctx.members.approve(net.node_id, int(time.time()))
        members[name] = Member(node, make_team(node), net)
        nets[net.node_id] = net
    evaluator = EvaluatorProcess(tmp_path / "evaluator", nets)
    return {"obs": obs, "federation": federation, "members": members, "evaluator": evaluator,
            "ctx": ctx}


def close_world(world: dict[str, Any]) -> None:
    for m in world["members"].values():
        m.ctx.close()
    world["evaluator"].db.close()


@pytest.fixture
def world(ctx: ObservatoryContext, tmp_path: Path) -> Iterator[dict[str, Any]]:
    built = build_world(ctx, tmp_path)
    yield built
    close_world(built)


def confirm_and_submit(world: dict[str, Any], name: str, person: tuple[str, str]) -> str:
    """What the node does when staff confirm identifiers: store them encrypted, evaluate
    their tokens with the evaluator (checking its proof against the published key), record
    and submit the tokens. Returns the report id."""
    m: Member = world["members"][name]
    evaluator: EvaluatorProcess = world["evaluator"]
    report_id = m.ctx.intake.submit(ReportInput(narrative="what happened", consent=Consent(
        care=True, matching=True)), DataKey.generate(), [], "test").report_id
    ids = Identifiers(names=(person[0],), group=person[1])
    identifier_id, _ = m.ctx.perpetrators.confirm(m.team.coordinator, report_id, ids)
    pending = PendingTokens.of(ids, epoch=1)
    answer = _ask(m.net, evaluator.address, evaluator.responder.answer,
                  pending.evaluation.request)
    assert isinstance(answer, OprfEvaluation)
    m.ctx.perpetrators.record_tokens(report_id, identifier_id, 1,
                                     pending.tokens(answer, evaluator.public_key))
    submit(world, name)
    return report_id


def submit(world: dict[str, Any], name: str) -> Message | None:
    m: Member = world["members"][name]
    outgoing = notices.next_submission(m.ctx.db.read(), 1)
    if outgoing is None:
        return None
    ack = _ask(m.net, world["obs"], world["federation"].answer, outgoing.submission)
    if isinstance(ack, DeliveryAck) and ack.status == "accepted":
        with m.ctx.db.write() as conn:
            notices.submitted(conn, outgoing, int(time.time()))
    return ack


def deliver(world: dict[str, Any]) -> dict[str, int]:
    """The observatory's pending notices, delivered to each member; returns how many each
    member got."""
    ctx: ObservatoryContext = world["ctx"]
    got: dict[str, int] = {}
    for name, m in world["members"].items():
        with ctx.db.write() as obs_conn:
            pending = TokenMatcher.pending_notices(obs_conn, m.net.node_id)
            for notice in pending:
                with m.ctx.db.write() as conn:
                    assert notices.record_notice(conn, notice, int(time.time()))
                TokenMatcher.delivered(obs_conn, notice.notice_id, int(time.time()))
        got[name] = len(pending)
    return got


def test_a_match_between_two_nodes_and_none_for_the_third(world: dict[str, Any],
                                                          tmp_path: Path) -> None:
    a = confirm_and_submit(world, "a", LATIN)
    c = confirm_and_submit(world, "c", OTHER)
    assert deliver(world) == {"a": 0, "b": 0, "c": 0}
    b = confirm_and_submit(world, "b", ARABIC)
    assert deliver(world) == {"a": 1, "b": 1, "c": 0}
    members = world["members"]
    for name, report in (("a", a), ("b", b)):
        (match,) = notices.matches(members[name].ctx.db.read(), report)
        assert match.others == 1
    assert notices.matches(members["c"].ctx.db.read(), c) == []
    # nothing the observatory or the evaluator holds names anyone
    for root in (tmp_path / "observatory", tmp_path / "evaluator"):
        for text in (*LATIN, *ARABIC, OTHER[0]):
            assert files_containing(root, text.encode()) == [], (root, text)
    # the observatory holds no OPRF key (the evaluator's operator does)
    assert list((tmp_path / "observatory").rglob("oprf-epoch-*")) == []
    assert list((tmp_path / "evaluator").rglob("oprf-epoch-*"))
    # submitting again is idempotent: no second notice
    assert submit(world, "a") is None and deliver(world) == {"a": 0, "b": 0, "c": 0}


def test_the_coordinator_sees_and_dismisses_a_match(world: dict[str, Any]) -> None:
    a = confirm_and_submit(world, "a", LATIN)
    confirm_and_submit(world, "b", ARABIC)
    deliver(world)
    m: Member = world["members"]["a"]
    (match,) = notices.matches(m.ctx.db.read(), a)
    with m.ctx.db.write() as conn:
        with pytest.raises(errors.Forbidden):
            notices.dismiss(conn, m.team.caseworker, a, match.case_ref, 1)
    with m.ctx.db.write() as conn:
        assert notices.dismiss(conn, m.team.coordinator, a, match.case_ref, 1)
    assert notices.matches(m.ctx.db.read(), a) == []


def test_revoked_members_match_nothing_and_deleted_reports_are_withdrawn(
        world: dict[str, Any]) -> None:
    ctx: ObservatoryContext = world["ctx"]
    members = world["members"]
    a = confirm_and_submit(world, "a", LATIN)
    ctx.members.revoke(members["a"].net.node_id, "misbehaviour", int(time.time()))
    confirm_and_submit(world, "b", ARABIC)
    assert deliver(world) == {"a": 0, "b": 0, "c": 0}  # a's tokens are left out
    # a revoked member cannot submit either: its new tokens stay queued at home
    confirm_and_submit(world, "a", OTHER)
    refused = submit(world, "a")
    assert isinstance(refused, DeliveryAck) and refused.reason == "not_a_member"
    # c's report names the same man; b and c match
    c = confirm_and_submit(world, "c", LATIN)
    assert deliver(world) == {"a": 0, "b": 1, "c": 1}
    # c deletes its report: the observatory is told to withdraw its case reference
    m: Member = members["c"]
    m.ctx.deletion.by_staff(m.team.coordinator, c, "duplicate", "")
    assert isinstance(submit(world, "c"), DeliveryAck)
    held = ctx.db.read().execute("SELECT COUNT(*) FROM matching_tokens WHERE member = ?",
                                 (m.net.node_id,)).fetchone()[0]
    assert held == 0
    assert notices.next_submission(m.ctx.db.read(), 1) is None
    assert notices.matches(members["a"].ctx.db.read(), a) == []


def test_the_threshold_counts_distinct_member_nodes(world: dict[str, Any]) -> None:
    ctx: ObservatoryContext = world["ctx"]
    matcher = TokenMatcher(MatchingConfig(threshold=3))
    token = Token(case_ref="aa" * 16, kind="name_group", token="ab" * 64)

    def add(member: str, ref: str) -> list[Any]:
        submission = TokenSubmission(batch_id=ref, epoch=1, withdrawn=(),
                                     tokens=(token.model_copy(update={"case_ref": ref}),))
        with ctx.db.write() as conn:
            return matcher.submit_in(conn, member, submission, [], 0)

    assert add("m1", "01" * 16) == []
    assert add("m1", "02" * 16) == []   # the same member twice is one node
    assert add("m2", "03" * 16) == []   # two nodes: below the threshold of three
    got = add("m3", "04" * 16)
    assert sorted((m, n.other_organisations) for m, n in got) == [
        ("m1", 2), ("m1", 2), ("m2", 2), ("m3", 2)]
    with pytest.raises(ValueError):
        MatchingConfig(threshold=1)


def test_a_reporter_who_withdraws_consent_takes_the_tokens_back(
        world: dict[str, Any]) -> None:
    ctx: ObservatoryContext = world["ctx"]
    m: Member = world["members"]["a"]
    receipt = m.ctx.intake.submit(ReportInput(narrative="what happened", consent=Consent(
        care=True, matching=True)), DataKey.generate(), [], "test")
    access = m.ctx.intake.open_receipt(receipt.code, receipt.secret)
    ids = Identifiers(names=(LATIN[0],), group=LATIN[1])
    identifier_id, _ = m.ctx.perpetrators.confirm(m.team.coordinator, access.report_id, ids)
    m.ctx.perpetrators.record_tokens(access.report_id, identifier_id, 1,
                                     [("name_group", b"\x07" * 64)])
    assert isinstance(submit(world, "a"), DeliveryAck)
    held = "SELECT COUNT(*) FROM matching_tokens WHERE member = ?"
    assert ctx.db.read().execute(held, (m.net.node_id,)).fetchone()[0] == 1
    m.ctx.intake.change_consent(access, Consent(care=True, matching=False))
    assert isinstance(submit(world, "a"), DeliveryAck)  # the withdrawal, and nothing added
    assert ctx.db.read().execute(held, (m.net.node_id,)).fetchone()[0] == 0
    assert notices.next_submission(m.ctx.db.read(), 1) is None
    # given again: the tokens go again
    m.ctx.intake.change_consent(access, Consent(care=True, matching=True))
    assert isinstance(submit(world, "a"), DeliveryAck)
    assert ctx.db.read().execute(held, (m.net.node_id,)).fetchone()[0] == 1
