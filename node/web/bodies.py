"""Request bodies: what the node accepts on the wire, and every way a body can fail to be
read, answered as the sender's error (400 or 415) with a clear message, never as ours (500).

A body is refused before it is read when its headers already say it cannot be: a
Content-Encoding (the node takes bodies uncompressed: no browser compresses a form, and a
compressed body is a decompression bomb waiting to happen), a charset Python does not know,
or a multipart type without a boundary. What fails while aiohttp reads the body -- a
truncated multipart body, control characters in a part's headers, an invalid boundary, a
charset unknown to a part -- is recognised by where it was raised (aiohttp's body parsing)
and refused the same way. JSON is parsed by `parse_json`, which bounds integers and nesting
(Python's own limits answer with ValueError and RecursionError, which used to be 500s).
"""

from __future__ import annotations

import codecs
import json
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import hdrs, web
from aiohttp.helpers import parse_mimetype
from aiohttp.http_exceptions import HttpProcessingError
from aiohttp.web_protocol import RequestPayloadError

from node import errors
from node.i18n import N_

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

# Integers in our bodies are years, counts and days: 20 digits is generous, and far below
# Python's 4,300-digit limit on int().
MAX_INT_DIGITS = 20
# Our bodies nest three levels at most; deeper is refused before pydantic sees it.
MAX_JSON_DEPTH = 16


class MalformedBody(errors.InvalidInput):
    message = N_("What you sent could not be read. Please try again.")


class MalformedJson(errors.InvalidInput):
    message = N_("The request body is not valid JSON.")


class UnsupportedEncoding(errors.NodeError):
    message = N_("Send the request uncompressed, in UTF-8.")


def check_headers(request: web.BaseRequest) -> None:
    """Refuse a body whose headers already say it cannot be read."""
    encoding = request.headers.get(hdrs.CONTENT_ENCODING, "").strip().lower()
    if encoding not in ("", "identity"):
        raise UnsupportedEncoding()
    charset = request.charset
    if charset:
        try:
            codecs.lookup(charset)
        except LookupError:
            raise UnsupportedEncoding() from None
    if request.content_type.startswith("multipart/"):
        mimetype = parse_mimetype(request.headers.get(hdrs.CONTENT_TYPE, ""))
        if not mimetype.parameters.get("boundary"):
            raise MalformedBody()


def _raised_by_aiohttp(exc: BaseException) -> bool:
    """Whether `exc` was raised inside aiohttp (its body and multipart parsing)."""
    tb = exc.__traceback__
    module = ""
    while tb is not None:
        module = tb.tb_frame.f_globals.get("__name__", "")
        tb = tb.tb_next
    return module == "aiohttp" or module.startswith("aiohttp.")


@web.middleware
async def readable_bodies(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Unreadable bodies as `MalformedBody`/`UnsupportedEncoding`. Runs in the innermost
    app of a request only, so that the error is answered the way that app answers (a page,
    or JSON for the API)."""
    match_info = request.match_info
    if match_info.current_app is not match_info.apps[-1]:
        return await handler(request)
    if request.body_exists:
        check_headers(request)
    try:
        return await handler(request)
    except (RequestPayloadError, HttpProcessingError):
        raise MalformedBody() from None
    except (ValueError, LookupError) as exc:
        if isinstance(exc, errors.NodeError) or not _raised_by_aiohttp(exc):
            raise
        raise MalformedBody() from None


def parse_json(data: bytes, charset: str = "utf-8", field: str | None = None) -> Any:
    """A JSON document with bounded integers and nesting; `MalformedJson` otherwise."""
    try:
        text = data.decode(charset)
        value = json.loads(text, parse_int=_bounded_int, parse_constant=_no_constant)
    except (ValueError, LookupError, RecursionError):
        raise MalformedJson(field=field) from None
    if _depth(value) > MAX_JSON_DEPTH:
        raise MalformedJson(field=field)
    return value


async def read_json(request: web.Request) -> Any:
    return parse_json(await request.read(), request.charset or "utf-8")


def _bounded_int(digits: str) -> int:
    if len(digits.lstrip("-")) > MAX_INT_DIGITS:
        raise ValueError("integer too long")
    return int(digits)


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _depth(value: Any) -> int:
    """Nesting depth, iteratively (the document may be as deep as the parser allowed)."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        deepest = max(deepest, depth)
        if isinstance(item, dict):
            stack.extend((v, depth + 1) for v in item.values())
        elif isinstance(item, list):
            stack.extend((v, depth + 1) for v in item)
    return deepest
