"""Request/response exchanges as small sans-IO state machines (python-hyper/h11 style).

Every exchange is one request answered by one response over one stream: enrollment,
membership decision delivery, membership list fetch and push, checkpoint witnessing,
statistics releases, the expert network, and perpetrator tokens. Two tables say
everything:

* `TRANSITIONS`: for each role, which trigger moves which state where. Anything not in the
  table raises: `LocalProtocolError` if we attempted it, `RemoteProtocolError` if the peer
  did (h11's `_state.py` keeps its transitions in one table the same way).
* `EXCHANGES`: which message types are requests, and which responses answer each. Every
  exchange lists `DeliveryAck`: `DeliveryAck(rejected)` is how a receiver refuses. One
  answer fits every request and is not listed: `FrameRefusal`, how a receiver refuses a
  frame it could not read as an envelope from us (`protocol.delivery`), which the client
  binds to its request by the digest of the request's frame instead of `in_reply_to`.

The API is h11's: `receive_data(bytes)` in, `next_event(now=...)` out (an event, or
`NEED_DATA`), and `send_request`/`send_response` turn a message into the bytes to write.
Both sides are built with an `Endpoint`: who we are and whose keys we believe. A client that
sent its request in an earlier process (a persistent outbox) is `ClientExchange.resume`d
from the stored request frame, and checks the answer exactly as the one that sent it would.

A frame that fails verification raises its own `EnvelopeRejected` subclass and fails the
exchange, with one exception: a server that receives an authentic request it has already seen
gets a `DuplicateReceived` event instead of `Replayed`, because answering an outbox's retry
is how delivery becomes exactly-once. Events carry the verified envelope and the key that
verified it: the caller records (sender, envelope id, nonce) in its replay store, which this
module never touches. `protocol.responder` is the server side built on this.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from crypto.keys import SigningKey, VerifyKey
from protocol.delivery import DeliveryAck, FrameRefusal, frame_digest
from protocol.engagements import (
    ExpertDecline,
    ExpertEngagement,
    ExpertNeed,
    ExpertOffer,
    ExpertRevocation,
    SealedShare,
    ThreadMessage,
)
from protocol.envelope import (
    DEFAULT_POLICY,
    DEFAULT_TTL,
    Envelope,
    FreshnessPolicy,
    KeyLookup,
    ReplayCheck,
    Verified,
    seal,
    verify_frame,
)
from protocol.errors import EnvelopeRejected, LocalProtocolError, RemoteProtocolError, Replayed
from protocol.experts import (
    ExpertAvailability,
    ExpertCredentialIssued,
    ExpertDirectory,
    ExpertDirectoryQuery,
    ExpertVouch,
)
from protocol.framing import FrameDecoder
from protocol.matching import (
    IntroductionQuery,
    IntroductionRequest,
    Introductions,
    MatchNotice,
    MatchNoticeQuery,
    MatchNotices,
    OprfEvaluation,
    OprfEvaluationRequest,
    TokenSubmission,
)
from protocol.membership import (
    MembershipDecision,
    MembershipList,
    MembershipListQuery,
    MembershipRequest,
)
from protocol.message import Message
from protocol.opinions import ExpertOpinion
from protocol.registry import REGISTRY, MessageRegistry
from protocol.statistics import StatisticsRelease
from protocol.witness import (
    CheckpointPush,
    CosignatureResponse,
    LogSuccession,
    WitnessedCheckpoint,
    WitnessedQuery,
)

# An answer is read at once by the requester, so it lives an hour: enough for any clock
# skew we tolerate (`FreshnessPolicy.max_clock_skew`), and no longer than a replay of it
# needs to be remembered.
RESPONSE_TTL = 3600


class Role(enum.Enum):
    CLIENT = "client"  # sends the request
    SERVER = "server"  # answers it


class State(enum.Enum):
    IDLE = "idle"
    SENT_REQUEST = "sent_request"
    GOT_RESPONSE = "got_response"
    GOT_REQUEST = "got_request"
    SENT_RESPONSE = "sent_response"
    FAILED = "failed"


class Trigger(enum.Enum):
    SEND_REQUEST = "send_request"
    RECEIVE_RESPONSE = "receive_response"
    RECEIVE_REQUEST = "receive_request"
    SEND_RESPONSE = "send_response"
    FAIL = "fail"


# Triggers caused by the peer's bytes: an illegal one is the peer's fault.
_REMOTE_TRIGGERS = frozenset({Trigger.RECEIVE_RESPONSE, Trigger.RECEIVE_REQUEST})

# THE transition table. GOT_RESPONSE, SENT_RESPONSE and FAILED are terminal.
TRANSITIONS: Mapping[Role, Mapping[State, Mapping[Trigger, State]]] = MappingProxyType(
    {
        Role.CLIENT: {
            State.IDLE: {Trigger.SEND_REQUEST: State.SENT_REQUEST, Trigger.FAIL: State.FAILED},
            State.SENT_REQUEST: {
                Trigger.RECEIVE_RESPONSE: State.GOT_RESPONSE,
                Trigger.FAIL: State.FAILED,
            },
        },
        Role.SERVER: {
            State.IDLE: {Trigger.RECEIVE_REQUEST: State.GOT_REQUEST, Trigger.FAIL: State.FAILED},
            State.GOT_REQUEST: {
                Trigger.SEND_RESPONSE: State.SENT_RESPONSE,
                Trigger.FAIL: State.FAILED,
            },
        },
    }
)


@dataclass(frozen=True)
class ExchangeSpec:
    """One kind of exchange: its request type and the response types that may answer it."""

    name: str
    request: type[Message]
    responses: tuple[type[Message], ...]


# A `DeliveryAck` may answer any request: "rejected" with a reason code is how a server
# refuses a well-formed, authentic request (e.g. from a node that is not a member).
EXCHANGES: tuple[ExchangeSpec, ...] = (
    ExchangeSpec("enrollment", MembershipRequest, (DeliveryAck, MembershipDecision)),
    ExchangeSpec("membership_decision", MembershipDecision, (DeliveryAck,)),
    ExchangeSpec("membership_list_fetch", MembershipListQuery, (MembershipList, DeliveryAck)),
    ExchangeSpec("membership_list_push", MembershipList, (DeliveryAck,)),
    ExchangeSpec("checkpoint_witnessing", CheckpointPush, (CosignatureResponse, DeliveryAck)),
    ExchangeSpec("statistics_release", StatisticsRelease, (DeliveryAck,)),
    # A restored node asks its witnesses what they cosigned before it signs, and records a
    # successor log with them (issue 21).
    ExchangeSpec("witnessed_query", WitnessedQuery, (WitnessedCheckpoint, DeliveryAck)),
    ExchangeSpec("log_succession", LogSuccession, (DeliveryAck,)),
    # The expert network (issue 16). Vetting, node ↔ observatory: a vouch is answered with
    # the credential once the admin countersigned (accepted while they have not decided); a
    # credential decided later is pushed; availability feeds the next directory.
    ExchangeSpec("expert_vouch", ExpertVouch, (ExpertCredentialIssued, DeliveryAck)),
    ExchangeSpec("expert_credential_push", ExpertCredentialIssued, (DeliveryAck,)),
    ExchangeSpec("expert_availability", ExpertAvailability, (DeliveryAck,)),
    ExchangeSpec("expert_directory_fetch", ExpertDirectoryQuery, (ExpertDirectory, DeliveryAck)),
    # Work, node ↔ node, each through the outbox and acknowledged once acted on.
    ExchangeSpec("expert_need", ExpertNeed, (DeliveryAck,)),
    ExchangeSpec("expert_offer", ExpertOffer, (DeliveryAck,)),
    ExchangeSpec("expert_decline", ExpertDecline, (DeliveryAck,)),
    ExchangeSpec("expert_engagement", ExpertEngagement, (DeliveryAck,)),
    ExchangeSpec("expert_share", SealedShare, (DeliveryAck,)),
    ExchangeSpec("expert_revocation", ExpertRevocation, (DeliveryAck,)),
    ExchangeSpec("expert_thread_message", ThreadMessage, (DeliveryAck,)),
    ExchangeSpec("expert_opinion", ExpertOpinion, (DeliveryAck,)),
    # Perpetrator tokens (issue 18, protocol/matching.py): node -> evaluator, node ->
    # observatory, observatory -> node.
    ExchangeSpec("matching_evaluation", OprfEvaluationRequest, (OprfEvaluation, DeliveryAck)),
    ExchangeSpec("matching_tokens", TokenSubmission, (DeliveryAck,)),
    ExchangeSpec("matching_notice", MatchNotice, (DeliveryAck,)),
    ExchangeSpec("matching_notices", MatchNoticeQuery, (MatchNotices, DeliveryAck)),
    ExchangeSpec("matching_introduce", IntroductionRequest, (DeliveryAck,)),
    ExchangeSpec("matching_introductions", IntroductionQuery, (Introductions, DeliveryAck)),
)


def _specs_by_request(exchanges: tuple[ExchangeSpec, ...]) -> dict[type[Message], ExchangeSpec]:
    table = {spec.request: spec for spec in exchanges}
    if len(table) != len(exchanges):
        raise ValueError("two exchanges share a request type")
    return table


@dataclass(frozen=True)
class Endpoint:
    """Who we are and whose keys we believe: what every exchange of one node is built with.

    `lookup_key` and `is_replay` are the caller's (its membership directory, its replay
    store); nothing here stores anything."""

    node_id: str
    signing_key: SigningKey
    lookup_key: KeyLookup
    is_replay: ReplayCheck
    policy: FreshnessPolicy = DEFAULT_POLICY
    registry: MessageRegistry = REGISTRY
    exchanges: tuple[ExchangeSpec, ...] = EXCHANGES
    # With a role statement, `signing_key` is the envelope role key it binds (issue 13).
    role_statement: str | None = None
    specs: Mapping[type[Message], ExchangeSpec] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "specs", MappingProxyType(_specs_by_request(self.exchanges)))

    def seal(self, message: Message, *, recipient: str | None, now: int, ttl: int,
             in_reply_to: str | None = None, envelope_id: str | None = None) -> Envelope:
        """`protocol.envelope.seal` as this endpoint."""
        return seal(message, sender=self.node_id, recipient=recipient,
                    signing_key=self.signing_key, now=now, ttl=ttl, in_reply_to=in_reply_to,
                    envelope_id=envelope_id, registry=self.registry, policy=self.policy,
                    role_statement=self.role_statement)


class NeedData(enum.Enum):
    """`next_event` needs more bytes before it can say anything (h11's NEED_DATA)."""

    NEED_DATA = "need_data"


NEED_DATA = NeedData.NEED_DATA


@dataclass(frozen=True)
class RequestReceived:
    """A verified request, and the key it verified with (the sender's, or the one it
    certified itself with). Record `envelope` in the replay store, then answer it."""

    envelope: Envelope
    message: Message
    exchange: ExchangeSpec
    sender_key: VerifyKey


@dataclass(frozen=True)
class DuplicateReceived:
    """An authentic request whose envelope id or nonce the replay store already holds.

    Normal in store-and-forward delivery: the sender's outbox retries until it hears back
    (the receiver deduplicates by envelope id, so delivery is exactly-once). Do not act on
    it again; answer it (e.g. `DeliveryAck(status="duplicate")`) so the retries stop.
    """

    envelope: Envelope
    message: Message
    exchange: ExchangeSpec
    sender_key: VerifyKey


@dataclass(frozen=True)
class ResponseReceived:
    """A verified response to our request: bound to it by `in_reply_to` (or, for a
    `FrameRefusal`, by the digest of the request's frame), so it needs no replay record."""

    envelope: Envelope
    message: Message


class _Exchange:
    role: Role

    def __init__(self, endpoint: Endpoint) -> None:
        self.endpoint = endpoint
        self._decoder = FrameDecoder()
        self._state = State.IDLE

    @property
    def local_node_id(self) -> str:
        return self.endpoint.node_id

    @property
    def state(self) -> State:
        return self._state

    def _next_state(self, trigger: Trigger) -> State:
        target = TRANSITIONS[self.role].get(self._state, {}).get(trigger)
        if target is None:
            error = RemoteProtocolError if trigger in _REMOTE_TRIGGERS else LocalProtocolError
            raise error(
                f"{self.role.value}: {trigger.value} is not allowed in state {self._state.value}"
            )
        return target

    def _apply(self, trigger: Trigger) -> None:
        self._state = self._next_state(trigger)

    def receive_data(self, data: bytes) -> None:
        """Buffer bytes from the transport; call `next_event` to see what they amount to."""
        self._decoder.feed(data)

    def _next_verified(
        self, trigger: Trigger, now: int, *, accept_self_certified: bool = False,
        accept_unaddressed: bool = False, tolerate_replay: bool = False,
    ) -> Verified | Replayed | NeedData:
        if self._decoder.buffered == 0:
            return NEED_DATA
        self._next_state(trigger)  # bytes arriving in a state that expects none: the peer's fault
        endpoint = self.endpoint
        try:
            frame = self._decoder.next_frame()
            if frame is None:
                return NEED_DATA
            return verify_frame(
                frame,
                local_node_id=endpoint.node_id,
                now=now,
                lookup_key=endpoint.lookup_key,
                is_replay=endpoint.is_replay,
                policy=endpoint.policy,
                registry=endpoint.registry,
                accept_self_certified=accept_self_certified,
                accept_unaddressed=accept_unaddressed,
            )
        except Replayed as duplicate:
            if tolerate_replay:
                return duplicate
            self._apply(Trigger.FAIL)
            raise
        except EnvelopeRejected:
            self._apply(Trigger.FAIL)
            raise

    def _remote_violation(self, message: str) -> RemoteProtocolError:
        self._apply(Trigger.FAIL)
        return RemoteProtocolError(message)


class ClientExchange(_Exchange):
    """The side that sends a request and waits for its response."""

    role = Role.CLIENT

    def __init__(self, endpoint: Endpoint, *, peer_node_id: str) -> None:
        super().__init__(endpoint)
        self.peer_node_id = peer_node_id
        self._request: Envelope | None = None
        self._request_digest: str | None = None
        self._spec: ExchangeSpec | None = None

    @classmethod
    def resume(cls, endpoint: Endpoint, request: bytes) -> ClientExchange:
        """The exchange of a request frame this node sealed earlier (and stored, e.g. in an
        outbox), waiting for its answer: IDLE → SENT_REQUEST without sending anything.

        Raises `LocalProtocolError` if the frame is not a request sealed by this endpoint
        (it is our own storage that is wrong then), or its `EnvelopeRejected` if it does not
        even parse."""
        envelope = Envelope.from_frame(request)
        if envelope.sender != endpoint.node_id or envelope.recipient is None:
            raise LocalProtocolError(f"{envelope.describe()} is not a request of this node")
        exchange = cls(endpoint, peer_node_id=envelope.recipient)
        model = endpoint.registry.model_for(envelope.type, envelope.version)
        exchange._sent(envelope, exchange._spec_for(model), frame_digest(request))
        return exchange

    @property
    def request(self) -> Envelope | None:
        """The envelope we sent (its id is what an outbox retries under)."""
        return self._request

    def _spec_for(self, model: type[Message]) -> ExchangeSpec:
        spec = self.endpoint.specs.get(model)
        if spec is None:
            raise LocalProtocolError(f"{model.TYPE} is not the request of any exchange")
        return spec

    def _sent(self, envelope: Envelope, spec: ExchangeSpec, digest: str) -> None:
        self._state = self._next_state(Trigger.SEND_REQUEST)
        self._request, self._spec, self._request_digest = envelope, spec, digest

    def send_request(
        self, message: Message, *, now: int, ttl: int = DEFAULT_TTL, envelope_id: str | None = None
    ) -> bytes:
        """Seal `message` to the peer; the frame to write. IDLE → SENT_REQUEST."""
        self._next_state(Trigger.SEND_REQUEST)
        spec = self._spec_for(type(message))
        envelope = self.endpoint.seal(message, recipient=self.peer_node_id, now=now, ttl=ttl,
                                      envelope_id=envelope_id)
        frame = envelope.to_frame()
        self._sent(envelope, spec, frame_digest(frame))
        return frame

    def next_event(self, *, now: int) -> ResponseReceived | NeedData:
        """The verified response, once its frame is complete. SENT_REQUEST → GOT_RESPONSE.

        A `FrameRefusal` is a response too: the peer could not read our frame (an envelope
        format it does not know, say), and said so, signed."""
        verified = self._next_verified(Trigger.RECEIVE_RESPONSE, now, accept_unaddressed=True)
        if isinstance(verified, NeedData):
            return verified
        assert isinstance(verified, Verified)  # a replayed response raised
        assert self._request is not None and self._spec is not None  # SENT_REQUEST guarantees
        envelope, message, spec = verified.envelope, verified.message, self._spec
        if envelope.sender != self.peer_node_id:
            raise self._remote_violation(f"{envelope.describe()}: response from another node")
        if isinstance(message, FrameRefusal):
            if message.frame_sha256 != self._request_digest:
                raise self._remote_violation(f"{envelope.describe()}: refuses another frame")
        elif envelope.in_reply_to != self._request.envelope_id:
            raise self._remote_violation(f"{envelope.describe()}: answers another request")
        elif type(message) not in spec.responses:
            raise self._remote_violation(
                f"{envelope.describe()}: not a response to {spec.request.TYPE}"
            )
        self._apply(Trigger.RECEIVE_RESPONSE)
        return ResponseReceived(envelope, message)


class ServerExchange(_Exchange):
    """The side that receives a request and answers it."""

    role = Role.SERVER

    def __init__(self, endpoint: Endpoint, *, accept_self_certified: bool = False) -> None:
        super().__init__(endpoint)
        # True only on the observatory's enrollment endpoint: see `verify_frame`.
        self._accept_self_certified = accept_self_certified
        self._incoming: tuple[Envelope, ExchangeSpec] | None = None

    def next_event(self, *, now: int) -> RequestReceived | DuplicateReceived | NeedData:
        """The verified request (or an authentic duplicate of one already received), once its
        frame is complete. IDLE → GOT_REQUEST."""
        verified = self._next_verified(
            Trigger.RECEIVE_REQUEST,
            now,
            accept_self_certified=self._accept_self_certified,
            tolerate_replay=True,
        )
        if isinstance(verified, NeedData):
            return verified
        if isinstance(verified, Replayed):
            spec = self._accept(verified.envelope, verified.message)
            return DuplicateReceived(verified.envelope, verified.message, spec, verified.key)
        spec = self._accept(verified.envelope, verified.message)
        return RequestReceived(verified.envelope, verified.message, spec, verified.key)

    def _accept(self, envelope: Envelope, message: Message) -> ExchangeSpec:
        spec = self.endpoint.specs.get(type(message))
        if spec is None:
            raise self._remote_violation(f"{envelope.describe()}: not a request")
        if envelope.in_reply_to is not None:
            raise self._remote_violation(f"{envelope.describe()}: a request does not reply")
        self._apply(Trigger.RECEIVE_REQUEST)
        self._incoming = (envelope, spec)
        return spec

    def send_response(self, message: Message, *, now: int, ttl: int = RESPONSE_TTL) -> bytes:
        """Seal `message` as the answer to the request; the frame to write.

        GOT_REQUEST → SENT_RESPONSE.
        """
        target = self._next_state(Trigger.SEND_RESPONSE)
        assert self._incoming is not None  # GOT_REQUEST guarantees it
        request, spec = self._incoming
        if type(message) not in spec.responses:
            raise LocalProtocolError(f"{message.TYPE} does not answer {spec.request.TYPE}")
        envelope = self.endpoint.seal(message, recipient=request.sender, now=now, ttl=ttl,
                                      in_reply_to=request.envelope_id)
        self._state = target
        return envelope.to_frame()
