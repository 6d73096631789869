"""The server side of every exchange, shared by the node and the observatory (sans-IO).

`Responder.answer(frame, remote_peer_id)` takes one request frame, as the transport read it
from a stream whose remote peer Noise authenticated, and returns the one frame to answer
with. It never raises for anything the peer sent. In order:

1. `protocol.exchanges.ServerExchange` verifies the frame (size, schema, type, recipient,
   times, sender's key, signature, replay; `protocol.envelope`). A failure is refused with
   the code `protocol.reasons.refusal_reason` gives: an unknown sender and a bad signature
   look the same to the peer. An authentic envelope that is not a request (a response, an
   envelope that replies to one) is refused ``not_a_request``.
2. The peer binding: the libp2p peer must be the sender's identity key (nodes use their
   identity key as their libp2p key), else ``peer_mismatch``. Nothing is recorded then, so
   whoever relayed a captured envelope cannot use it up before its sender delivers it.
3. A request type nobody registered is refused ``not_supported``.
4. An authentic duplicate (`DuplicateReceived`: the sender's outbox never heard our answer) is
   answered without acting again: by the handler's `again` (the node answers a checkpoint
   push again from its witness state), else ``DeliveryAck(duplicate)``.
5. A new request is acted on once: the caller's `once` runs the handler's `act` and records
   the envelope in its replay store in one transaction (or finds that a concurrent copy got
   there first: a duplicate). A handler refuses by raising `Refuse(reason)`; its
   transaction is then rolled back, and nothing is recorded.

Every answer is signed and lives `RESPONSE_TTL`. A refusal is addressed as follows:

* the frame holds an envelope from someone else (whatever failed about it): a
  `DeliveryAck(rejected, reason)` to the sender it names, replying to its envelope id;
* it holds no readable envelope, or one claiming to come from us: a `FrameRefusal`, sealed
  with no recipient and naming the SHA-256 of the frame's body (`protocol.delivery`). Only
  the client that sent those bytes can match it to its request; it says nothing to anyone
  else. So every frame the transport could read gets a reason, and nothing unsigned is sent.

What stays with the caller: the key lookup and replay check (in the `Endpoint`), the clock,
the "act once" transaction, how a libp2p peer id is derived from a key, and the handlers,
which make the decisions (witnessing, enrollment, membership, statistics). Nothing here
opens a socket, awaits, or touches a database; `answer` blocks for as long as the caller's
hooks do, so the caller runs it off its event loop.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

from crypto.keys import VerifyKey
from protocol.delivery import DeliveryAck, FrameRefusal, frame_digest
from protocol.envelope import Envelope
from protocol.errors import EnvelopeRejected, ProtocolError, RemoteProtocolError
from protocol.exchanges import (
    RESPONSE_TTL,
    DuplicateReceived,
    Endpoint,
    NeedData,
    RequestReceived,
    ServerExchange,
)
from protocol.message import Message
from protocol.reasons import Reason, refusal_reason

Tx = TypeVar("Tx")
Tx_co = TypeVar("Tx_co", covariant=True)


class Refuse(ProtocolError):
    """Raised by a handler to refuse an authentic request with `reason` (and a short,
    payload-free `detail`); the transaction it ran in is rolled back."""

    def __init__(self, reason: str, detail: str | None = None) -> None:
        super().__init__(reason)
        self.reason_code = str(reason)
        self.detail = detail


class ActOnce(Protocol[Tx_co]):
    """Caller-implemented: in one write transaction, unless the replay store already holds
    `envelope` (a concurrent copy was acted on first: return None), run `act` with the
    transaction, record the envelope, commit, and return what `act` returned. An exception
    from `act` rolls the transaction back and propagates."""

    def __call__(self, envelope: Envelope, act: Callable[[Tx_co], Message], /
                 ) -> Message | None: ...


# act(request, transaction) -> the answer; again(duplicate) -> the answer, storing nothing.
Act = Callable[[RequestReceived, Tx], Message]
AnswerAgain = Callable[[DuplicateReceived], Message]


@dataclass(frozen=True)
class _Handling(Generic[Tx]):
    act: Act[Tx]
    again: AnswerAgain | None


class Responder(Generic[Tx]):
    """Answers request frames for one endpoint; see the module doc."""

    def __init__(self, endpoint: Endpoint, *, once: ActOnce[Tx],
                 peer_id_of: Callable[[VerifyKey], str], clock: Callable[[], int],
                 accept_self_certified: bool = False,
                 log: logging.Logger | None = None) -> None:
        self.endpoint = endpoint
        self._once = once
        self._peer_id_of = peer_id_of
        self._clock = clock
        # True only on the observatory, where a request to join is verified with the key
        # it carries (`protocol.envelope.verify_frame`).
        self._accept_self_certified = accept_self_certified
        self._log = log or logging.getLogger("backup.federation")
        self._handlers: dict[type[Message], _Handling[Tx]] = {}

    def serve(self, request: type[Message], act: Act[Tx], *,
              again: AnswerAgain | None = None) -> None:
        """Answer requests of type `request` with `act` (and their duplicates with `again`)."""
        if request not in self.endpoint.specs:
            raise ValueError(f"{request.TYPE} is not the request of any exchange")
        if request in self._handlers:
            raise ValueError(f"{request.TYPE} is served twice")
        self._handlers[request] = _Handling(act, again)

    def answer(self, frame: bytes, remote_peer_id: str) -> bytes:
        """The signed response frame for one request frame."""
        now = self._clock()
        exchange = ServerExchange(self.endpoint,
                                  accept_self_certified=self._accept_self_certified)
        exchange.receive_data(frame)
        try:
            event = exchange.next_event(now=now)
        except EnvelopeRejected as exc:
            self._log.info("refused a frame from peer %s: %s (%s)", remote_peer_id,
                           exc.reason, exc)
            return self._refusal(frame, refusal_reason(exc), now)
        except RemoteProtocolError as exc:
            self._log.info("refused a frame from peer %s: %s", remote_peer_id, exc)
            return self._refusal(frame, Reason.NOT_A_REQUEST, now)
        if isinstance(event, NeedData):  # the transport hands over whole frames only
            self._log.info("refused an incomplete frame from peer %s", remote_peer_id)
            return self._refusal(frame, Reason.MALFORMED, now)
        envelope = event.envelope
        if self._peer_id_of(event.sender_key) != remote_peer_id:
            self._log.info("refused %s: it came over the connection of another peer (%s)",
                           envelope.describe(), remote_peer_id)
            answer: Message = DeliveryAck.refuse(envelope.envelope_id, Reason.PEER_MISMATCH)
        elif isinstance(event, DuplicateReceived):
            answer = self._again(event)
        else:
            answer = self._act(event)
        return exchange.send_response(answer, now=now, ttl=RESPONSE_TTL)

    def _act(self, event: RequestReceived) -> Message:
        envelope = event.envelope
        handling = self._handlers.get(type(event.message))
        if handling is None:
            self._log.info("refused %s: not served here", envelope.describe())
            return DeliveryAck.refuse(envelope.envelope_id, Reason.NOT_SUPPORTED)
        act = handling.act
        try:
            answer = self._once(envelope, lambda tx: act(event, tx))
        except Refuse as refusal:
            return self._refused(envelope, refusal)
        if answer is None:
            return self._again(DuplicateReceived(envelope, event.message, event.exchange,
                                                 event.sender_key))
        return answer

    def _again(self, event: DuplicateReceived) -> Message:
        envelope = event.envelope
        handling = self._handlers.get(type(event.message))
        if handling is None:  # nothing is served, so nothing was ever acted on
            return DeliveryAck.refuse(envelope.envelope_id, Reason.NOT_SUPPORTED)
        self._log.info("duplicate %s: answered, not acted on again", envelope.describe())
        if handling.again is None:
            return DeliveryAck.duplicate(envelope.envelope_id)
        try:
            return handling.again(event)
        except Refuse as refusal:
            return self._refused(envelope, refusal)

    def _refused(self, envelope: Envelope, refusal: Refuse) -> DeliveryAck:
        self._log.info("refused %s: %s", envelope.describe(), refusal.reason_code)
        return DeliveryAck.refuse(envelope.envelope_id, refusal.reason_code, refusal.detail)

    def _refusal(self, frame: bytes, reason: Reason, now: int) -> bytes:
        """A refusal of a frame that did not verify; see the module doc for its address."""
        try:
            claimed: Envelope | None = Envelope.from_frame(frame)
        except EnvelopeRejected:
            claimed = None
        if claimed is not None and claimed.sender != self.endpoint.node_id:
            return self.endpoint.seal(
                DeliveryAck.refuse(claimed.envelope_id, reason), recipient=claimed.sender,
                now=now, ttl=RESPONSE_TTL, in_reply_to=claimed.envelope_id).to_frame()
        refusal = FrameRefusal(frame_sha256=frame_digest(frame), reason=reason)
        return self.endpoint.seal(refusal, recipient=None, now=now, ttl=RESPONSE_TTL).to_frame()
