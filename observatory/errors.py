"""One error tree for the observatory.

Domain errors know nothing of HTTP or of the CLI: the web edge (`observatory.web.failures`)
maps them to a status and to a sentence in the admin's language, the CLI to a message and
an exit status. Messages hold node ids and states only, never a contact or a key.
"""

from __future__ import annotations


class ObservatoryError(Exception):
    """Base of every error raised by the observatory's services."""

    code = "observatory_error"


class UnknownNode(ObservatoryError):
    """No request to join and no member with this node id."""

    code = "unknown_node"


class WrongState(ObservatoryError):
    """The action does not apply to the member's current status (e.g. approving a member
    that is already approved, revoking a pending request)."""

    code = "wrong_state"


class UnknownAlarm(ObservatoryError):
    """No fork alarm with this id."""

    code = "unknown_alarm"


class InvalidReason(ObservatoryError, ValueError):
    """A rejection reason that cannot be sent to the node. `problem` says why, so that the
    admin pages can say it in the admin's language: ``empty``, ``too_long`` or
    ``control_characters``. A ValueError too: it is bad input, as the CLI treats it."""

    code = "invalid_reason"

    def __init__(self, message: str, problem: str) -> None:
        super().__init__(message)
        self.problem = problem
