"""The observatory's federation endpoint: its decisions, behind the shared responder.

Every request arrives on `protocol.versions.FEDERATION_PROTOCOL` as one signed envelope frame
and gets one frame back. `protocol.responder.Responder` does what every endpoint does
(verify, refuse with the shared reason codes, check that the libp2p peer is the sender's
key, answer duplicates, act once in the same transaction as the replay record); this module
only says what the observatory answers:

=====================  =========================================================================
request                answer
=====================  =========================================================================
MembershipRequest      `DeliveryAck(accepted)` while pending; `MembershipDecision` once decided;
                       `DeliveryAck(rejected)`: ``key_mismatch``, ``key_in_use``, ``revoked``;
                       for now: ``rate_limited`` (this peer asked too often),
                       ``enrollment_full`` (too many requests wait for a decision)
MembershipListQuery    the current signed `MembershipList`; non-members: ``not_a_member``
CheckpointPush         `CosignatureResponse` (cosigned or refused); non-members: ``not_a_member``
WitnessedQuery         `WitnessedCheckpoint`: the member's note we last cosigned (issue 21)
LogSuccession          `DeliveryAck`: accepted (recorded), or rejected with why (issue 21)
StatisticsRelease      `DeliveryAck`: accepted, duplicate, or rejected with the reason
                       (`observatory.statistics.ingest`); non-members: ``not_a_member``
TokenSubmission        `DeliveryAck(accepted)`: withdrawn, stored and matched
                       (`observatory.matching`); non-members: ``not_a_member``
MatchNoticeQuery       `MatchNotices`: the member's pending notices, after marking those it
                       acknowledges delivered; non-members: ``not_a_member``
IntroductionRequest    `DeliveryAck(accepted)`: the coordinator's decision on a matched case
                       kept (`observatory.introductions`); ``unknown_case``, ``not_your_keys``
IntroductionQuery      `Introductions`: the member's pending introductions, after marking those
                       it acknowledges delivered
anything else          `DeliveryAck(rejected, reason="not_supported")`
=====================  =========================================================================

A `MembershipRequest` is the only message verified with the key it carries (a node that is
not known yet proves it holds the key it asks to join with). Membership is checked inside
the write transaction that acts, so an admin's revocation and a member's request never
interleave. A refusal (`Refuse`) stores nothing, not even the envelope's replay record: a
resend of a refused envelope is refused again, never mistaken for one delivered.

Requests to join are rate-limited per sender (`PeerLimiter`, in memory): a
`MembershipRequest`'s sender is verified with the key it carries and is the libp2p peer
(the responder checks), so the limit is per peer. The refusal says nothing about anyone
else's membership.

The responder runs in a worker thread (`asyncio.to_thread`): SQLite and Ed25519 are blocking
calls, and the libp2p host waits on this coroutine, not on the event loop.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import threading
import time
from collections import OrderedDict
from collections.abc import Callable

from observatory.context import ObservatoryContext
from observatory.experts import VettingRefused
from observatory.introductions import Introducer, IntroductionRefused
from observatory.matching import MatchingConfig, TokenMatcher
from observatory.members import Member
from observatory.statistics.ingest import ReleaseIngest
from protocol.delivery import DeliveryAck
from protocol.envelope import Envelope, role_key_of
from protocol.exchanges import Endpoint, RequestReceived
from protocol.experts import ExpertAvailability, ExpertDirectoryQuery, ExpertVouch
from protocol.matching import (
    MAX_NOTICES,
    IntroductionQuery,
    IntroductionRequest,
    Introductions,
    MatchNoticeQuery,
    MatchNotices,
    TokenSubmission,
)
from protocol.membership import (
    MembershipDecision,
    MembershipListQuery,
    MembershipRequest,
)
from protocol.message import Message
from protocol.reasons import Reason
from protocol.responder import Refuse, Responder
from protocol.statistics import StatisticsRelease
from protocol.witness import CheckpointPush, LogSuccession, WitnessedQuery
from protocol.witnessing import response_for
from transport.identity import peer_id_from_public_key
from transport.inbox import ReplayGuard
from transport.store import ReplayStore

log = logging.getLogger("backup.observatory.federation")

# Verify and store a member's statistics release inside the write transaction `conn`, and
# answer with the acknowledgement (accepted, duplicate, or rejected and why):
# `observatory.statistics.ingest.ReleaseIngest` unless a caller passes another hook.
StatisticsHook = Callable[[sqlite3.Connection, Member, Envelope, Message, int], DeliveryAck]


class PeerLimiter:
    """A token bucket per peer: `per_hour` requests an hour, `per_hour // 2` at once (at
    least one). Only in memory, bounded (the least recently seen peers are forgotten
    first), safe across the worker threads that answer."""

    MAX_PEERS = 10_000

    def __init__(self, per_hour: int, monotonic: Callable[[], float] = time.monotonic) -> None:
        self._rate = per_hour / 3600.0
        self._burst = float(max(1, per_hour // 2))
        self._now = monotonic
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()
        self._lock = threading.Lock()

    def allow(self, peer: str) -> bool:
        with self._lock:
            now = self._now()
            tokens, then = self._buckets.pop(peer, (self._burst, now))
            tokens = min(self._burst, tokens + (now - then) * self._rate)
            allowed = tokens >= 1.0
            self._buckets[peer] = (tokens - 1.0 if allowed else tokens, now)
            while len(self._buckets) > self.MAX_PEERS:
                self._buckets.popitem(last=False)
            return allowed


class Federation:
    """Answers federation envelopes for one observatory."""

    def __init__(self, ctx: ObservatoryContext, *,
                 statistics_release: StatisticsHook | None = None,
                 enrollment_limiter: PeerLimiter | None = None) -> None:
        self._ctx = ctx
        self._enrollments = enrollment_limiter or PeerLimiter(
            ctx.config.enrollment.requests_per_peer_per_hour)
        self._statistics_release: StatisticsHook = (
            statistics_release if statistics_release is not None
            else ReleaseIngest(ctx.config.statistics))
        guard: ReplayStore = ReplayGuard(ctx.db)
        responder: Responder[sqlite3.Connection] = Responder(
            Endpoint(ctx.identity.node_id, ctx.identity.signing_key,
                     lookup_key=ctx.members.key_of, is_replay=guard),
            once=guard.once, peer_id_of=lambda key: peer_id_from_public_key(key.raw()),
            clock=ctx.now, accept_self_certified=True, log=log)
        responder.serve(MembershipRequest, self._enroll)
        responder.serve(MembershipListQuery, self._list)
        responder.serve(CheckpointPush, self._witness)
        responder.serve(WitnessedQuery, self._witnessed)  # a member's restore (issue 21)
        responder.serve(LogSuccession, self._succession)
        responder.serve(StatisticsRelease, self._statistics)
        # the expert network (issue 16): observatory/experts.py decides
        responder.serve(ExpertVouch, self._vouch)
        responder.serve(ExpertAvailability, self._availability)
        responder.serve(ExpertDirectoryQuery, self._directory)
        # perpetrator matching (issue 18): tokens only; observatory/matching.py decides
        self._matcher = TokenMatcher(MatchingConfig(ctx.config.matching.threshold))
        responder.serve(TokenSubmission, self._tokens)
        responder.serve(MatchNoticeQuery, self._notices)
        self._introducer = Introducer(ctx.config.matching.introduction_days)
        responder.serve(IntroductionRequest, self._introduce)
        responder.serve(IntroductionQuery, self._introductions)
        self.responder = responder

    async def handle(self, frame: bytes, remote_peer: str) -> bytes:
        """The `transport.host.Handler` for `protocol.versions.FEDERATION_PROTOCOL`."""
        return await asyncio.to_thread(self.answer, frame, remote_peer)

    def answer(self, frame: bytes, remote_peer: str) -> bytes:
        """The response frame for one request frame (blocking; see `handle`)."""
        return self.responder.answer(frame, remote_peer)

    # -- decisions, inside the transaction that records the envelope ---------------------------

    def _member(self, conn: sqlite3.Connection, request: RequestReceived) -> Member:
        member = self._ctx.members.get(request.envelope.sender, conn)
        if member is None or member.status != "approved":
            raise Refuse(Reason.NOT_A_MEMBER)
        return member

    def _enroll(self, request: RequestReceived, conn: sqlite3.Connection) -> Message:
        asked = request.message
        assert isinstance(asked, MembershipRequest)  # served for this type only
        if not self._enrollments.allow(request.envelope.sender):
            raise Refuse(Reason.RATE_LIMITED)
        outcome = self._ctx.members.enroll_in(conn, asked, self._ctx.now())
        member = outcome.member
        if outcome.stored:
            log.info("request to join from node %s stored; an admin decides", asked.node_id)
        if outcome.status == "pending":
            return DeliveryAck.accept(request.envelope.envelope_id)
        if outcome.status == "approved":
            assert member is not None and member.certificate is not None
            return MembershipDecision(node_id=asked.node_id, decision="approved",
                                      certificate=member.certificate)
        if outcome.status == "rejected":
            assert member is not None and member.reason is not None
            return MembershipDecision(node_id=asked.node_id, decision="rejected",
                                      reason=member.reason)
        # key_mismatch, key_in_use, revoked, enrollment_full: nothing was stored
        raise Refuse(outcome.status)

    def _list(self, request: RequestReceived, conn: sqlite3.Connection) -> Message:
        self._member(conn, request)
        return self._ctx.lists.current_in(conn, self._ctx.now())

    def _witness(self, request: RequestReceived, conn: sqlite3.Connection) -> Message:
        push = request.message
        assert isinstance(push, CheckpointPush)
        member = self._member(conn, request)
        result = self._ctx.checkpoints.witness_in(
            conn, member.node_id, member.verify_key, push, self._ctx.now(),
            role_key_of(request.envelope, member.verify_key, "checkpoint"))
        return response_for(result, push=push)

    def _witnessed(self, request: RequestReceived, conn: sqlite3.Connection) -> Message:
        query = request.message
        assert isinstance(query, WitnessedQuery)
        member = self._member(conn, request)
        return self._ctx.checkpoints.witnessed_in(conn, member.node_id, query)

    def _succession(self, request: RequestReceived, conn: sqlite3.Connection) -> Message:
        message = request.message
        assert isinstance(message, LogSuccession)
        member = self._member(conn, request)
        self._ctx.checkpoints.succession_in(
            conn, member.node_id, member.verify_key, message, self._ctx.now(),
            role_key_of(request.envelope, member.verify_key, "checkpoint"))
        return DeliveryAck.accept(request.envelope.envelope_id)

    def _statistics(self, request: RequestReceived, conn: sqlite3.Connection) -> Message:
        member = self._member(conn, request)
        return self._statistics_release(conn, member, request.envelope, request.message,
                                        self._ctx.now())

    def _vouch(self, request: RequestReceived, conn: sqlite3.Connection) -> Message:
        self._member(conn, request)
        vouch = request.message
        assert isinstance(vouch, ExpertVouch)
        try:
            issued = self._ctx.experts.receive_vouch_in(conn, vouch, request.envelope.sender,
                                                        self._ctx.now())
        except VettingRefused as exc:
            raise Refuse(exc.code) from None
        return issued or DeliveryAck.accept(request.envelope.envelope_id)

    def _availability(self, request: RequestReceived, conn: sqlite3.Connection) -> Message:
        self._member(conn, request)
        change = request.message
        assert isinstance(change, ExpertAvailability)
        try:
            self._ctx.experts.availability_in(conn, change, request.envelope.sender,
                                              self._ctx.now())
        except VettingRefused as exc:
            raise Refuse(exc.code) from None
        return DeliveryAck.accept(request.envelope.envelope_id)

    @staticmethod
    def _revoked(conn: sqlite3.Connection) -> list[str]:
        return [r[0] for r in conn.execute("SELECT node_id FROM members WHERE status = 'revoked'")]

    def _tokens(self, request: RequestReceived, conn: sqlite3.Connection) -> Message:
        member = self._member(conn, request)
        submission = request.message
        assert isinstance(submission, TokenSubmission)
        notices = self._matcher.submit_in(conn, member.node_id, submission,
                                          self._revoked(conn), self._ctx.now())
        self._introducer.withdrawn_in(conn, member.node_id, submission.withdrawn)
        if notices:  # counts only: which members and cases stays in the database
            log.info("matching: %d new match notice(s)", len(notices))
        return DeliveryAck.accept(request.envelope.envelope_id)

    def _notices(self, request: RequestReceived, conn: sqlite3.Connection) -> Message:
        member = self._member(conn, request)
        query = request.message
        assert isinstance(query, MatchNoticeQuery)
        self._matcher.acknowledged_in(conn, member.node_id, query.acknowledged,
                                      self._ctx.now())
        return MatchNotices(notices=tuple(
            self._matcher.pending_notices(conn, member.node_id)[:MAX_NOTICES]))

    def _introduce(self, request: RequestReceived, conn: sqlite3.Connection) -> Message:
        member = self._member(conn, request)
        asked = request.message
        assert isinstance(asked, IntroductionRequest)
        try:
            issued = self._introducer.request_in(conn, member.node_id, asked,
                                                 self._revoked(conn), self._ctx.now())
        except IntroductionRefused as exc:
            raise Refuse(exc.code) from None
        if issued:  # a count only: which members and cases stays in the database
            log.info("matching: %d introduction(s) issued", issued)
        return DeliveryAck.accept(request.envelope.envelope_id)

    def _introductions(self, request: RequestReceived, conn: sqlite3.Connection) -> Message:
        member = self._member(conn, request)
        query = request.message
        assert isinstance(query, IntroductionQuery)
        now = self._ctx.now()
        self._introducer.acknowledged_in(conn, member.node_id, query.acknowledged, now)
        self._introducer.expire_in(conn, now)
        return Introductions(introductions=tuple(
            self._introducer.pending_in(conn, member.node_id, self._revoked(conn), now)))

    def _directory(self, request: RequestReceived, conn: sqlite3.Connection) -> Message:
        self._member(conn, request)  # never public: members only
        return self._ctx.experts.current_in(conn, self._ctx.now())
