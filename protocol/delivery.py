"""Delivery acknowledgement: the receiver's signed "got it" for a one-way message.

Messages that cannot be delivered now wait in the sender's outbox and are retried (issue 5);
the receiver deduplicates by envelope id, so a retry of something already stored is answered
`duplicate`, not processed twice. An acknowledgement names the envelope it acknowledges in its
payload as well as in the envelope's `in_reply_to`, so it stays meaningful when stored alone.
"""

from __future__ import annotations

from typing import Annotated, Literal, Self

from pydantic import StringConstraints, model_validator

from protocol.message import Message, RandomId, ShortText

# A stable, loggable code: an `EnvelopeRejected.reason` or a service's own ("not_a_member").
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
