"""The signed envelope every federation message travels in: signed by its sender, naming its
recipient, with a nonce and an expiry, and checked before it is believed.

An envelope names its sender and recipient node, the payload's message type and version, a
random envelope id and nonce, and its creation and expiry times; the sender's Ed25519 key
(RFC 8032) signs `ENVELOPE_DOMAIN || RFC8785(envelope without "signature")`. On the wire it
is the RFC 8785 canonical JSON of the whole envelope in one length-prefixed frame
(`protocol.framing`).

One kind of message names no recipient (`recipient` is null): a refusal of a frame that could
not be read as an envelope, whose sender is therefore unknown (`protocol.delivery.
FrameRefusal`, `Message.UNADDRESSED`). It is still signed; it is bound to the refused frame
by that frame's digest instead, and only a client waiting for an answer to that very frame
accepts it (`verify_frame(accept_unaddressed=True)`). Every other message must name its
recipient, and an unaddressed type must not.

`verify_frame` is pure: time is passed in as `now`, keys come from the caller's lookup, and
the replay check only *asks* the caller whether an envelope was seen. It stores nothing: the
caller records the nonce after acting on the returned `Verified`. Checks run cheapest and most
structural first, and the replay store is consulted only once the signature has verified, so a
forger can neither fill it nor probe it. Order:

 1. frame size (before anything is parsed)      → FrameTooLarge
 2. length prefix, UTF-8 canonical JSON, schema → MalformedFrame / UnknownVersion (format)
 3. message type and version in the registry    → UnknownMessageType / UnknownVersion
 4. recipient is us (or none, where allowed)     → WrongRecipient
 5. lifetime, creation time, expiry              → LifetimeTooLong / NotYetValid / Expired
 6. payload against its model                    → MalformedFrame
 7. sender's key known                           → UnknownSender
 8. signature (by the envelope role key the sender's
    identity-signed role statement binds, when the envelope carries one; else by
    the identity key: generation 0)              → BadSignature
 9. envelope id and nonce not seen before        → Replayed

An unknown sender costs the same signature verification as a known one (against a key nobody
holds), so that the time an answer takes does not tell an outsider whether a node id is known.

Receivers must remember (sender, envelope id, nonce) until the envelope's `expires`: after
that, step 5 refuses it anyway, which is what bounds the replay store.
"""

from __future__ import annotations

import contextlib
import functools
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, Protocol, Self, runtime_checkable

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    JsonValue,
    StringConstraints,
    ValidationError,
    model_validator,
)

from crypto import role_statement
from crypto.errors import CryptoError
from crypto.keys import SigningKey, VerifyKey
from protocol.encoding import canonical_json, parse_canonical_json
from protocol.errors import (
    BadSignature,
    EncodingError,
    EnvelopeRejected,
    Expired,
    LifetimeTooLong,
    LocalProtocolError,
    MalformedFrame,
    NotYetValid,
    Replayed,
    UnknownSender,
    UnknownVersion,
    WrongRecipient,
)
from protocol.framing import decode_frame, encode_frame
from protocol.message import (
    FormatV1,
    Message,
    NodeId,
    RandomId,
    SignatureHex,
    UnixTime,
    schema_error_summary,
)
from protocol.registry import REGISTRY, MessageRegistry
from protocol.statements import ENVELOPE_DOMAIN, sign_bytes, verify_bytes

ENVELOPE_FORMAT = 1
# 128-bit random nonces and ids: collisions are not a concern within any replay window.
NONCE_BYTES = 16
ID_BYTES = 16
DEFAULT_TTL = 24 * 3600

# The key an unknown sender's signature is checked against, only to spend the same time as
# for a known sender; its private half is dropped at once.
_NOBODY = SigningKey.generate().verify_key

MessageTypeName = Annotated[
    str, StringConstraints(max_length=64, pattern=r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$")
]
NonceHex = Annotated[str, StringConstraints(pattern=r"^(?:[0-9a-f]{2}){16,64}$")]


@dataclass(frozen=True)
class FreshnessPolicy:
    """How much clock disagreement and how long a lifetime a receiver tolerates."""

    # Nodes keep time with NTP, but a node in a conflict zone may be off for a while.
    max_clock_skew: int = 300
    # An outbox may hold a message through a week-long outage; beyond that it is re-sealed
    # (same envelope id, new nonce and times). This also bounds the receiver's replay store.
    max_lifetime: int = 7 * 24 * 3600


DEFAULT_POLICY = FreshnessPolicy()

KeyLookup = Callable[[str], VerifyKey | None]


class ReplayCheck(Protocol):
    """Caller-implemented: True if this sender's envelope id or nonce was already accepted.

    Must only read. The caller records an envelope after `verify_frame` returns it.
    """

    def __call__(self, sender: str, envelope_id: str, nonce: str, /) -> bool: ...


@runtime_checkable
class SelfCertifying(Protocol):
    """A message that carries its sender's key (an enrollment request)."""

    def self_certified_key(self, sender: str) -> VerifyKey | None: ...


class Envelope(BaseModel):
    """A signed, addressed, time-limited message. Build one with `seal`."""

    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)

    format: FormatV1
    envelope_id: RandomId
    sender: NodeId
    recipient: NodeId | None  # None only for an unaddressed message type (see the module doc)
    type: MessageTypeName
    version: Annotated[int, Field(ge=1, le=65535)]
    nonce: NonceHex
    created: UnixTime
    expires: UnixTime
    in_reply_to: RandomId | None  # the request's envelope id, for a response
    payload: dict[str, JsonValue]
    signature: SignatureHex
    # The sender's role statement (`crypto.role_statement`, base64): when present, the
    # envelope is signed by the envelope role key it binds, and the statement by the
    # sender's identity key. Absent (not null) on the wire when the sender signs with its
    # identity key (generation 0: the observatory, nodes from before role keys).
    role_statement: Annotated[str, StringConstraints(min_length=1, max_length=2048)] | None = None

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.expires <= self.created:
            raise ValueError("expires must be later than created")
        if self.sender == self.recipient:
            raise ValueError("sender and recipient are the same node")
        if self.recipient is None and self.in_reply_to is not None:
            raise ValueError("an unaddressed envelope replies to no envelope id")
        return self

    def describe(self) -> str:
        """Loggable identification: ids, type and sender only, never payload."""
        return f"envelope {self.envelope_id} ({self.type} v{self.version}) from {self.sender}"

    def to_frame(self) -> bytes:
        """The length-prefixed canonical JSON of this envelope."""
        fields = self.model_dump(mode="json")
        if fields["role_statement"] is None:
            del fields["role_statement"]  # byte for byte what a generation-0 sender wrote
        return encode_frame(canonical_json(fields))

    @classmethod
    def from_frame(cls, frame: bytes) -> Envelope:
        """The envelope a frame holds, parsed but NOT verified: only to address a refusal, or
        to resume an exchange from a request this node sealed and stored itself.

        Raises an `EnvelopeRejected` (`MalformedFrame`, `FrameTooLarge`, `UnknownVersion`).
        """
        return _parse(frame)[1]


def _parse(frame: bytes) -> tuple[dict[str, Any], Envelope]:
    """Steps 1 and 2: the frame's JSON object and the envelope it validates as."""
    obj = parse_canonical_json(decode_frame(frame))
    if not isinstance(obj, dict):
        raise MalformedFrame("frame body is not a JSON object")
    fmt = obj.get("format")
    if type(fmt) is int and fmt != ENVELOPE_FORMAT:
        raise UnknownVersion(f"unsupported envelope format (supported: {ENVELOPE_FORMAT})")
    try:
        return obj, Envelope.model_validate(obj)
    except ValidationError as exc:
        raise MalformedFrame(f"envelope fails its schema: {schema_error_summary(exc)}") from None


@functools.lru_cache(maxsize=512)
def _role_key(statement: str, identity: bytes, sender: str, role: str) -> VerifyKey:
    """`role`'s key from a sender's statement, checked with its identity key. Pure, so
    cached: a sender sends the same statement with every envelope, and the cache key is
    everything the answer depends on (a failure raises and is not cached)."""
    return role_statement.verify_encoded(statement, VerifyKey(identity), sender).key(role)


def role_key_of(envelope: Envelope, identity: VerifyKey, role: str) -> VerifyKey | None:
    """The sender's `role` key, from the role statement its (verified) envelope carries,
    checked again with the sender's identity key; None for a generation-0 sender."""
    if envelope.role_statement is None:
        return None
    try:
        return _role_key(envelope.role_statement, identity.raw(), envelope.sender, role)
    except CryptoError:
        raise BadSignature(f"{envelope.describe()}: the sender's role statement does not "
                           "verify with its identity key") from None


@dataclass(frozen=True)
class Verified:
    """A verified envelope, its typed payload and the sender's identity key (which
    verified it, or vouched for the envelope key that did). Record `envelope` in the
    replay store."""

    envelope: Envelope
    message: Message
    key: VerifyKey


def seal(
    message: Message,
    *,
    sender: str,
    recipient: str | None,
    signing_key: SigningKey,
    now: int,
    ttl: int = DEFAULT_TTL,
    in_reply_to: str | None = None,
    envelope_id: str | None = None,
    registry: MessageRegistry = REGISTRY,
    policy: FreshnessPolicy = DEFAULT_POLICY,
    random_bytes: Callable[[int], bytes] = secrets.token_bytes,
    role_statement: str | None = None,
) -> Envelope:
    """Wrap `message` in an envelope signed by `signing_key`: the sender's envelope role
    key with its `role_statement` (base64), or its identity key without one.

    The nonce (and the envelope id, unless an outbox re-seals with the id it already used) is
    generated here. `now` is the caller's clock; nothing in this package reads one.
    `recipient` is None exactly for an unaddressed message type (a `FrameRefusal`).
    """
    if type(message) not in registry:
        raise LocalProtocolError(f"{type(message).__name__} is not a registered message")
    if (recipient is None) != message.UNADDRESSED:
        raise LocalProtocolError(f"{message.TYPE} {'must' if message.UNADDRESSED else 'must not'}"
                                 " be sealed without a recipient")
    if not 0 < ttl <= policy.max_lifetime:
        raise LocalProtocolError(f"ttl {ttl}s outside 1..{policy.max_lifetime}s")
    fields: dict[str, Any] = {
        "format": ENVELOPE_FORMAT,
        "envelope_id": envelope_id if envelope_id is not None else random_bytes(ID_BYTES).hex(),
        "sender": sender,
        "recipient": recipient,
        "type": message.TYPE,
        "version": message.VERSION,
        "nonce": random_bytes(NONCE_BYTES).hex(),
        "created": now,
        "expires": now + ttl,
        "in_reply_to": in_reply_to,
        "payload": message.to_json_object(),
    }
    if role_statement is not None:
        fields["role_statement"] = role_statement
    signature = sign_bytes(ENVELOPE_DOMAIN, canonical_json(fields), signing_key)
    try:
        return Envelope.model_validate({**fields, "signature": signature})
    except ValidationError as exc:
        raise EncodingError(f"cannot seal: {schema_error_summary(exc)}") from None


def verify_frame(
    frame: bytes,
    *,
    local_node_id: str,
    now: int,
    lookup_key: KeyLookup,
    is_replay: ReplayCheck,
    policy: FreshnessPolicy = DEFAULT_POLICY,
    registry: MessageRegistry = REGISTRY,
    accept_self_certified: bool = False,
    accept_unaddressed: bool = False,
) -> Verified:
    """Check one frame completely; return the envelope and its typed message, or raise.

    Every failure is an `EnvelopeRejected` subclass naming the reason (see the module doc
    for the order). `accept_self_certified` lets an observatory accept an enrollment
    request from a node it does not know yet, verified with the key the request carries.
    `accept_unaddressed` lets a client waiting for an answer accept an unaddressed refusal.
    """
    obj, envelope = _parse(frame)
    what = envelope.describe()

    model = registry.model_for(envelope.type, envelope.version)

    if envelope.recipient is None:
        if not (accept_unaddressed and model.UNADDRESSED):
            raise WrongRecipient(f"{what} names no recipient")
    elif envelope.recipient != local_node_id:
        raise WrongRecipient(f"{what} is addressed to {envelope.recipient}, not to this node")
    elif model.UNADDRESSED:
        raise MalformedFrame(f"{what}: this message type names no recipient")

    lifetime = envelope.expires - envelope.created
    if lifetime > policy.max_lifetime:
        raise LifetimeTooLong(f"{what} lives {lifetime}s, over the {policy.max_lifetime}s maximum")
    if envelope.created > now + policy.max_clock_skew:
        raise NotYetValid(
            f"{what} was created at {envelope.created}, {envelope.created - now}s ahead of "
            f"this node's clock ({now}); allowed skew is {policy.max_clock_skew}s"
        )
    if now >= envelope.expires:
        raise Expired(f"{what} expired at {envelope.expires} (now {now})")

    try:
        message = model.model_validate_json(canonical_json(obj["payload"]))
    except ValidationError as exc:
        raise MalformedFrame(
            f"{what}: payload fails its schema: {schema_error_summary(exc)}"
        ) from None

    key = lookup_key(envelope.sender)
    if key is None and accept_self_certified and isinstance(message, SelfCertifying):
        key = message.self_certified_key(envelope.sender)

    signed = canonical_json({name: value for name, value in obj.items() if name != "signature"})
    if key is None:
        with contextlib.suppress(EnvelopeRejected):  # the same work as a known sender's check
            verify_bytes(ENVELOPE_DOMAIN, signed, envelope.signature, _NOBODY)
        raise UnknownSender(f"{what}: no key known for the sender")
    signer = key
    if envelope.role_statement is not None:
        # The identity key vouches for the envelope key; nothing else makes it believed.
        try:
            signer = _role_key(envelope.role_statement, key.raw(), envelope.sender,
                               "envelope")
        except CryptoError:
            raise BadSignature(f"{what}: the sender's role statement does not verify "
                               "with its identity key") from None
    try:
        verify_bytes(ENVELOPE_DOMAIN, signed, envelope.signature, signer)
    except BadSignature:
        raise BadSignature(f"{what}: signature does not verify") from None

    if is_replay(envelope.sender, envelope.envelope_id, envelope.nonce):
        raise Replayed(f"{what} was already received (envelope id or nonce seen)", envelope,
                       message, key)
    return Verified(envelope, message, key)
