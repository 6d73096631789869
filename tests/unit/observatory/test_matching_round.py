"""The node's matching round (issue 18, `node.matching.worker`) against the real evaluator
service and the real observatory responder, in one process (frames in, frames out): what a
confirmation hands over is evaluated, its proof checked against the key the signed list
publishes, its tokens submitted, and the notices fetched and acknowledged through
`MatchNoticeQuery`. A proof from another key is rejected and nothing of it kept; a refusal
(over budget) puts the work back and waits. The admin's evaluator commands publish the
evaluator in the signed membership list."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from crypto.keys import DataKey
from crypto.oprf import Evaluator
from node.intake.models import Consent, ReportInput
from node.matching import notices
from node.matching.worker import BACKOFF_SECONDS, EVALUATE, NOTICES, SUBMIT, MatchingRound
from observatory.context import ObservatoryContext
from observatory.evaluator_keys import EvaluatorRefused, add_epoch_in, entry_in, set_identity_in
from protocol.delivery import DeliveryAck
from protocol.matching import MatchNotices
from protocol.membership import OprfEpochKey, OprfEvaluatorEntry
from tests.unit.observatory.test_perpetrator_matching import (
    ARABIC,
    LATIN,
    Member,
    _ask,
    world,  # noqa: F401 -- the fixture
)

NOW = int(time.time())


def _entry(w: dict[str, Any], public_key: bytes | None = None) -> OprfEvaluatorEntry:
    ev = w["evaluator"]
    return OprfEvaluatorEntry(
        node_id=ev.address.node_id, identity_key=ev.key.verify_key.raw().hex(),
        epochs=(OprfEpochKey(epoch=1, public_key=(public_key or ev.public_key).hex()),))


def _confirm(m: Member, person: tuple[str, str]) -> str:
    from node.matching.recipe import Identifiers

    report_id = m.ctx.intake.submit(ReportInput(narrative="what happened", consent=Consent(
        care=True, matching=True)), DataKey.generate(), [], "test").report_id
    m.ctx.perpetrators.confirm(m.team.coordinator, report_id,
                               Identifiers(names=(person[0],), group=person[1]))
    return report_id


def _evaluate(w: dict[str, Any], m: Member, rnd: MatchingRound, entry: OprfEvaluatorEntry,
              now: int = NOW) -> str:
    request = rnd.evaluation(entry, now)
    assert request is not None
    answer = _ask(m.net, w["evaluator"].address, w["evaluator"].responder.answer, request)
    with m.ctx.db.write() as conn:
        return rnd.record(conn, EVALUATE, "e" * 32, answer, entry, now)


def _submit(w: dict[str, Any], m: Member, rnd: MatchingRound, entry: OprfEvaluatorEntry) -> str:
    outgoing = rnd.submission(m.ctx.db.read(), 1)
    assert outgoing is not None
    rnd.submission_sent("s" * 32, outgoing.submission)
    ack = _ask(m.net, w["obs"], w["federation"].answer, outgoing.submission)
    with m.ctx.db.write() as conn:
        return rnd.record(conn, SUBMIT, "s" * 32, ack, entry, NOW)


def _fetch(w: dict[str, Any], m: Member, rnd: MatchingRound) -> MatchNotices:
    query = rnd.notice_query()
    rnd.query_sent("q" * 32, query)
    answer = _ask(m.net, w["obs"], w["federation"].answer, query)
    assert isinstance(answer, MatchNotices)
    with m.ctx.db.write() as conn:
        rnd.record(conn, NOTICES, "q" * 32, answer, None, NOW)
    return answer


def test_confirm_evaluate_submit_and_fetch_the_notice(world: dict[str, Any]) -> None:  # noqa: F811
    entry = _entry(world)
    a, b = world["members"]["a"], world["members"]["b"]
    rounds = {name: MatchingRound(world["members"][name].ctx.perpetrators.queue)
              for name in "ab"}
    reports = {}
    for name, person in (("a", LATIN), ("b", ARABIC)):
        m = world["members"][name]
        reports[name] = _confirm(m, person)
        assert len(rounds[name].queue) == 1  # handed over by the confirmation itself
        assert _evaluate(world, m, rounds[name], entry) == "evaluated"
        assert len(rounds[name].queue) == 0
        assert _submit(world, m, rounds[name], entry) == "tokens submitted"
        assert rounds[name].submission(m.ctx.db.read(), 1) is None  # all marked submitted
    for name, m in (("a", a), ("b", b)):
        got = _fetch(world, m, rounds[name])
        assert [n.other_organisations for n in got.notices] == [1]
        assert [x.others for x in notices.matches(m.ctx.db.read(), reports[name])] == [1]
        # the next query acknowledges it: then it is not sent again
        assert rounds[name].notice_query().acknowledged == (got.notices[0].notice_id,)
        _fetch(world, m, rounds[name])
        assert _fetch(world, m, rounds[name]).notices == ()


def test_a_proof_from_another_key_is_rejected_and_a_refusal_waits(
        world: dict[str, Any]) -> None:  # noqa: F811
    a = world["members"]["a"]
    rnd = MatchingRound(a.ctx.perpetrators.queue)
    _confirm(a, LATIN)
    wrong = _entry(world, Evaluator(Evaluator.new_seed(), b"other").public_key())
    assert _evaluate(world, a, rnd, wrong) == "refused:bad_proof"
    assert a.ctx.db.read().execute("SELECT count(*) FROM matching_tokens").fetchone()[0] == 0
    assert len(rnd.queue) == 1 and rnd.evaluation(wrong, NOW + 1) is None  # waits
    # a refusal (over budget): the work goes back, and waits before it is asked again
    rnd = MatchingRound(a.ctx.perpetrators.queue)
    entry = _entry(world)
    request = rnd.evaluation(entry, NOW)
    assert request is not None and len(rnd.queue) == 0
    with a.ctx.db.write() as conn:
        code = rnd.record(conn, EVALUATE, "e" * 32,
                          DeliveryAck.refuse("e" * 32, "over_budget"), entry, NOW)
    assert code == "refused:over_budget" and len(rnd.queue) == 1
    assert rnd.evaluation(entry, NOW + BACKOFF_SECONDS - 1) is None
    assert _evaluate(world, a, rnd, entry, NOW + BACKOFF_SECONDS) == "evaluated"


def test_a_coordinator_signing_in_hands_over_what_lacks_the_current_epoch(
        world: dict[str, Any]) -> None:  # noqa: F811
    a = world["members"]["a"]
    rnd = MatchingRound(a.ctx.perpetrators.queue)
    _confirm(a, LATIN)
    assert _evaluate(world, a, rnd, _entry(world)) == "evaluated"
    assert a.ctx.perpetrators.offer(a.team.coordinator) == 0  # epoch 1 has its tokens
    a.ctx.perpetrators.queue.epoch = 2  # the list published a new epoch (a rotation)
    assert a.ctx.perpetrators.offer(a.team.caseworker) == 0  # coordinators only
    assert a.ctx.perpetrators.offer(a.team.coordinator) == 1


def test_the_admin_publishes_the_evaluator_in_the_signed_list(ctx: ObservatoryContext) -> None:
    with ctx.db.write() as conn:
        assert entry_in(conn) is None
        set_identity_in(conn, "e0" * 16, "01" * 32, NOW)
        assert entry_in(conn) is None  # no epoch yet
        add_epoch_in(conn, 1, "02" * 32, NOW)
        with pytest.raises(EvaluatorRefused):
            add_epoch_in(conn, 1, "03" * 32, NOW)  # not newer
        with pytest.raises(EvaluatorRefused):
            add_epoch_in(conn, 2, "00" * 32, NOW)
        add_epoch_in(conn, 2, "03" * 32, NOW)
        signed = ctx.lists.issue_in(conn, NOW)
    body = signed.verify(issuer_key=ctx.identity.verify_key, now=NOW, previous_sequence=None)
    assert body.evaluator is not None and body.evaluator.current_epoch == 2
    assert body.evaluator.key_of(1) == bytes.fromhex("02" * 32)


def test_evaluator_commands(ctx: ObservatoryContext, observatory_dir: Path,
                            capsys: pytest.CaptureFixture[str]) -> None:
    from observatory.cli import main

    ctx.close()
    data = ["--data", str(observatory_dir)]
    assert main(["evaluator-show", *data]) == 0
    assert "No evaluator published" in capsys.readouterr().out
    assert main(["evaluator-set", "e0" * 16, "01" * 32, *data]) == 0
    assert main(["evaluator-epoch", "1", "02" * 32, *data]) == 0
    assert "Membership list" in capsys.readouterr().out
    assert main(["evaluator-epoch", "1", "04" * 32, *data]) == 1
    assert "nothing was changed" in capsys.readouterr().err
    assert main(["evaluator-show", *data]) == 0
    assert f"epoch 1 oprf key: {'02' * 32}" in capsys.readouterr().out
    assert main(["evaluator-retire", "1", *data]) == 0
    assert main(["evaluator-retire", "1", *data]) == 1
