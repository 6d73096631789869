"""Canonical JSON: the one byte representation of every value we sign or send.

Encoding is RFC 8785 (JSON Canonicalization Scheme) through the `rfc8785` package (Trail of
Bits): sorted keys, no insignificant whitespace, ECMAScript number formatting, UTF-8. Only
integers within ±(2**53 - 1) are allowed (RFC 8785 §3.2.2.3, I-JSON RFC 7493 §2.2).

Most messages hold only strings, safe integers, booleans, null, arrays and objects with
keys inside the Basic Multilingual Plane. For those, the standard library's C encoder
(sorted keys, no whitespace, no ASCII escaping) writes exactly RFC 8785's bytes: its string
escapes are RFC 8785's (§3.2.2.2: quote and backslash, the five short forms, lower-case
u00xx escapes for other controls), integers print the same, and code-point order of such keys is the
UTF-16 order RFC 8785 sorts by (§3.2.3). `canonical_json` takes that path when a walk of the
value shows nothing else (no float, no big integer, no key outside the BMP, no tuple or
subclass), and `rfc8785` otherwise; a differential property test holds the two to the same
bytes. The pure-Python encoder was most of the cost of sealing and verifying an envelope.

Decoding is deliberately stricter than `json.loads`: the bytes must be UTF-8 (RFC 8259 §8.1;
`json.loads` would otherwise guess UTF-16/32), no object may repeat a key (RFC 7493 §2.3),
`NaN`/`Infinity` are refused, nesting is bounded, and the bytes must be *exactly* the
canonical encoding of what they parse to. So every accepted message has a single byte form,
and what was signed is what was parsed.
"""

from __future__ import annotations

import json
from typing import Any

import rfc8785

from protocol.errors import EncodingError, MalformedFrame

# Our messages nest a handful of levels; 32 leaves room for drafts while keeping the
# recursive encoder far from Python's recursion limit on hostile input.
MAX_NESTING_DEPTH = 32
# Largest integer JSON carries exactly (RFC 8785 §3.2.2.3; I-JSON, RFC 7493 §2.2).
MAX_SAFE_INT = 2**53 - 1


_STDLIB = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), sort_keys=True,
                           allow_nan=False, check_circular=False)


def _plain(value: Any) -> bool:
    """Whether the stdlib encoder writes RFC 8785's bytes for `value` (module docstring)."""
    stack = [value]
    while stack:
        node = stack.pop()
        kind = type(node)
        if kind is str or kind is bool or node is None:
            continue
        if kind is int:
            if -MAX_SAFE_INT <= node <= MAX_SAFE_INT:
                continue
            return False
        if kind is dict:
            for key in node:
                if type(key) is not str or not (key.isascii() or max(key) <= "\uffff"):
                    return False
            stack.extend(node.values())
        elif kind is list:
            stack.extend(node)
        else:
            return False
    return True


def _encode(value: Any) -> bytes:
    """RFC 8785 bytes of `value`; raises what `rfc8785.dumps` raises."""
    if _plain(value):
        try:
            return _STDLIB.encode(value).encode("utf-8")
        except (UnicodeEncodeError, RecursionError, ValueError):
            pass  # a lone surrogate, or nesting too deep: rfc8785 says what is wrong
    return rfc8785.dumps(value)


def canonical_json(value: Any) -> bytes:
    """RFC 8785 bytes of `value` (dicts, lists, str, int, float, bool, None).

    Raises `EncodingError` for values JSON cannot carry exactly (NaN, huge ints, lone
    surrogates, non-str keys).
    """
    try:
        return _encode(value)
    except (rfc8785.CanonicalizationError, TypeError, ValueError, RecursionError) as exc:
        raise EncodingError(
            f"value is not canonical-JSON encodable: {type(exc).__name__}"
        ) from None


def _reject_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj: dict[str, Any] = {}
    for key, value in pairs:
        if key in obj:
            raise ValueError("duplicate object key")
        obj[key] = value
    return obj


def _parse_int(literal: str) -> int | float:
    # JSON numbers are IEEE 754 doubles (RFC 8785 §3.2.2.3). RFC 8785 spells a large integral
    # double such as 2**53 without a fraction, so an integer literal outside the range where
    # ints are exact is read back as the double it denotes; a value that is not exactly a
    # double then fails the canonical-form check below.
    value = int(literal)
    return value if -MAX_SAFE_INT <= value <= MAX_SAFE_INT else float(literal)


def _reject_constant(name: str) -> Any:
    raise ValueError(f"non-finite number {name!r} is not JSON")


def _depth_exceeds(value: Any, limit: int) -> bool:
    """Iteratively (no recursion on hostile input) check nesting depth."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict):
            children: Any = node.values()
        elif isinstance(node, list):
            children = node
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children)
    return False


def parse_canonical_json(body: bytes) -> Any:
    """Parse `body`, insisting it is the RFC 8785 encoding of what it contains.

    Raises `MalformedFrame` with a reason that never quotes the input.
    """
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise MalformedFrame("frame body is not UTF-8") from None
    try:
        value = json.loads(
            text,
            object_pairs_hook=_reject_duplicate_keys,
            parse_constant=_reject_constant,
            parse_int=_parse_int,
        )
    except RecursionError:
        raise MalformedFrame("frame body nests too deeply") from None
    except ValueError as exc:  # JSONDecodeError, duplicate keys, int digit limit
        detail = "duplicate object key" if "duplicate" in str(exc) else "invalid JSON"
        raise MalformedFrame(f"frame body is not valid JSON ({detail})") from None
    if _depth_exceeds(value, MAX_NESTING_DEPTH):
        raise MalformedFrame("frame body nests too deeply")
    try:
        canonical = _encode(value)
    except (rfc8785.CanonicalizationError, ValueError, RecursionError):
        raise MalformedFrame("frame body holds values JSON cannot carry exactly") from None
    if canonical != body:
        raise MalformedFrame("frame body is not in RFC 8785 canonical form")
    return value
