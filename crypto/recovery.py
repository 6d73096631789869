"""The node's recovery key: 32 random bytes an admin writes down once, at init.

It is the seed of an X25519 key pair to which the node's intake key (and later every
node-level key) is sealed, so that losing every passphrase does not lose the node's data
(ARCHITECTURE.md, invariant 2). Printed as RFC 4648 base32 in groups of four with a
2-byte BLAKE2b checksum, so a copying mistake is caught before it is used.
"""

from __future__ import annotations

import base64
import hashlib

import nacl.utils

from crypto.errors import FormatError
from crypto.keys import BoxSecretKey

SEED_BYTES = 32
_CHECK_BYTES = 2


def new_seed() -> bytes:
    return nacl.utils.random(SEED_BYTES)


def _check(seed: bytes) -> bytes:
    return hashlib.blake2b(seed, digest_size=_CHECK_BYTES, person=b"backup-recovery").digest()


def encode(seed: bytes) -> str:
    text = base64.b32encode(seed + _check(seed)).decode("ascii").rstrip("=")
    return "-".join(text[i : i + 4] for i in range(0, len(text), 4))


def decode(text: str) -> bytes:
    cleaned = "".join(ch for ch in text.upper() if ch.isalnum())
    cleaned = cleaned.replace("0", "O").replace("1", "I").replace("8", "B")
    padded = cleaned + "=" * (-len(cleaned) % 8)
    try:
        raw = base64.b32decode(padded)
    except ValueError:
        raise FormatError("not a recovery key") from None
    if len(raw) != SEED_BYTES + _CHECK_BYTES:
        raise FormatError("not a recovery key")
    seed, check = raw[:SEED_BYTES], raw[SEED_BYTES:]
    if _check(seed) != check:
        raise FormatError("recovery key checksum")
    return seed


def box_key(seed: bytes) -> BoxSecretKey:
    """The X25519 key derived from the recovery seed (domain-separated hash, then seed)."""
    if len(seed) != SEED_BYTES:
        raise FormatError("a recovery seed is 32 bytes")
    return BoxSecretKey.from_seed(
        hashlib.blake2b(seed, digest_size=32, person=b"backup-recov-box").digest())
