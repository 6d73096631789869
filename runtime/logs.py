"""Logs with nothing personal in them: no address, no user agent, no content.

Survivors report from conflict zones and organisations connect from them; an address in a
log is a danger. Our own log lines name routes, statuses, ids. `PrivacyAccessLogger`
replaces aiohttp's access log (route pattern, status, duration only), and `RedactAddresses`
is the last line of defence for what libraries write: aiohttp's server logger names the peer
of a failed request, and py-libp2p logs peer multiaddrs through a logger that does not
propagate (importing it sets ``propagate=False``), so `adopt_library_loggers` gives such
loggers our filtered handler.
"""

from __future__ import annotations

import logging
import re

from aiohttp import web
from aiohttp.abc import AbstractAccessLogger

_ADDRESS = re.compile(
    r"\b(?:\d{1,3}\.){3}\d{1,3}\b"                                      # IPv4
    r"|(?<![\w:])[0-9a-fA-F]{0,4}(?::[0-9a-fA-F]{0,4}){2,7}(?![\w:])")  # IPv6, any form

LIBRARY_LOGGERS = ("libp2p", "multiaddr", "aiohttp", "asyncio", "trio")


def redact(text: str) -> str:
    return _ADDRESS.sub("[address]", text)


class RequestBytesOut(logging.Filter):
    """For aiohttp's server logger: only what went wrong, by type. When aiohttp cannot parse
    a request it logs the exception, whose message quotes the raw bytes (request line, header
    values, body text: possibly a narrative), with the peer's address as an argument."""

    def filter(self, record: logging.LogRecord) -> bool:
        kind = record.exc_info[1] if record.exc_info else None
        template = record.msg if isinstance(record.msg, str) else type(record.msg).__name__
        template = template.split(" from ", 1)[0]
        record.msg = f"{template} ({type(kind).__name__})" if kind is not None else template
        record.args = None
        record.exc_info = None
        record.exc_text = None
        record.stack_info = None
        return True


REQUEST_LOGGERS = ("aiohttp.server", "aiohttp.web", "aiohttp.internal")


def filter_request_bytes() -> None:
    """Install `RequestBytesOut` on aiohttp's loggers that see requests (idempotent)."""
    for name in REQUEST_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, RequestBytesOut) for f in logger.filters):
            logger.addFilter(RequestBytesOut())


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


_HANDLER: logging.Handler | None = None


def configure_logging(level: int = logging.INFO) -> logging.Handler:
    """Log to stderr through `RedactAddresses`."""
    global _HANDLER
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactAddresses())
    logging.basicConfig(level=level, handlers=[handler], force=True)
    _HANDLER = handler
    filter_request_bytes()
    adopt_library_loggers(level)
    return handler


def adopt_library_loggers(level: int = logging.INFO) -> None:
    """Route libraries' non-propagating loggers through our filtered handler; call again
    after importing a library that configures its logger on import (py-libp2p)."""
    handler = _HANDLER
    if handler is None:
        return
    for name in LIBRARY_LOGGERS:
        logger = logging.getLogger(name)
        if not logger.propagate:
            logger.handlers = [handler]
        logger.setLevel(max(level, logging.WARNING))
    logging.getLogger("aiohttp.access").setLevel(level)  # our access log below stays


class PrivacyAccessLogger(AbstractAccessLogger):
    """aiohttp's access log without address, user agent, query string or path parameters:
    the route's pattern, the status and the duration."""

    def log(self, request: web.BaseRequest, response: web.StreamResponse, time: float) -> None:
        self.logger.info("%s %s %s %.0fms", request.method, _route(request), response.status,
                         time * 1000)


def _route(request: web.BaseRequest) -> str:
    """The matched route's pattern, or "-" for a request refused before routing (aiohttp
    then logs a bare `BaseRequest`, or a `Request` whose match_info was never set)."""
    match_info = request._match_info if isinstance(request, web.Request) else None
    resource = match_info.route.resource if match_info is not None else None
    return resource.canonical if resource is not None else "-"
