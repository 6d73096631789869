"""Requests arriving on ``/backup/federation/1.0.0``: verify, act, answer (issue 5).

One request is one signed envelope frame, answered by one frame (`transport.host`). Every
frame goes through `protocol.exchanges.ServerExchange`, i.e. `protocol.envelope.verify_frame`
with the keys this node believes (`directory`: the observatory's pinned key and the members
of the latest verified membership list) and the persisted replay guard. Then:

* the sender's key must be the libp2p identity Noise authenticated for the connection (a
  member's peer id is derived from its identity key), else ``peer_mismatch``;
* `CheckpointPush` from a member: witnessed (`peer_logs`); anyone else: ``not_a_member``;
* `MembershipList` / `MembershipDecision` pushed by the observatory: kept as if fetched;
* anything else: ``not_supported``.

What is acted on is recorded in the replay guard in the same transaction. A retry of an
envelope already handled (`DuplicateReceived`: the sender's outbox never heard our answer)
is answered again without acting again: a push is answered from the current witness state
(the same checkpoint is cosigned again), anything else with ``DeliveryAck(duplicate)``.

A frame that fails verification is answered, when its envelope at least parses, with a signed
``DeliveryAck(rejected, <reason>)`` (an unknown sender gets ``not_a_member``), and a log line
naming the reason; nothing is stored. A frame that does not parse resets the stream.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable

from node.federation import enrollment, members, peer_logs
from node.federation.config import FederationConfig
from node.federation.directory import Directory
from node.federation.errors import FederationError
from node.keyring import NodeKeys
from protocol.delivery import DeliveryAck
from protocol.encoding import parse_canonical_json
from protocol.envelope import Envelope, seal
from protocol.errors import EnvelopeRejected, ProtocolError, RemoteProtocolError, UnknownSender
from protocol.exchanges import DuplicateReceived, RequestReceived, ServerExchange
from protocol.framing import decode_frame
from protocol.membership import MembershipDecision, MembershipList
from protocol.message import Message
from protocol.registry import REGISTRY
from protocol.witness import CheckpointPush
from transport.identity import peer_id_from_public_key
from transport.inbox import ReplayGuard
from transport.transaction import write_transaction

log = logging.getLogger("backup.federation")

# An answer is read at once by the requester; an hour covers any clock skew we tolerate.
RESPONSE_TTL = 3600


class UnparsableFrame(FederationError):
    code = "unparsable_frame"


class FederationHandler:
    """The `transport.host.Handler` of the federation protocol."""

    def __init__(self, conn: sqlite3.Connection, *, keys: NodeKeys, config: FederationConfig,
                 directory: Callable[[], Directory], clock: Callable[[], int],
                 on_change: Callable[[], None] = lambda: None) -> None:
        self._conn = conn
        self._keys = keys
        self._config = config
        self._directory = directory
        self._clock = clock
        self._on_change = on_change
        self._guard = ReplayGuard(conn)

    async def __call__(self, frame: bytes, remote_peer_id: str) -> bytes:
        return self.handle(frame, remote_peer_id)

    def handle(self, frame: bytes, remote_peer_id: str) -> bytes:
        now = self._clock()
        directory = self._directory()
        exchange = ServerExchange(
            local_node_id=self._keys.node_id, signing_key=self._keys.identity,
            lookup_key=lambda node_id: directory.key_of(node_id, now), is_replay=self._guard)
        exchange.receive_data(frame)
        try:
            event = exchange.next_event(now=now)
        except EnvelopeRejected as exc:
            reason = "not_a_member" if isinstance(exc, UnknownSender) else exc.reason
            log.info("federation: refused a frame from peer %s: %s (%s)", remote_peer_id,
                     reason, exc)
            return self._refusal(frame, reason, now)
        except RemoteProtocolError as exc:
            log.info("federation: refused a frame from peer %s: %s", remote_peer_id, exc)
            return self._refusal(frame, "not_a_request", now)
        if not isinstance(event, RequestReceived | DuplicateReceived):
            raise UnparsableFrame("an incomplete frame")  # the transport sends whole frames
        envelope = event.envelope
        key = directory.key_of(envelope.sender, now)
        assert key is not None  # verify_frame found it
        if peer_id_from_public_key(key.raw()) != remote_peer_id:
            log.info("federation: %s arrived over the connection of another peer (%s)",
                     envelope.describe(), remote_peer_id)
            answer: Message = _ack(envelope, "rejected", "peer_mismatch")
        elif isinstance(event, DuplicateReceived):
            answer = self._duplicate(envelope, directory, now)
        else:
            answer = self._act(envelope, event.message, directory, now)
        return exchange.send_response(answer, now=now, ttl=RESPONSE_TTL)

    # -- acting on verified requests ---------------------------------------------------------

    def _act(self, envelope: Envelope, message: Message, directory: Directory,
             now: int) -> Message:
        sender = envelope.sender
        if isinstance(message, CheckpointPush):
            key = directory.key_of(sender, now)
            if not directory.is_member(sender, now) or key is None:
                return _ack(envelope, "rejected", "not_a_member")
            with write_transaction(self._conn) as conn:
                self._guard.record_in(conn, envelope)
                answer = peer_logs.witness_push(
                    conn, message, sender=sender, sender_key=key, node_id=self._keys.node_id,
                    identity=self._keys.identity, now=now)
            log.info("federation: %s: %s%s", envelope.describe(), answer.outcome,
                     f" ({answer.refusal})" if answer.refusal else "")
            return answer
        if sender != self._config.observatory_node_id:
            if isinstance(message, MembershipList | MembershipDecision):
                return _ack(envelope, "rejected", "not_the_observatory")
            return _ack(envelope, "rejected", "not_supported")
        if isinstance(message, MembershipList):
            try:
                with write_transaction(self._conn) as conn:
                    self._guard.record_in(conn, envelope)
                    members.accept(conn, message, node_id=self._keys.node_id,
                                   config=self._config, now=now)
            except EnvelopeRejected as exc:
                return _ack(envelope, "rejected", exc.reason)
            self._on_change()
            return _ack(envelope, "accepted")
        if isinstance(message, MembershipDecision):
            try:
                with write_transaction(self._conn) as conn:
                    self._guard.record_in(conn, envelope)
                    enrollment.handle_answer(conn, message, keys=self._keys,
                                             config=self._config, now=now)
            except FederationError as exc:
                return _ack(envelope, "rejected", exc.code)
            self._on_change()
            return _ack(envelope, "accepted")
        return _ack(envelope, "rejected", "not_supported")

    def _duplicate(self, envelope: Envelope, directory: Directory, now: int) -> Message:
        """Answer a retry without acting again (nothing is stored)."""
        model = REGISTRY.model_for(envelope.type, envelope.version)
        if model is not CheckpointPush:
            return _ack(envelope, "duplicate")
        key = directory.key_of(envelope.sender, now)
        if not directory.is_member(envelope.sender, now) or key is None:
            return _ack(envelope, "rejected", "not_a_member")
        push = CheckpointPush.from_json_object(envelope.payload)
        return peer_logs.answer_again(self._conn, push, sender=envelope.sender, sender_key=key,
                                      node_id=self._keys.node_id, identity=self._keys.identity,
                                      now=now)

    # -- refusing what does not verify ------------------------------------------------------

    def _refusal(self, frame: bytes, reason: str, now: int) -> bytes:
        """A signed `DeliveryAck(rejected)` to the envelope's claimed sender, if the frame
        holds an envelope at all; otherwise `UnparsableFrame` (the stream is reset)."""
        try:
            envelope = Envelope.model_validate(parse_canonical_json(decode_frame(frame)))
        except (ProtocolError, ValueError):
            raise UnparsableFrame("not an envelope") from None
        if envelope.sender == self._keys.node_id:
            raise UnparsableFrame("an envelope claiming to come from this node")
        return seal(_ack(envelope, "rejected", reason), sender=self._keys.node_id,
                    recipient=envelope.sender, signing_key=self._keys.identity, now=now,
                    ttl=RESPONSE_TTL, in_reply_to=envelope.envelope_id).to_frame()


def _ack(envelope: Envelope, status: str, reason: str | None = None) -> DeliveryAck:
    return DeliveryAck.model_validate(
        {"envelope_id": envelope.envelope_id, "status": status, "reason": reason})
