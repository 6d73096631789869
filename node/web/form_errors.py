"""Which field of a refused form to mark, and with what message, in the person's language.

A domain error names the field it is about (`NodeError.field`); some are raised by code
shared between forms whose fields are named differently (a weak passphrase is the
"passphrase" of an invitation and the "new" one on the account page), so the form says
which of its fields a nameless error belongs to.
"""

from __future__ import annotations

from aiohttp import web

from node import errors
from node.web.failures import error_text


def field_errors(request: web.Request, exc: errors.NodeError | None,
                 unnamed: str | None = None) -> dict[str, str]:
    """{field: message} for the field `exc` is about (or `unnamed`), else {}."""
    if exc is None:
        return {}
    field = exc.field or unnamed
    return {field: error_text(request, exc)} if field else {}
