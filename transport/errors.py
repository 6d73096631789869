"""One error tree for the transport package.

Every error raised by `transport/` is a `TransportError` with a stable, short `code`. The
outbox stores that code as an item's "last error" and the staff page shows it, so a code
never carries payload, keys or addresses: only what kind of thing went wrong.
"""

from __future__ import annotations

import re

# The shape of every code: the same as `protocol.delivery.ReasonCode`, so a protocol reason
# ("bad_signature") and a transport code ("dial_failed") can be stored side by side.
CODE_PATTERN = re.compile(r"^[a-z][a-z_]{0,47}$")


class TransportError(Exception):
    """Base of every error raised by this package."""

    code: str = "transport_error"


class HostNotRunning(TransportError):
    """The libp2p host is not started, or is stopping: nothing can be sent or received."""

    code = "not_running"


class ListenFailed(TransportError):
    """The host could not listen: the port is taken (by any process) or the address is bad."""

    code = "listen_failed"


class BadPeerAddress(TransportError):
    """A peer id or multiaddr that does not parse, or a `/p2p/` suffix naming another peer."""

    code = "bad_address"


class DialFailed(TransportError):
    """No secure connection to the peer: it is down, unreachable, speaks no Noise, or is
    not the peer we asked for (Noise authenticates the peer id)."""

    code = "dial_failed"


class StreamFailed(TransportError):
    """Connected, but the request/response stream failed: the peer does not speak the
    protocol, reset the stream, or closed it before a whole response frame arrived."""

    code = "stream_failed"


class StreamClosed(StreamFailed):
    """The peer closed the stream cleanly before the first byte of a frame: it takes no
    more requests on it (an idle stream it let go). A request written there was not read,
    so it can be sent again on a new stream."""


class VersionRefused(TransportError):
    """The peer serves none of the versions of the protocol that we offer; the message
    names the ones it serves (`protocol.versions.parse_refusal`)."""

    code = "unsupported_version"


class RequestTimeout(TransportError):
    """The whole request (dial, write, response) did not finish within its deadline."""

    code = "timeout"


class FrameRefused(TransportError):
    """A frame is over `protocol.framing.MAX_FRAME_BYTES` or is not exactly one
    varint length-prefixed frame; refused before it is sent or its body is buffered."""

    code = "bad_frame"


class HandlerFailed(TransportError):
    """Our own handler for an incoming request raised or returned no valid frame."""

    code = "handler_failed"


class Undeliverable(TransportError):
    """Raised by an outbox's response callback: the peer answered, and the answer means
    this message will never be accepted (e.g. "not_a_member"); stop retrying it."""

    def __init__(self, code: str) -> None:
        if not CODE_PATTERN.match(code):
            raise ValueError("a code is lowercase letters and underscores, at most 48")
        super().__init__(code)
        self.code = code
