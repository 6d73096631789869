"""One error tree for the federation protocol.

Every error raised by `protocol/` is a `ProtocolError`. Verification failures are
`EnvelopeRejected` subclasses, one class per reason (issue 5: "each with its own error and a
clear log line"), each with a stable `reason` code for logs and metrics. Messages carry only
metadata that has already passed schema validation (hex ids, node ids, times), never payload
content, so they are safe to log as they are.

The state-machine errors follow h11's split (python-hyper/h11, `_util.py`): a
`LocalProtocolError` means *we* tried something the exchange does not allow (a bug on our
side); a `RemoteProtocolError` means the peer did (a broken or hostile peer).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

if TYPE_CHECKING:  # pragma: no cover - typing only
    from crypto.keys import VerifyKey
    from protocol.envelope import Envelope
    from protocol.message import Message


class ProtocolError(Exception):
    """Base of every error raised by this package."""

    reason: ClassVar[str] = "protocol_error"


class EncodingError(ProtocolError):
    """A value we were asked to send cannot be encoded (not canonical JSON, frame too big)."""

    reason = "encoding"


class EnvelopeRejected(ProtocolError):
    """Base of every reason an incoming frame, envelope or signed statement is refused."""

    reason = "rejected"


class FrameTooLarge(EnvelopeRejected):
    """The frame (or its declared length) exceeds `framing.MAX_FRAME_BYTES`."""

    reason = "frame_too_large"


class MalformedFrame(EnvelopeRejected):
    """Bad length prefix, not UTF-8 canonical JSON (RFC 8785), or fails the schema."""

    reason = "malformed"


class UnknownMessageType(EnvelopeRejected):
    """The envelope names a message type this implementation does not know at all."""

    reason = "unknown_type"


class UnknownVersion(EnvelopeRejected):
    """The envelope format, or the message type at this version, is not supported."""

    reason = "unknown_version"


class WrongRecipient(EnvelopeRejected):
    """The envelope is addressed to another node, or to none where one must be named."""

    reason = "wrong_recipient"


class NotYetValid(EnvelopeRejected):
    """Created further in the future than the clock-skew allowance, or a statement not yet valid."""

    reason = "not_yet_valid"


class Expired(EnvelopeRejected):
    """The envelope, certificate or membership list is past its expiry time."""

    reason = "expired"


class LifetimeTooLong(EnvelopeRejected):
    """Expiry too far after creation: it would outlive the replay window receivers keep."""

    reason = "lifetime_too_long"


class UnknownSender(EnvelopeRejected):
    """No verify key is known for the sender node id."""

    reason = "unknown_sender"


class BadSignature(EnvelopeRejected):
    """The Ed25519 signature does not verify under the sender's (or issuer's) key."""

    reason = "bad_signature"


class Replayed(EnvelopeRejected):
    """Authentic, but its envelope id or nonce was seen before.

    Raised only after the signature verified, so `envelope`, its typed `message` and the
    sender's `key` are authentic: a receiver doing exactly-once delivery can answer the
    duplicate with an acknowledgement so the sender's outbox stops retrying (the receiver
    deduplicates by envelope id).
    """

    reason = "replayed"

    def __init__(self, text: str, envelope: Envelope, message: Message, key: VerifyKey) -> None:
        super().__init__(text)
        self.envelope = envelope
        self.message = message
        self.key = key


class RolledBack(EnvelopeRejected):
    """A signed membership list older than (or as old as) one already accepted."""

    reason = "rolled_back"


class LocalProtocolError(ProtocolError):
    """We tried a transition the exchange's table does not allow (h11's LocalProtocolError)."""

    reason = "local_protocol_error"


class RemoteProtocolError(ProtocolError):
    """The peer did something the exchange's table does not allow (h11's RemoteProtocolError)."""

    reason = "remote_protocol_error"
