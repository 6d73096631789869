"""The observatory's federation endpoint: one libp2p protocol, one envelope in, one out.

Every request arrives on ``/backup/federation/1.0.0`` as one signed envelope frame
(`protocol.envelope`) and gets one frame back (issue 5, federation v1):

=====================  =========================================================================
request                answer
=====================  =========================================================================
MembershipRequest      `DeliveryAck(accepted)` while pending; `MembershipDecision` once decided;
                       `DeliveryAck(rejected)`: ``key_mismatch``, ``key_in_use``, ``revoked``
MembershipListQuery    the current signed `MembershipList`; non-members: ``not_a_member``
CheckpointPush         `CosignatureResponse` (cosigned or refused); non-members: ``not_a_member``
StatisticsRelease      `DeliveryAck`: accepted, duplicate, or rejected with the reason
                       (`observatory.statistics.ingest`); non-members: ``not_a_member``
anything else          `DeliveryAck(rejected, reason="not_supported")`
=====================  =========================================================================

Checks, in order: the envelope (`protocol.exchanges.ServerExchange`: size, schema, type,
recipient, times, signature, replay; a `MembershipRequest` is the only message verified
with the key it carries); then that the libp2p peer, which Noise authenticated, is the
sender's own key (``peer_mismatch`` otherwise: nodes use their identity key as libp2p key).
An authentic envelope is recorded in the replay guard in the same transaction as whatever
it caused, so a resend is answered ``duplicate`` and never acted on twice. An envelope that
fails verification changes nothing; when it can still be read as an envelope, it is
answered with a signed `DeliveryAck(rejected)` naming the reason (``unknown_sender`` is
answered ``not_a_member``), so a node's outbox can stop retrying; otherwise the stream is
reset.

The decisions run in a worker thread (`asyncio.to_thread`): SQLite and Ed25519 are
blocking calls, and the libp2p host waits on this coroutine, not on the event loop.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import Callable
from typing import Any

from pydantic import ValidationError

from observatory.context import ObservatoryContext
from observatory.members import Member
from observatory.statistics.ingest import ReleaseIngest
from protocol.delivery import DeliveryAck
from protocol.encoding import parse_canonical_json
from protocol.envelope import Envelope, seal
from protocol.errors import EnvelopeRejected, ProtocolError, RemoteProtocolError
from protocol.exchanges import (
    NEED_DATA,
    DuplicateReceived,
    RequestReceived,
    ServerExchange,
)
from protocol.framing import decode_frame
from protocol.membership import MembershipDecision, MembershipListQuery, MembershipRequest
from protocol.message import Message
from protocol.witness import CheckpointPush
from protocol.witnessing import response_for
from transport.identity import peer_id_from_public_key
from transport.inbox import ReplayGuard

log = logging.getLogger("backup.observatory.federation")


# Verify and store a member's statistics release (the registered ``statistics.release``
# message) inside the write transaction `conn`, and answer with the acknowledgement
# (accepted, duplicate, or rejected and why): `observatory.statistics.ingest.ReleaseIngest`
# unless a caller passes another hook.
STATISTICS_RELEASE = "statistics.release"
StatisticsHook = Callable[[sqlite3.Connection, Member, Envelope, Message, int], DeliveryAck]


class RefuseStream(Exception):
    """The frame cannot be answered at all (not an envelope): reset the stream."""


def _ack(envelope: Envelope, status: str, reason: str | None = None) -> DeliveryAck:
    return DeliveryAck(envelope_id=envelope.envelope_id, status=status,  # type: ignore[arg-type]
                       reason=reason)


class Federation:
    """Answers federation envelopes for one observatory."""

    def __init__(self, ctx: ObservatoryContext, *,
                 statistics_release: StatisticsHook | None = None) -> None:
        self._ctx = ctx
        self._statistics_release: StatisticsHook = (
            statistics_release if statistics_release is not None
            else ReleaseIngest(ctx.config.statistics))

    async def handle(self, frame: bytes, remote_peer: str) -> bytes:
        """The `transport.host.Handler` for `protocol.versions.FEDERATION_PROTOCOL`."""
        return await asyncio.to_thread(self.answer, frame, remote_peer)

    def answer(self, frame: bytes, remote_peer: str) -> bytes:
        """The response frame for one request frame (blocking; see `handle`)."""
        ctx = self._ctx
        now = ctx.now()
        exchange = ServerExchange(
            local_node_id=ctx.identity.node_id,
            signing_key=ctx.identity.signing_key,
            lookup_key=ctx.members.key_of,
            is_replay=ReplayGuard(ctx.db.read()),
            accept_self_certified=True,  # only `MembershipRequest` is self-certifying
        )
        exchange.receive_data(frame)
        try:
            event = exchange.next_event(now=now)
        except EnvelopeRejected as exc:
            log.info("refused %s", exc)
            return self._refusal(frame, exc.reason, now)
        except RemoteProtocolError as exc:  # e.g. a response sent as a request
            log.info("refused: %s", exc)
            return self._refusal(frame, "not_supported", now)
        if event is NEED_DATA:  # the host hands over whole frames; a short one is broken
            raise RefuseStream("incomplete frame")
        if isinstance(event, DuplicateReceived):
            log.info("duplicate %s", event.envelope.describe())
            return exchange.send_response(_ack(event.envelope, "duplicate"), now=now)
        assert isinstance(event, RequestReceived)
        envelope, message = event.envelope, event.message
        response = self._respond(envelope, message, remote_peer, now)
        return exchange.send_response(response, now=now)

    # -- authentic requests ----------------------------------------------------------------

    def _respond(self, envelope: Envelope, message: Message, remote_peer: str,
                 now: int) -> Message:
        key = self._ctx.members.key_of(envelope.sender)
        if key is None and isinstance(message, MembershipRequest):
            key = message.self_certified_key(envelope.sender)
        assert key is not None  # the envelope verified with it
        if peer_id_from_public_key(key.raw()) != remote_peer:
            # Not recorded in the replay guard: the envelope did not come from its sender,
            # so a relay that captured it cannot use it up before the sender delivers it.
            log.info("refused %s: sent over another peer's connection", envelope.describe())
            return _ack(envelope, "rejected", "peer_mismatch")
        if isinstance(message, MembershipRequest):
            return self._once(envelope, lambda conn: self._enroll(conn, envelope, message, now))
        if isinstance(message, MembershipListQuery):
            return self._once(envelope, lambda conn: self._list(conn, envelope, now))
        if isinstance(message, CheckpointPush):
            return self._once(envelope, lambda conn: self._witness(conn, envelope, message, now))
        if message.TYPE == STATISTICS_RELEASE:
            hook = self._statistics_release
            return self._once(envelope, lambda conn: self._statistics(conn, envelope, message,
                                                                      now, hook))
        log.info("refused %s: not served by the observatory", envelope.describe())
        return self._once(envelope, lambda conn: _ack(envelope, "rejected", "not_supported"))

    def _once(self, envelope: Envelope, act: Callable[[sqlite3.Connection], Message]) -> Message:
        """Run `act` and record the envelope in one write transaction, unless a concurrent
        copy of the same envelope got there first."""
        with self._ctx.db.write() as conn:
            guard = ReplayGuard(conn)
            if guard(envelope.sender, envelope.envelope_id, envelope.nonce):
                return _ack(envelope, "duplicate")
            response = act(conn)
            guard.record_in(conn, envelope)
        return response

    def _member_in(self, conn: sqlite3.Connection, envelope: Envelope) -> Member | None:
        member = self._ctx.members.get(envelope.sender, conn)
        if member is None or member.status != "approved":
            log.info("refused %s: not a member", envelope.describe())
            return None
        return member

    def _enroll(self, conn: sqlite3.Connection, envelope: Envelope,
                request: MembershipRequest, now: int) -> Message:
        outcome = self._ctx.members.enroll_in(conn, request, now)
        member = outcome.member
        if outcome.stored:
            log.info("request to join from node %s stored; an admin decides", request.node_id)
        if outcome.status == "pending":
            return _ack(envelope, "accepted")
        if outcome.status == "approved":
            assert member is not None and member.certificate is not None
            return MembershipDecision(node_id=request.node_id, decision="approved",
                                      certificate=member.certificate)
        if outcome.status == "rejected":
            assert member is not None and member.reason is not None
            return MembershipDecision(node_id=request.node_id, decision="rejected",
                                      reason=member.reason)
        log.info("refused %s: %s", envelope.describe(), outcome.status)
        return _ack(envelope, "rejected", outcome.status)

    def _list(self, conn: sqlite3.Connection, envelope: Envelope, now: int) -> Message:
        if self._member_in(conn, envelope) is None:
            return _ack(envelope, "rejected", "not_a_member")
        return self._ctx.lists.current_in(conn, now)

    def _witness(self, conn: sqlite3.Connection, envelope: Envelope, push: CheckpointPush,
                 now: int) -> Message:
        member = self._member_in(conn, envelope)
        if member is None:
            return _ack(envelope, "rejected", "not_a_member")
        result = self._ctx.checkpoints.witness_in(conn, member.node_id, member.verify_key,
                                                  push, now)
        return response_for(result, push=push)

    def _statistics(self, conn: sqlite3.Connection, envelope: Envelope,
                    release: Message, now: int, hook: StatisticsHook) -> Message:
        member = self._member_in(conn, envelope)
        if member is None:
            return _ack(envelope, "rejected", "not_a_member")
        return hook(conn, member, envelope, release, now)

    # -- envelopes that did not verify -------------------------------------------------------

    def _refusal(self, frame: bytes, reason: str, now: int) -> bytes:
        """A signed `DeliveryAck(rejected, reason)` to the envelope's claimed sender, if the
        frame is an envelope at all; nothing is stored either way."""
        claimed = _claimed_envelope(frame)
        if claimed is None:
            raise RefuseStream(reason)
        if reason == "unknown_sender":
            reason = "not_a_member"
        try:
            envelope = seal(
                _ack(claimed, "rejected", reason),
                sender=self._ctx.identity.node_id,
                recipient=claimed.sender,
                signing_key=self._ctx.identity.signing_key,
                now=now,
                in_reply_to=claimed.envelope_id,
            )
            return envelope.to_frame()
        except (ProtocolError, ValidationError):  # e.g. it claims to come from us
            raise RefuseStream(reason) from None


def _claimed_envelope(frame: bytes) -> Envelope | None:
    """The envelope a frame claims to be, unverified: only to address a refusal."""
    try:
        obj: Any = parse_canonical_json(decode_frame(frame))
        return Envelope.model_validate(obj)
    except (ProtocolError, ValidationError):
        return None
