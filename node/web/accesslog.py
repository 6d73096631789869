"""An access log with nothing personal in it: no address, no user agent, no query string,
no path parameters -- only the route's pattern, the status and the duration."""

from __future__ import annotations

import logging
import re

from aiohttp import web
from aiohttp.abc import AbstractAccessLogger


class PrivacyAccessLogger(AbstractAccessLogger):
    def log(self, request: web.BaseRequest, response: web.StreamResponse, time: float) -> None:
        route = "-"
        match_info = getattr(request, "match_info", None)
        if match_info is not None and match_info.route.resource is not None:
            route = match_info.route.resource.canonical
        self.logger.info("%s %s %s %.0fms", request.method, route, response.status, time * 1000)


_ADDRESS = re.compile(
    r"\b(?:\d{1,3}\.){3}\d{1,3}\b"                                 # IPv4
    r"|(?<![\w:])[0-9a-fA-F]{0,4}(?::[0-9a-fA-F]{0,4}){2,7}(?![\w:])")  # IPv6, any form


class RedactAddresses(logging.Filter):
    """Last line of defence: no log line leaves with an IP address in it, whichever library
    wrote it (aiohttp's own server logger names the peer of a failed request)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        record.msg = _ADDRESS.sub("[address]", message)
        record.args = None
        if record.exc_text:
            record.exc_text = _ADDRESS.sub("[address]", record.exc_text)
        return True


def configure_logging(level: int = logging.INFO) -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactAddresses())
    logging.basicConfig(level=level, handlers=[handler])
