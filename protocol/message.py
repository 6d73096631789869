"""Base classes and shared field types for every federation message.

Models are pydantic v2, frozen, `extra="forbid"` and strict (no "1" → 1 coercion): a field we
do not know, or a value of the wrong JSON type, is a malformed message, not a guess. Binary
values travel as lowercase hex, which has exactly one spelling per value, so the canonical
JSON (RFC 8785) of a model is unique; larger blobs travel as canonical base64 (RFC 4648 §4,
padded, re-encoding must give back the same string).

Every message class names its wire type and version in `TYPE`/`VERSION`; the registry
(`protocol.registry`) maps (type, version) back to the class.
"""

from __future__ import annotations

import base64
import binascii
from typing import Annotated, Any, ClassVar, Self

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
)

from protocol.encoding import MAX_SAFE_INT, canonical_json

# Node ids are 16 random bytes in lowercase hex, as `node/keyring.py` generates them.
NodeId = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{32}$")]
# Random 128-bit identifiers (envelope ids, request ids, release ids).
RandomId = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{32}$")]
# 32-byte values: Ed25519 and X25519 public keys (RFC 8032, RFC 7748), SHA-256 hashes.
KeyHex = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]
HashHex = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]
# Ed25519 signatures are 64 bytes (RFC 8032 §5.1.6).
SignatureHex = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{128}$")]
UnixTime = Annotated[int, Field(ge=0, le=MAX_SAFE_INT)]
# Format version 1 of a signed document. Not `Literal[1]`: pydantic lets `true` pass for that.
FormatV1 = Annotated[int, Field(ge=1, le=1)]
Count = Annotated[int, Field(ge=0, le=MAX_SAFE_INT)]
# ISO 3166-1 alpha-2.
CountryCode = Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$")]
# BCP 47 language tag, the simple subset we use (e.g. "fr", "sw", "pt-BR").
LanguageTag = Annotated[str, StringConstraints(pattern=r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$")]

# Human text shown to admins: no control characters (C0, DEL, C1) and no bidirectional
# overrides/isolates, which can make a name read differently on screen than in the data
# ("Trojan Source", CVE-2021-42574).
_DISPLAY_SAFE = r"^[^\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]+$"
Name = Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=_DISPLAY_SAFE)]
ShortText = Annotated[str, StringConstraints(min_length=1, max_length=1000, pattern=_DISPLAY_SAFE)]


def _canonical_base64(value: str) -> str:
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("not base64 (RFC 4648 §4)") from None
    if base64.b64encode(raw).decode("ascii") != value:
        raise ValueError("not canonical base64")
    return value


# Ciphertexts (e.g. a consented case referral sealed to one person), at most ~512 KiB.
Base64Blob = Annotated[
    str, StringConstraints(min_length=4, max_length=700_000), AfterValidator(_canonical_base64)
]


class Record(BaseModel):
    """A frozen, strict, closed model: the base of every part of a message."""

    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)

    def to_json_object(self) -> dict[str, Any]:
        """The JSON object (plain dicts/lists) this record is on the wire."""
        return self.model_dump(mode="json")

    def canonical_bytes(self) -> bytes:
        """RFC 8785 bytes of `to_json_object()`."""
        return canonical_json(self.to_json_object())

    @classmethod
    def from_json_object(cls, obj: Any) -> Self:
        """Validate a parsed JSON value. Raises pydantic's `ValidationError`."""
        # Validating the canonical JSON text (not the Python objects) keeps pydantic's strict
        # JSON rules: arrays become tuples, and nothing is coerced.
        return cls.model_validate_json(canonical_json(obj))


class Message(Record):
    """A federation message: one registered (TYPE, VERSION) payload of an envelope."""

    TYPE: ClassVar[str]
    VERSION: ClassVar[int]
    # Draft messages (v1 placeholders for later issues) say so here and in their docstring.
    DRAFT: ClassVar[bool] = False
    # Sealed without a recipient: only the refusal of a frame whose sender could not be read
    # (`protocol.delivery.FrameRefusal`; `protocol.envelope`, module doc).
    UNADDRESSED: ClassVar[bool] = False


def schema_error_summary(exc: ValidationError, limit: int = 3) -> str:
    """A loggable summary of a validation error: field paths and error kinds, never values.

    Unknown (extra) field names come from the peer and are not echoed either.
    """
    parts = []
    for error in exc.errors(include_url=False, include_input=False, include_context=False):
        loc = [str(item) for item in error["loc"]]
        if error["type"] == "extra_forbidden" and loc:
            loc[-1] = "<extra field>"
        parts.append(f"{'.'.join(loc) or '<root>'} ({error['type']})")
        if len(parts) == limit:
            break
    more = exc.error_count() - len(parts)
    return "; ".join(parts) + (f"; and {more} more" if more > 0 else "")
