"""Logging without addresses: no log line of the observatory names an IP address.

Nodes work in conflict zones; where an organisation connects from is sensitive. Our own
log lines name node ids and peer ids only, aiohttp's access log is replaced by one without
the client address (`observatory.web.accesslog`), and `RedactAddresses` is the last line of
defence for what libraries write: py-libp2p logs peer multiaddrs, and since importing it sets
its logger to ``propagate=False`` with no handler, its warnings would reach stderr through
`logging.lastResort` unfiltered. `configure_logging` gives that logger our filtered handler.
"""

from __future__ import annotations

import logging
import re

_ADDRESS = re.compile(
    r"\b(?:\d{1,3}\.){3}\d{1,3}\b"                                      # IPv4
    r"|(?<![\w:])[0-9a-fA-F]{0,4}(?::[0-9a-fA-F]{0,4}){2,7}(?![\w:])")  # IPv6, any form


def redact(text: str) -> str:
    return _ADDRESS.sub("[address]", text)


class RedactAddresses(logging.Filter):
    """Rewrite every record so that no IP address leaves in it."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        record.msg = redact(message)
        record.args = None
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        return True


LIBRARY_LOGGERS = ("libp2p", "multiaddr", "aiohttp", "asyncio", "trio")


def configure_logging(level: int = logging.INFO) -> logging.Handler:
    """Log to stderr through `RedactAddresses`, ours and libp2p's alike."""
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactAddresses())
    logging.basicConfig(level=level, handlers=[handler], force=True)
    import libp2p  # noqa: F401 - it configures its logger on import; we override after

    for name in LIBRARY_LOGGERS:
        logger = logging.getLogger(name)
        if not logger.propagate:
            logger.handlers = [handler]
        logger.setLevel(max(level, logging.WARNING))
    # The access log (route pattern, status, duration: `observatory.web.accesslog`) stays.
    logging.getLogger("aiohttp.access").setLevel(level)
    return handler
