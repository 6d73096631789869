"""Introducing the coordinators of a match (issue 18, "Connection").

The observatory's rule (`observatory.introductions`) over its real database: both sides agree
-> both get an introduction with the same thread id; one side -> nothing; a dismissal, a
revocation, a withdrawn case or time end it. Then the whole path in one process with the real
nodes of `test_perpetrator_matching`: each coordinator agrees on the match page's service,
the request goes through the observatory's responder, each node fetches its introduction,
checks the other coordinator's keys against the other member's identity key, opens the
coordinator thread on the matched case, and a message written on one side is read on the
other. Retired epochs: the tokens of an epoch retired from the list go on both sides."""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crypto.keys import SigningKey
from node import errors
from node.experts import thread_content
from node.key_certificates import Certifier
from node.matching import introductions, notices, tokens
from observatory.context import ObservatoryContext
from observatory.evaluator_keys import add_epoch_in, retire_in
from observatory.introductions import DAY, Introducer, IntroductionRefused
from observatory.matching import MatchingConfig, TokenMatcher
from protocol.delivery import DeliveryAck
from protocol.engagements import ThreadMessage
from protocol.matching import (
    CoordinatorKeys,
    IntroductionQuery,
    IntroductionRequest,
    Introductions,
    Token,
    TokenSubmission,
)
from tests.unit.observatory.test_perpetrator_matching import (
    ARABIC,
    LATIN,
    Member,
    _ask,
    build_world,
    close_world,
    confirm_and_submit,
    deliver,
)

T0 = 1_800_000_000
A, B, C = "a1" * 16, "b2" * 16, "c3" * 16
TOKEN = "ab" * 64


def _keys(member: str) -> CoordinatorKeys:
    return CoordinatorKeys(node_id=member, coordinator_key=secrets.token_hex(32),
                           coordinator_box_key=secrets.token_hex(32),
                           certificate=secrets.token_hex(64))


def _agree(ref: str, member: str) -> IntroductionRequest:
    return IntroductionRequest(request_id=secrets.token_hex(16), case_ref=ref, decision="agree",
                               coordinator=_keys(member))


def _dismiss(ref: str) -> IntroductionRequest:
    return IntroductionRequest(request_id=secrets.token_hex(16), case_ref=ref,
                               decision="dismiss")


class Observatory:
    """The matcher and the introducer over the observatory's own database."""

    def __init__(self, ctx: ObservatoryContext, days: int = 30) -> None:
        self.db = ctx.db
        self.matcher = TokenMatcher(MatchingConfig())
        self.introducer = Introducer(days)

    def token(self, member: str, ref: str, token: str = TOKEN, *, epoch: int = 1,
              withdrawn: tuple[str, ...] = ()) -> None:
        submission = TokenSubmission(
            batch_id=secrets.token_hex(16), epoch=epoch, withdrawn=withdrawn,
            tokens=(Token(case_ref=ref, kind="name_group", token=token),) if ref else ())
        with self.db.write() as conn:
            self.matcher.submit_in(conn, member, submission, [], T0)
            self.introducer.withdrawn_in(conn, member, withdrawn)

    def ask(self, member: str, request: IntroductionRequest, now: int = T0,
            revoked: tuple[str, ...] = ()) -> int:
        with self.db.write() as conn:
            return self.introducer.request_in(conn, member, request, revoked, now)

    def pending(self, member: str, now: int = T0, revoked: tuple[str, ...] = ()) -> list[Any]:
        with self.db.write() as conn:
            self.introducer.expire_in(conn, now)
            return self.introducer.pending_in(conn, member, revoked, now)


@pytest.fixture
def obs(ctx: ObservatoryContext) -> Observatory:
    return Observatory(ctx)


REF_A, REF_B, REF_C = "0a" * 16, "0b" * 16, "0c" * 16


def test_both_agree_both_introduced_with_one_thread(obs: Observatory) -> None:
    obs.token(A, REF_A)
    obs.token(B, REF_B)
    agreed_a, agreed_b = _agree(REF_A, A), _agree(REF_B, B)
    assert obs.ask(A, agreed_a) == 0
    assert obs.pending(A) == [] and obs.pending(B) == []  # one side: nothing, to anyone
    assert obs.ask(B, agreed_b) == 1
    (to_a,), (to_b,) = obs.pending(A), obs.pending(B)
    assert to_a.thread_id == to_b.thread_id
    assert (to_a.case_ref, to_a.peer) == (REF_A, agreed_b.coordinator)
    assert (to_b.case_ref, to_b.peer) == (REF_B, agreed_a.coordinator)
    assert to_a.expires_at == T0 + 30 * DAY
    # asked again (a retry): no second introduction; acknowledged: not sent again
    assert obs.ask(B, agreed_b) == 0
    with obs.db.write() as conn:
        obs.introducer.acknowledged_in(conn, A, [to_a.introduction_id, to_b.introduction_id],
                                       T0)
    assert obs.pending(A) == [] and obs.pending(B) == [to_b]  # only A's own were marked


def test_no_introduction_without_a_match_or_for_someone_else(obs: Observatory) -> None:
    obs.token(A, REF_A)
    obs.token(B, REF_B, "cd" * 64)  # another man: no match, no notice
    obs.ask(A, _agree(REF_A, A))
    assert obs.ask(B, _agree(REF_B, B)) == 0
    assert obs.pending(A) == obs.pending(B) == []
    with pytest.raises(IntroductionRefused) as unknown:
        obs.ask(A, _agree(REF_C, A))  # not a case A holds
    assert unknown.value.code == "unknown_case"
    obs.token(C, REF_C)
    with pytest.raises(IntroductionRefused) as theirs:
        obs.ask(C, _agree(REF_C, A))  # keys of another member's coordinator
    assert theirs.value.code == "not_your_keys"


def test_a_dismissal_ends_it_even_after_it_was_issued(obs: Observatory) -> None:
    obs.token(A, REF_A)
    obs.token(B, REF_B)
    obs.ask(A, _agree(REF_A, A))
    obs.ask(B, _dismiss(REF_B))
    assert obs.pending(A) == obs.pending(B) == []
    # issued, then one side dismisses before the other fetched it: it is not delivered
    obs.token(C, REF_C)
    obs.ask(C, _agree(REF_C, C))
    assert len(obs.pending(A)) == 1 and len(obs.pending(C)) == 1
    obs.ask(C, _dismiss(REF_C))
    assert obs.pending(A) == obs.pending(C) == []


def test_revoked_members_and_withdrawn_cases_are_not_introduced(obs: Observatory) -> None:
    obs.token(A, REF_A)
    obs.token(B, REF_B)
    obs.ask(A, _agree(REF_A, A))
    assert obs.ask(B, _agree(REF_B, B), revoked=(A,)) == 0  # A revoked: left out
    obs.ask(B, _agree(REF_B, B))
    assert len(obs.pending(B)) == 1
    assert obs.pending(B, revoked=(A,)) == []  # revoked after it was issued: held back
    # B's report deleted: its tokens are withdrawn, and with them what was pending
    obs.token(B, "", withdrawn=(REF_B,))
    assert obs.pending(A) == obs.pending(B) == []
    assert obs.db.read().execute("SELECT count(*) FROM matching_introduction_requests WHERE"
                                 " member = ?", (B,)).fetchone()[0] == 0


def test_introductions_and_waiting_agreements_expire(ctx: ObservatoryContext) -> None:
    obs = Observatory(ctx, days=1)
    obs.token(A, REF_A)
    obs.token(B, REF_B)
    obs.ask(A, _agree(REF_A, A), now=T0)
    assert obs.ask(B, _agree(REF_B, B), now=T0 + 2 * DAY) == 0  # A's agreement expired
    obs.ask(A, _agree(REF_A, A), now=T0 + 2 * DAY)
    assert len(obs.pending(B, now=T0 + 2 * DAY)) == 1
    assert obs.pending(B, now=T0 + 3 * DAY + 1) == []  # never fetched: expired
    assert obs.db.read().execute("SELECT count(*) FROM matching_introductions"
                                 ).fetchone()[0] == 0


def test_a_retired_epoch_s_tokens_are_dropped_at_the_observatory(obs: Observatory) -> None:
    obs.token(A, REF_A, epoch=1)
    obs.token(A, REF_A, epoch=2)
    with obs.db.write() as conn:
        add_epoch_in(conn, 1, "11" * 32, T0)
        add_epoch_in(conn, 2, "22" * 32, T0)
        retire_in(conn, 1, T0)
    held = obs.db.read().execute("SELECT epoch FROM matching_tokens").fetchall()
    assert [tuple(r) for r in held] == [(2,)]


# -- the whole path, in one process ----------------------------------------------------------

@pytest.fixture
def world(ctx: ObservatoryContext, tmp_path: Any) -> Iterator[dict[str, Any]]:
    built = build_world(ctx, tmp_path)
    yield built
    close_world(built)


def _send_due(world: dict[str, Any], m: Member) -> None:
    """The node's round: its coordinators' decisions to the observatory's responder."""
    for request in introductions.due(m.ctx.db.read()):
        ack = _ask(m.net, world["obs"], world["federation"].answer, request)
        assert isinstance(ack, DeliveryAck) and ack.status == "accepted", ack
        with m.ctx.db.write() as conn:
            introductions.queued(conn, request, secrets.token_hex(16))


def _fetch(world: dict[str, Any], m: Member, identity_of: Any) -> list[str]:
    """The node's round: fetch its introductions and open their threads."""
    answer = _ask(m.net, world["obs"], world["federation"].answer, IntroductionQuery())
    assert isinstance(answer, Introductions)
    now = int(time.time())
    with m.ctx.db.write() as conn:
        return [introductions.record_in(conn, m.ctx.threads, i, identity_of, now)
                for i in answer.introductions]


def _matched(world: dict[str, Any]) -> tuple[Member, Member, str, str, Any, Any]:
    """Nodes a and b each hold a report naming the same man; both got the match notice."""
    a, b = world["members"]["a"], world["members"]["b"]
    report_a = confirm_and_submit(world, "a", LATIN)
    report_b = confirm_and_submit(world, "b", ARABIC)
    deliver(world)
    (match_a,) = notices.matches(a.ctx.db.read(), report_a)
    (match_b,) = notices.matches(b.ctx.db.read(), report_b)
    return a, b, report_a, report_b, match_a, match_b


def _ask_introduction(m: Member, staff: Any, report: str, ref: str, now: int) -> None:
    with m.ctx.db.write() as conn:  # what the match page's button does
        introductions.ask(conn, Certifier(m.net.node_id, m.net.key), m.net.node_id, staff,
                          report, ref, now)


def test_request_fetch_thread_and_a_message_across(world: dict[str, Any]) -> None:
    members = world["members"]
    a, b, report_a, report_b, match_a, match_b = _matched(world)
    identity = {m.net.node_id: m.net.key.verify_key.raw().hex() for m in members.values()}
    now = int(time.time())
    with pytest.raises(errors.Forbidden):
        _ask_introduction(a, a.team.caseworker, report_a, match_a.case_ref, now)
    _ask_introduction(a, a.team.coordinator, report_a, match_a.case_ref, now)
    assert introductions.waiting(a.ctx.db.read())
    _send_due(world, a)
    assert _fetch(world, a, identity.get) == [] and _fetch(world, b, identity.get) == []
    _ask_introduction(b, b.team.coordinator, report_b, match_b.case_ref, now)
    _send_due(world, b)
    # a's copy, with the other coordinator's keys certified by someone else: not believed
    forged = _ask(a.net, world["obs"], world["federation"].answer, IntroductionQuery())
    assert isinstance(forged, Introductions)
    (intro,) = forged.introductions
    stranger = {b.net.node_id: SigningKey.generate().verify_key.raw().hex()}
    with a.ctx.db.write() as conn:
        assert introductions.record_in(conn, a.ctx.threads, intro, stranger.get,
                                       now) == "not_certified"
        assert introductions.record_in(conn, a.ctx.threads, intro, {}.get,
                                       now) == "not_a_member"
    assert _fetch(world, a, identity.get) == ["introduced"]
    assert _fetch(world, b, identity.get) == ["introduced"]
    (thread_a,) = [s.thread for s in a.ctx.threads.of_staff(a.team.coordinator)]
    (thread_b,) = [s.thread for s in b.ctx.threads.of_staff(b.team.coordinator)]
    assert thread_a.thread_id == thread_b.thread_id
    assert (thread_a.kind, thread_a.report_id, thread_a.peer_node) == (
        "coordinators", report_a, b.net.node_id)
    assert (thread_b.report_id, thread_b.peer_node) == (report_b, a.net.node_id)
    assert introductions.states(a.ctx.db.read(), report_a)[match_a.case_ref].thread_id == (
        thread_a.thread_id)
    assert not introductions.waiting(a.ctx.db.read())
    # a message from a's coordinator, carried node to node, read by b's
    a.ctx.threads.send(a.team.coordinator, thread_a.thread_id,
                       thread_content.Content(text="We hold a matching case.",
                                              attachment=None))
    [(peer, message)] = a.ctx.threads.due()
    assert peer == b.net.node_id and isinstance(message, ThreadMessage)
    with b.ctx.db.write() as conn:
        assert b.ctx.threads.receive_in(conn, message, sender=a.net.node_id,
                                        now=int(time.time())) == "kept"
    assert b.ctx.threads.unread(b.team.coordinator.member.id) == 1
    _, shown = b.ctx.threads.read(b.team.coordinator, thread_b.thread_id)
    assert [m.content.text for m in shown if m.content] == ["We hold a matching case."]
    # the observatory saw keys and references, never the message
    held = world["ctx"].db.read().execute("SELECT count(*) FROM matching_introductions"
                                          ).fetchone()[0]
    assert held == 2
    # a deleted case takes its introduction and its thread with it
    a.ctx.deletion.by_staff(a.team.coordinator, report_a, "duplicate", "")
    assert a.ctx.db.read().execute("SELECT count(*) FROM matching_introductions"
                                   ).fetchone()[0] == 0


def test_a_dismissal_is_sent_and_ends_the_other_side_s_wait(world: dict[str, Any]) -> None:
    members = world["members"]
    a, b, report_a, report_b, match_a, match_b = _matched(world)
    now = int(time.time())
    _ask_introduction(a, a.team.coordinator, report_a, match_a.case_ref, now)
    with b.ctx.db.write() as conn:
        assert notices.dismiss(conn, b.team.coordinator, report_b, match_b.case_ref, now)
        introductions.dismissed(conn, report_b, match_b.case_ref, now)
    _send_due(world, a)
    _send_due(world, b)
    identity = {m.net.node_id: m.net.key.verify_key.raw().hex() for m in members.values()}
    assert _fetch(world, a, identity.get) == [] and _fetch(world, b, identity.get) == []
    # through the responder: a case the member holds no token of is refused, nothing kept
    refused = _ask(a.net, world["obs"], world["federation"].answer, _agree("ee" * 16,
                                                                         a.net.node_id))
    assert isinstance(refused, DeliveryAck) and refused.reason == "unknown_case"
    # a refusal of a's agreement, as the round records it: forgotten, may be asked again
    from node.matching.worker import INTRODUCE, EvaluationQueue, MatchingRound
    (envelope_id,) = a.ctx.db.read().execute(
        "SELECT envelope_id FROM matching_introductions").fetchone()
    with a.ctx.db.write() as conn:
        assert MatchingRound(EvaluationQueue()).record(
            conn, INTRODUCE, envelope_id, DeliveryAck(envelope_id=envelope_id,
                                                      status="rejected", reason="unknown_case"),
            None, now) == "refused:unknown_case"
    assert introductions.states(a.ctx.db.read(), report_a) == {}
    # the revoked: refused, and nothing of theirs reaches the other side
    world["ctx"].members.revoke(b.net.node_id, "misbehaviour", now)
    refused = _ask(b.net, world["obs"], world["federation"].answer, IntroductionQuery())
    assert isinstance(refused, DeliveryAck) and refused.reason == "not_a_member"
    with pytest.raises(errors.NotFound):  # not a match of a's
        _ask_introduction(a, a.team.coordinator, report_a, "ff" * 16, now)


def test_a_retired_epoch_s_tokens_are_deleted_on_the_node(world: dict[str, Any]) -> None:
    m: Member = world["members"]["a"]
    report = confirm_and_submit(world, "a", LATIN)
    (ref,) = {r[0] for r in m.ctx.db.read().execute("SELECT case_ref FROM matching_tokens")}
    assert tokens.drop_retired(m.ctx.db, [1, 2]) == 0  # epoch 1 still published
    assert tokens.drop_retired(m.ctx.db, [2]) > 0
    assert m.ctx.db.read().execute("SELECT count(*) FROM matching_tokens").fetchone()[0] == 0
    # the case keeps its reference for the new epoch's tokens once it has a match
    with m.ctx.db.write() as conn:
        conn.execute("INSERT INTO matching_matches (case_ref, report_id, others, epoch,"
                     " notified_at) VALUES (?, ?, 1, 1, 0)", (ref, report))
        assert tokens.case_ref(conn, report) == ref




# -- the certificate of a coordinator's keys: every flipped bit is refused -------------------

_IDENTITY = SigningKey(bytes(range(32)))
_FIELDS = ("node_id", "coordinator_key", "coordinator_box_key", "certificate")


def _certified() -> CoordinatorKeys:
    from crypto.keys import BoxPublicKey
    from node.key_certificates import statement

    node_id, key, box = "4d" * 16, "5e" * 32, "6f" * 32
    signature = _IDENTITY.sign(statement(node_id, introductions.SUBJECT_PREFIX + key,
                                         BoxPublicKey(bytes.fromhex(box))))
    return CoordinatorKeys(node_id=node_id, coordinator_key=key, coordinator_box_key=box,
                           certificate=signature.hex())


@given(field=st.sampled_from(_FIELDS), bit=st.integers(0, 511))
@settings(max_examples=200, deadline=None)
def test_a_flipped_bit_anywhere_is_not_certified(field: str, bit: int) -> None:
    keys = _certified()
    identity = _IDENTITY.verify_key.raw().hex()
    assert introductions.keys_authentic(keys, identity)
    raw = bytearray(bytes.fromhex(getattr(keys, field)))
    raw[(bit // 8) % len(raw)] ^= 1 << (bit % 8)
    flipped = keys.model_copy(update={field: raw.hex()})
    assert not introductions.keys_authentic(flipped, identity)
    assert not introductions.keys_authentic(keys, SigningKey.generate().verify_key.raw().hex())
