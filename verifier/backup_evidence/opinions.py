"""An expert's signed opinion (issue 16): what the expert signs, and how a court checks it
offline together with the expert's credential and the observatory's key.

An opinion (a medico-legal certificate, a psychological assessment, a legal opinion...)
is written by a vetted expert for one engagement and signed with the expert's own Ed25519
key over a *statement*: one line of canonical JSON (RFC 8785, JCS), an object with exactly
these members::

    format          "backup-expert-opinion/1"
    engagement      the engagement it is written for (32 lowercase hex digits)
    subject_sha256  SHA-256(SUBJECT_DOMAIN || subject), hex: the report it is about, as the
                    evidence leaf's subject ("report:ID"), which the expert's home node
                    never learns (the digest of a random 128-bit id reveals nothing)
    kind            one of `KINDS`
    text_sha256     SHA-256 of the opinion's text (UTF-8), hex
    file_sha256     SHA-256 of the attached PDF or image, hex, or null when there is none
    credential      the serial of the expert's credential
    expert_key      the expert's Ed25519 public key, hex
    signed_at       Unix seconds

    signature = Ed25519(expert key, DOMAIN || statement)
    DOMAIN    = "BackUp expert opinion v1" || 0x00

The credential is the observatory's countersignature of the expert's key (as the
federation carries it: ``{"body": {...}, "signature": HEX}``, the signature over
``CREDENTIAL_DOMAIN || JCS(body)``); a court bundle carries it and the observatory's key
beside the opinion. The opinion is then an evidence item of the report like any other
(leaf version 2, item type ``OPINION``, `backup_evidence.disclosures`): its fields are
`FIELDS`, and the signature binds the text and file the leaf commits to.

Why a digest of the content and not the content: the statement travels in clear on the
requesting node (which checks it on arrival, before anyone opens the sealed content), and
it stays small and fixed in shape whatever the opinion's length. Why the subject's digest
and the engagement both: the engagement ties the opinion to the coordinator's request (the
requesting node checks it), the subject ties it to the report for a court that never sees
the engagement's record.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from typing import Any

from crypto.errors import CryptoError
from crypto.keys import SigningKey, VerifyKey

FORMAT = "backup-expert-opinion/1"
DOMAIN = b"BackUp expert opinion v1\x00"
CREDENTIAL_DOMAIN = b"BackUp expert credential v1\x00"
"""The observatory's countersignature of an expert credential (the federation's domain)."""
SUBJECT_DOMAIN = b"BackUp opinion subject v1\x00"
KINDS: tuple[str, ...] = ("medico_legal_certificate", "psychological_assessment",
                          "legal_opinion", "other")
MAX_STATEMENT_BYTES = 2048
MAX_CREDENTIAL_BYTES = 8192
FIELDS: tuple[str, ...] = ("kind", "text", "statement", "signature")
"""The opinion's disclosures (and, with an attached file, ``file.sha256``, ``file.size`` and
``file.mime``, as for an attachment)."""
FILE_FIELDS: tuple[str, ...] = ("file.sha256", "file.size", "file.mime")
_MEMBERS = frozenset({"format", "engagement", "subject_sha256", "kind", "text_sha256",
                      "file_sha256", "credential", "expert_key", "signed_at"})
_HEX32 = re.compile(r"[0-9a-f]{32}")
_HEX64 = re.compile(r"[0-9a-f]{64}")
_HEX128 = re.compile(r"[0-9a-f]{128}")


class BadOpinion(ValueError):
    """A statement, signature or credential that does not fit the format, or does not
    verify. The message names the problem, never a value."""


def subject_digest(subject: str) -> str:
    """What a statement binds of the leaf's subject (``"report:ID"``)."""
    return hashlib.sha256(SUBJECT_DOMAIN + subject.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Statement:
    engagement: str
    subject_sha256: str
    kind: str
    text_sha256: str
    file_sha256: str | None
    credential: str
    expert_key: str
    signed_at: int

    def encode(self) -> bytes:
        """The canonical statement bytes (module docstring)."""
        data = {"format": FORMAT, "engagement": self.engagement,
                "subject_sha256": self.subject_sha256, "kind": self.kind,
                "text_sha256": self.text_sha256, "file_sha256": self.file_sha256,
                "credential": self.credential, "expert_key": self.expert_key,
                "signed_at": self.signed_at}
        _check(data)
        return _jcs(data)

    def sign(self, key: SigningKey) -> str:
        """The expert's signature (hex) of this statement."""
        if key.verify_key.raw().hex() != self.expert_key:
            raise BadOpinion("the statement names another expert key")
        return key.sign(DOMAIN + self.encode()).hex()


def parse_statement(data: bytes) -> Statement:
    """Read a statement; refuses anything but its canonical form, so that one opinion has
    one statement and its signature is over exactly what is shown."""
    if not isinstance(data, bytes) or len(data) > MAX_STATEMENT_BYTES:
        raise BadOpinion(f"a statement is at most {MAX_STATEMENT_BYTES} bytes")
    try:
        parsed = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise BadOpinion("a statement is one JSON object") from None
    if not isinstance(parsed, dict):
        raise BadOpinion("a statement is one JSON object")
    _check(parsed)
    if _jcs(parsed) != data:
        raise BadOpinion("a statement is written in its canonical form (RFC 8785)")
    return Statement(parsed["engagement"], parsed["subject_sha256"], parsed["kind"],
                     parsed["text_sha256"], parsed["file_sha256"], parsed["credential"],
                     parsed["expert_key"], parsed["signed_at"])


def verify_signature(statement: bytes, signature_hex: str) -> Statement:
    """The statement, if `signature_hex` is its expert's signature of it."""
    parsed = parse_statement(statement)
    if not isinstance(signature_hex, str) or not _HEX128.fullmatch(signature_hex):
        raise BadOpinion("a signature is 128 lowercase hex digits")
    try:
        VerifyKey(bytes.fromhex(parsed.expert_key)).verify(DOMAIN + statement,
                                                           bytes.fromhex(signature_hex))
    except CryptoError:
        raise BadOpinion("the expert's signature does not verify") from None
    return parsed


@dataclass(frozen=True)
class Credential:
    """What a verified credential says (`verify_credential`)."""

    serial: str
    issuer: str
    home_node: str
    expert_key: str
    specialties: tuple[str, ...]
    not_before: int
    not_after: int

    def covers(self, statement: Statement) -> bool:
        """Whether this credential is the statement's, and was valid when it was signed."""
        return (statement.credential == self.serial and statement.expert_key == self.expert_key
                and self.not_before <= statement.signed_at < self.not_after)


def verify_credential(data: bytes, observatory_key: VerifyKey) -> Credential:
    """A credential (its canonical JSON), if the observatory's key countersigned it."""
    if not isinstance(data, bytes) or len(data) > MAX_CREDENTIAL_BYTES:
        raise BadOpinion(f"a credential is at most {MAX_CREDENTIAL_BYTES} bytes")
    try:
        parsed = json.loads(data.decode("utf-8"))
        body, signature = parsed["body"], parsed["signature"]
        if set(parsed) != {"body", "signature"} or not isinstance(body, dict):
            raise ValueError
        fields = Credential(body["serial"], body["issuer"], body["home_node"],
                            body["expert_key"], tuple(body["specialties"]),
                            body["not_before"], body["not_after"])
    except (UnicodeDecodeError, ValueError, RecursionError, KeyError, TypeError):
        raise BadOpinion("a credential is a JSON object {body, signature}") from None
    if not isinstance(signature, str) or not _HEX128.fullmatch(signature):
        raise BadOpinion("a credential's signature is 128 lowercase hex digits")
    if (not all(isinstance(v, str) for v in (fields.serial, fields.issuer, fields.home_node,
                                              fields.expert_key, *fields.specialties))
            or not all(_int(v) for v in (fields.not_before, fields.not_after))):
        raise BadOpinion("a credential's fields have the wrong types")
    try:
        observatory_key.verify(CREDENTIAL_DOMAIN + _jcs(body), bytes.fromhex(signature))
    except (CryptoError, BadOpinion):
        raise BadOpinion("the credential is not countersigned by the observatory key") from None
    return fields


def _int(value: object) -> bool:
    return type(value) is int and 0 <= value <= 2**53 - 1


def _check(data: dict[str, Any]) -> None:
    if set(data) != _MEMBERS:
        raise BadOpinion("a statement has exactly the members of its format")
    if data["format"] != FORMAT:
        raise BadOpinion(f"a statement's format is {FORMAT}")
    if data["kind"] not in KINDS:
        raise BadOpinion("an opinion's kind is one of the closed list")
    for name, pattern in (("engagement", _HEX32), ("credential", _HEX32),
                          ("subject_sha256", _HEX64), ("text_sha256", _HEX64),
                          ("expert_key", _HEX64)):
        if not isinstance(data[name], str) or not pattern.fullmatch(data[name]):
            raise BadOpinion(f"a statement's {name} is lowercase hex of its size")
    if data["file_sha256"] is not None and (not isinstance(data["file_sha256"], str)
                                            or not _HEX64.fullmatch(data["file_sha256"])):
        raise BadOpinion("a statement's file_sha256 is 64 lowercase hex digits or null")
    if not _int(data["signed_at"]):
        raise BadOpinion("a statement's signed_at is whole seconds within 2**53")


def _jcs(data: Any) -> bytes:
    # For objects with ASCII member names whose values are strings, safe integers, null
    # and arrays or objects of those, Python's sorted compact JSON with ensure_ascii off is
    # RFC 8785's serialisation (keys sorted by code unit, which for ASCII is by character).
    if not _jcs_safe(data):
        raise BadOpinion("a value outside what the canonical form here covers")
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"), sort_keys=True,
                      allow_nan=False)
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        raise BadOpinion("a string is valid Unicode (no lone surrogates)") from None


def _jcs_safe(data: Any, depth: int = 0) -> bool:
    if depth > 4:
        return False
    if isinstance(data, dict):
        return all(isinstance(k, str) and k.isascii() and _jcs_safe(v, depth + 1)
                   for k, v in data.items())
    if isinstance(data, list):
        return all(_jcs_safe(v, depth + 1) for v in data)
    if isinstance(data, bool) or data is None or isinstance(data, str):
        return True
    return type(data) is int and abs(data) <= 2**53 - 1
