"""Logging without addresses: no log line of the observatory names an IP address.

Nodes work in conflict zones; where an organisation connects from is sensitive. The filter,
the access log and the handling of libraries' loggers are `runtime.logs`; the observatory
always runs libp2p, so it imports it here once, before taking over its logger (importing it
sets that logger to ``propagate=False`` with no handler).
"""

from __future__ import annotations

import logging

from runtime.logs import LIBRARY_LOGGERS, RedactAddresses, adopt_library_loggers, redact
from runtime.logs import configure_logging as _configure

__all__ = ["LIBRARY_LOGGERS", "RedactAddresses", "configure_logging", "redact"]


def configure_logging(level: int = logging.INFO) -> logging.Handler:
    """Log to stderr through `RedactAddresses`, ours and libp2p's alike."""
    handler = _configure(level)
    import libp2p  # noqa: F401 - it configures its logger on import; we override after

    adopt_library_loggers(level)
    return handler
