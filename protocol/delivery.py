"""Delivery acknowledgement and refusal: the receiver's signed "got it", "had it" or "no".

Messages that cannot be delivered now wait in the sender's outbox and are retried; the
receiver deduplicates by envelope id, so a retry of something already stored is answered
`duplicate`, not processed twice. An acknowledgement names the envelope it acknowledges in its
payload as well as in the envelope's `in_reply_to`, so it stays meaningful when stored alone.

A refusal is `DeliveryAck(status="rejected", reason=<code>)` (codes: `protocol.reasons`),
addressed to the envelope's sender. A frame that cannot be read as an envelope from someone
else has no sender to address and no envelope id to name: it is answered with a
`FrameRefusal`, the one message sealed without a recipient, which names the SHA-256 of the
refused frame's body instead. The client that sent those very bytes recognises it
(`protocol.exchanges.ClientExchange`); to anyone else it is a signed statement that some
frame was refused, which tells nothing.
"""

from __future__ import annotations

import hashlib
from typing import Annotated, ClassVar, Literal, Self

from pydantic import StringConstraints, model_validator

from protocol.errors import EnvelopeRejected
from protocol.framing import decode_frame
from protocol.message import HashHex, Message, RandomId, ShortText

# A stable, loggable code: a `protocol.reasons.Reason`, or an exchange's own decision
# ("smaller_tree", "over_budget").
ReasonCode = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z_]{0,47}$")]


class DeliveryAck(Message):
    """The receiver stored (or had already stored, or refuses) the message it acknowledges."""

    TYPE = "delivery.ack"
    VERSION = 1

    envelope_id: RandomId
    status: Literal["accepted", "duplicate", "rejected"]
    reason: ReasonCode | None = None  # exactly when rejected
    detail: ShortText | None = None

    @model_validator(mode="after")
    def _reason(self) -> Self:
        if (self.status == "rejected") != (self.reason is not None):
            raise ValueError("a reason is given exactly when the message is rejected")
        return self

    @classmethod
    def accept(cls, envelope_id: str) -> DeliveryAck:
        return cls(envelope_id=envelope_id, status="accepted")

    @classmethod
    def duplicate(cls, envelope_id: str) -> DeliveryAck:
        return cls(envelope_id=envelope_id, status="duplicate")

    @classmethod
    def refuse(cls, envelope_id: str, reason: str, detail: str | None = None) -> DeliveryAck:
        return cls(envelope_id=envelope_id, status="rejected", reason=str(reason), detail=detail)


class FrameRefusal(Message):
    """A frame was refused before its sender could be known: sealed with no recipient."""

    TYPE = "delivery.frame_refusal"
    VERSION = 1
    UNADDRESSED: ClassVar[bool] = True

    frame_sha256: HashHex
    reason: ReasonCode


def frame_digest(frame: bytes) -> str:
    """The SHA-256 (hex) a `FrameRefusal` names: of the frame's body, so that it does not
    depend on how a transport framed it (of the whole bytes if they hold no frame)."""
    try:
        body = decode_frame(frame)
    except EnvelopeRejected:
        body = frame
    return hashlib.sha256(body).hexdigest()
