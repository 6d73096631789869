"""What looks like contact information inside a text (issues 12 and 19).

A per-field commitment cannot redact inside a narrative, and an original submission from a
field tool is committed whole: a person must see what is in them before they leave. The
checks are deliberately eager (a false alarm costs a glance or keeps an original at home; a
miss can cost a life): phone numbers (7 or more digits, in any of the digit sets reporters
type, with spaces, dots, dashes, brackets or a leading +), e-mail addresses, and street
addresses (a number next to a street word in the node's languages).

`original_flags` reads an original submission as the field tool wrote it (Kobo JSON, an
ODK CSV row, an ODK submission XML) and checks every answer, the tool's metadata included:
XLSForm's ``phonenumber``, ``deviceid`` (an IMEI), ``simserial``, ``subscriberid`` and
``email`` metadata identify the phone that filled the form in. Only what is certainly not
contact information is set aside first: dates and times, UUIDs, and JSON numbers (Kobo
writes every answer as a string; its numbers are its own ids).
"""

from __future__ import annotations

import csv
import io
import json
import re
import unicodedata
from collections.abc import Iterator
from xml.etree import ElementTree

_PHONE = re.compile(r"(?<!\w)\+?\(?\d[\d\s().\-]{5,}\d(?!\w)")
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_STREET_WORDS = (
    r"street|st\.?|road|rd\.?|avenue|ave\.?|av\.?|boulevard|blvd\.?|lane|close|drive|"
    r"rue|route|chemin|quartier|impasse|allée|place|"
    r"barabara|mtaa|njia|"
    r"вулиця|вул\.?|проспект|просп\.?|провулок|пров\.?|"
    r"شارع|طريق|حي|زقاق")
_ADDRESS = re.compile(
    rf"\b\d{{1,5}}[a-z]?,?\s+(?:\w+\s+){{0,3}}?(?:{_STREET_WORDS})(?!\w)"
    rf"|(?:{_STREET_WORDS})\s+(?:\w+\s+){{0,3}}?\d{{1,5}}\b", re.IGNORECASE)
# set aside before the checks: an ISO 8601 date or time, a UUID (submission and form ids)
_NOT_CONTACT = re.compile(
    r"\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?"
    r"|\b\d{2}:\d{2}:\d{2}(?:[.,]\d+)?(?:Z|[+-]\d{2}:?\d{2})?"
    r"|[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
MAX_VALUES = 100_000


def text_flags(text: str) -> list[tuple[str, str]]:
    """(kind, the matching text) for each phone number, e-mail or street address found."""
    # Arabic-Indic, Eastern Arabic-Indic and other decimal digits read as ASCII digits
    plain = "".join(str(unicodedata.decimal(c)) if c.isdecimal() else c for c in text)
    found: list[tuple[str, str]] = []
    for kind, pattern in (("email", _EMAIL), ("phone", _PHONE), ("address", _ADDRESS)):
        for m in pattern.finditer(plain):
            if kind == "phone" and sum(c.isdigit() for c in m.group()) < 7:
                continue
            found.append((kind, m.group().strip()[:80]))
    return found


class Unreadable(ValueError):
    """The original cannot be read as its type says: it is treated as holding contact."""


def original_flags(data: bytes, mime: str | None) -> list[tuple[str, str]]:
    """What looks like contact information in any answer of an original submission.
    Raises `Unreadable` when it cannot be read as `mime` says."""
    found: list[tuple[str, str]] = []
    for n, value in enumerate(_answers(data, mime)):
        if n >= MAX_VALUES:
            raise Unreadable("too many answers")
        found += text_flags(_NOT_CONTACT.sub(" ", value))
    return found


def _answers(data: bytes, mime: str | None) -> Iterator[str]:
    try:
        if mime == "application/json":
            yield from _json_strings(json.loads(data))
        elif mime == "text/csv":
            for row in csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")):
                yield from row
        elif mime == "application/xml":
            # the import refused any document type, so there is no entity to expand
            if b"<!DOCTYPE" in data.upper() or b"<!ENTITY" in data.upper():
                raise Unreadable("a document type")
            for element in ElementTree.fromstring(data).iter():  # noqa: S314 -- see above
                yield element.tag
                yield from element.attrib.values()
                if element.text:
                    yield element.text
        else:
            raise Unreadable(f"an original of type {mime}")
    except (ValueError, UnicodeDecodeError, csv.Error, ElementTree.ParseError,
            RecursionError) as exc:
        raise Unreadable(type(exc).__name__) from None


def _json_strings(value: object) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for k, v in value.items():
            yield str(k)
            yield from _json_strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from _json_strings(v)
