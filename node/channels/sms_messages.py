"""The SMS wire forms (issue 19), sans-IO: Twilio's request signature, the TwiML reply, and
the status request a reporter texts (``STATUS <receipt number> <PIN>``).

Twilio's webhook signature (``X-Twilio-Signature``): the full URL the gateway called, then
each POST parameter's name and value, sorted by name, concatenated; HMAC-SHA1 under the
account's auth token; Base64. RapidPro/TextIt external channels and many smaller gateways
use the same form fields (``From``, ``To``, ``Body``) and the same reply.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterable
from dataclasses import dataclass
from xml.sax.saxutils import escape

MAX_BODY = 320       # two SMS; a status request is about 30 characters
MAX_FIELD = 64       # From, To


def twilio_signature(auth_token: str, url: str, params: Iterable[tuple[str, str]]) -> str:
    data = url + "".join(name + value for name, value in sorted(params))
    digest = hmac.new(auth_token.encode(), data.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def signature_ok(auth_token: str, url: str, params: Iterable[tuple[str, str]],
                 given: str | None) -> bool:
    if not given:
        return False
    expected = twilio_signature(auth_token, url, params)
    return hmac.compare_digest(expected.encode(), given.encode("utf-8", "surrogatepass"))


def twiml(text: str | None) -> str:
    """The reply: one message, or none."""
    inner = f"<Message>{escape(text)}</Message>" if text else ""
    return f'<?xml version="1.0" encoding="UTF-8"?><Response>{inner}</Response>'


@dataclass(frozen=True)
class StatusRequest:
    receipt: str
    pin: str


def parse(body: str, keyword: str) -> StatusRequest | None:
    """``KEYWORD <receipt number> <PIN>``, any case, any spacing; the receipt number may be
    typed in groups (``4831 0299 51`` or ``4831-0299-51``). None: not a status request."""
    if len(body) > MAX_BODY:
        return None
    words = body.split()
    if len(words) < 3 or words[0].casefold() != keyword.casefold():
        return None
    receipt = "".join(words[1:-1]).replace("-", "")
    pin = words[-1]
    if not (receipt.isascii() and receipt.isdigit() and pin.isascii() and pin.isdigit()):
        return None
    return StatusRequest(receipt, pin)
