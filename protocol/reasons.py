"""The reason codes a responder refuses with: one set, for the node and the observatory alike.

A refusal is a signed `DeliveryAck(status="rejected", reason=...)` addressed to the
envelope's sender, or, when the frame cannot be read as an envelope from someone else, an
unaddressed `FrameRefusal` (`protocol.delivery`). Its reason is one of these codes, or a code
of the exchange's own decision (a witness's `protocol.witness.RefusalReason`, a statistics
release's refusal, an enrollment's outcome), which the handler that decided chooses.

What a peer that has not authenticated can learn from a code is limited to what it sent:
a frame it could not have framed better, an envelope addressed elsewhere or out of its time.
Whether a node id is known to us is not among that. An unknown sender and a known sender
with a bad signature get the same code (`NOT_AUTHENTICATED`), in the same shape, after the
same work (`protocol.envelope` verifies an unknown sender's signature against a key nobody
holds); every code that does depend on who the sender is (`PEER_MISMATCH`, `NOT_A_MEMBER`,
`NOT_THE_OBSERVATORY`, `NOT_SUPPORTED`) is only sent once the envelope's signature has
verified under the sender's key, which an outsider cannot make.
"""

from __future__ import annotations

import enum

from protocol import errors


class Reason(enum.StrEnum):
    # -- the frame could not be believed (before authentication) -------------------------
    FRAME_TOO_LARGE = "frame_too_large"
    MALFORMED = "malformed"  # not canonical JSON, fails the envelope's or payload's schema
    UNKNOWN_TYPE = "unknown_type"
    UNKNOWN_VERSION = "unknown_version"  # of the envelope format, or of the message type
    WRONG_RECIPIENT = "wrong_recipient"
    NOT_YET_VALID = "not_yet_valid"
    EXPIRED = "expired"
    LIFETIME_TOO_LONG = "lifetime_too_long"
    NOT_AUTHENTICATED = "not_authenticated"  # unknown sender, or a signature that fails
    # -- authenticated, and refused --------------------------------------------------------
    NOT_A_REQUEST = "not_a_request"  # a response, or an envelope replying to one, sent as one
    NOT_SUPPORTED = "not_supported"  # a request this receiver does not serve
    PEER_MISMATCH = "peer_mismatch"  # the libp2p peer is not the sender's identity key
    NOT_A_MEMBER = "not_a_member"
    NOT_THE_OBSERVATORY = "not_the_observatory"  # only the observatory may send this
    # a request to join refused for now, nothing stored: ask again later (the node's next
    # poll does). Said only to a verified, self-certified sender, about its own requests.
    RATE_LIMITED = "rate_limited"  # this peer asked too often
    ENROLLMENT_FULL = "enrollment_full"  # too many requests wait for an admin's decision


_VERIFICATION: dict[type[errors.EnvelopeRejected], Reason] = {
    errors.FrameTooLarge: Reason.FRAME_TOO_LARGE,
    errors.MalformedFrame: Reason.MALFORMED,
    errors.UnknownMessageType: Reason.UNKNOWN_TYPE,
    errors.UnknownVersion: Reason.UNKNOWN_VERSION,
    errors.WrongRecipient: Reason.WRONG_RECIPIENT,
    errors.NotYetValid: Reason.NOT_YET_VALID,
    errors.Expired: Reason.EXPIRED,
    errors.LifetimeTooLong: Reason.LIFETIME_TOO_LONG,
    errors.UnknownSender: Reason.NOT_AUTHENTICATED,
    errors.BadSignature: Reason.NOT_AUTHENTICATED,
}


def refusal_reason(exc: errors.EnvelopeRejected) -> Reason:
    """The code a peer is told when its frame failed verification with `exc`.

    `exc.reason` stays the precise one for our own log line; the peer gets this."""
    for kind in type(exc).__mro__:
        if kind in _VERIFICATION:
            return _VERIFICATION[kind]
    return Reason.MALFORMED
