"""Domain-separated Ed25519 signatures over canonical JSON.

What is signed is always `DOMAIN || RFC8785(record)`, where each kind of signed thing has its
own NUL-terminated domain string. A signature made for one purpose (an envelope, a membership
certificate, a membership list) therefore never verifies as another, even if the JSON happened
to coincide (the reasoning of RFC 8032 §8.3 on contexts, and of C2SP signed-note's
per-purpose prefixes such as "cosignature/v1").

Signing and verification go through `crypto.keys` only: this package never touches PyNaCl.
"""

from __future__ import annotations

from crypto.errors import FormatError, SignatureError
from crypto.keys import SigningKey, VerifyKey
from protocol.errors import BadSignature
from protocol.message import Record

ENVELOPE_DOMAIN = b"BackUp federation envelope v1\x00"
CERTIFICATE_DOMAIN = b"BackUp membership certificate v1\x00"
MEMBERSHIP_LIST_DOMAIN = b"BackUp membership list v1\x00"
# The expert network (issue 16): `protocol.experts`, `protocol.engagements`.
EXPERT_DOMAINS = frozenset({
    b"BackUp expert vouch v1\x00", b"BackUp expert credential v1\x00",
    b"BackUp expert directory v1\x00", b"BackUp expert answer v1\x00",
    b"BackUp expert thread message v1\x00",
})

_DOMAINS = frozenset({ENVELOPE_DOMAIN, CERTIFICATE_DOMAIN, MEMBERSHIP_LIST_DOMAIN}) | EXPERT_DOMAINS


def signed_bytes(domain: bytes, canonical: bytes) -> bytes:
    """The exact bytes a signature covers."""
    if domain not in _DOMAINS:
        raise ValueError("unknown signature domain")
    return domain + canonical


def sign_bytes(domain: bytes, canonical: bytes, key: SigningKey) -> str:
    """Hex Ed25519 signature over `domain || canonical`."""
    return key.sign(signed_bytes(domain, canonical)).hex()


def verify_bytes(domain: bytes, canonical: bytes, signature_hex: str, key: VerifyKey) -> None:
    """Raise `BadSignature` unless `signature_hex` is `key`'s over `domain || canonical`."""
    try:
        signature = bytes.fromhex(signature_hex)
    except ValueError:
        raise BadSignature("signature is not hex") from None
    try:
        key.verify(signed_bytes(domain, canonical), signature)
    except (SignatureError, FormatError):
        raise BadSignature("signature did not verify") from None


def sign_record(domain: bytes, record: Record, key: SigningKey) -> str:
    return sign_bytes(domain, record.canonical_bytes(), key)


def verify_record(domain: bytes, record: Record, signature_hex: str, key: VerifyKey) -> None:
    verify_bytes(domain, record.canonical_bytes(), signature_hex, key)


def verify_key_from_hex(value: str) -> VerifyKey:
    """A `VerifyKey` from the 64-hex-digit form used in messages."""
    return VerifyKey(bytes.fromhex(value))
