"""One error tree for the node's federation package.

Each error has a short `code` (the shape of `transport.errors.CODE_PATTERN`), which the
outbox stores as an item's last error and the staff page shows; never payload.
"""

from __future__ import annotations

from transport.errors import Undeliverable


class FederationError(Exception):
    code: str = "federation_error"


class BadAnswer(FederationError):
    """A verified answer that makes no sense for the request (another node's certificate,
    a cosignature that does not verify, a response type the exchange does not allow).
    The outbox counts a failed attempt and retries."""

    code = "bad_answer"


class Refused(Undeliverable):
    """The peer answered and refused the message for a reason that a retry of the *same*
    envelope cannot change (not a member yet, unknown log): the outbox gives the item up,
    and the periodic work sends a fresh one later."""


# What a receiver says when its membership list is older than ours: it does not know us yet
# (our key, or that we are a member). Its next list will.
NOT_KNOWN_YET = frozenset({"not_a_member", "not_authenticated", "unknown_sender"})


class NotKnownYet(FederationError):
    """The receiver refused an expert-network message because it does not know us yet. The
    same envelope is retried (the outbox's backoff, within the envelope's lifetime): the
    message is the only copy of a need, an answer or an engagement, and giving it up would
    lose it."""

    code = "not_known_yet"
