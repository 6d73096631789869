"""Authenticated encryption of records: XChaCha20-Poly1305 (IETF) with a versioned framing,
committing to its key.

Layout (version 2): ``2 || nonce (24 bytes) || commitment (32 bytes) || ciphertext+tag``.
The 192-bit nonce is random for every call, which is safe for any number of messages under
one key (libsodium documentation, "XChaCha20-Poly1305 construction"). The caller's
`context` is authenticated as associated data, so a ciphertext moved to another row or
field fails to open instead of being read in the wrong place.

Key commitment (issue 13): Poly1305 is not key-committing, so one ciphertext can be made to
open under two different keys to two different plaintexts ("invisible salamanders";
Albertini, Duong, Gueron, Kölbl, Luykx and Schmieg, "How to Abuse and Fix Authenticated
Encryption Without Key Commitment", USENIX Security 2022). Someone able to write a report's
sealed key and its reporter wrap with two such keys could show the reporter one story and
staff another. Version 2 carries ``BLAKE2b-256(key=K, person="BackUp-aead-kc", nonce)``,
collision-resistant in K, checked in constant time before decrypting: a blob opens under
one key only (the paper's "CommitKey" fix).

Version 1 (``1 || nonce || ciphertext+tag``, no commitment), written before, stays
readable; new blobs are always version 2.
"""

from __future__ import annotations

import hashlib
import hmac

import nacl.bindings as sodium
import nacl.exceptions
import nacl.utils

from crypto.errors import DecryptionError

VERSION = 2
LEGACY_VERSION = 1
NONCE_BYTES = sodium.crypto_aead_xchacha20poly1305_ietf_NPUBBYTES
TAG_BYTES = sodium.crypto_aead_xchacha20poly1305_ietf_ABYTES
COMMITMENT_BYTES = 32
OVERHEAD = 1 + NONCE_BYTES + COMMITMENT_BYTES + TAG_BYTES
"""What `encrypt` adds to a plaintext."""
MIN_OVERHEAD = 1 + NONCE_BYTES + TAG_BYTES
"""The smallest a blob of an empty plaintext can be (version 1)."""
_PERSON = b"BackUp-aead-kc"


def commitment(key: bytes, nonce: bytes) -> bytes:
    return hashlib.blake2b(nonce, digest_size=COMMITMENT_BYTES, key=key,
                           person=_PERSON).digest()


def opening_key(keys: tuple[bytes, ...], blob: bytes) -> bytes:
    """Of a case's key generations (oldest first, issue 13), the one `blob` was sealed
    under: a version-2 blob names it by its key commitment (one BLAKE2b per generation, no
    trial decryption); a version-1 blob predates generations, so it is the oldest. When no
    commitment matches, the newest (which then fails to open, as any wrong key does)."""
    if len(blob) >= OVERHEAD and blob[0] == VERSION:
        nonce = blob[1 : 1 + NONCE_BYTES]
        stated = blob[1 + NONCE_BYTES : 1 + NONCE_BYTES + COMMITMENT_BYTES]
        for key in reversed(keys):
            if hmac.compare_digest(stated, commitment(key, nonce)):
                return key
        return keys[-1]
    return keys[0]


def committed_to(keys: tuple[bytes, ...], blob: bytes) -> bool:
    """Whether a version-2 `blob` commits to one of `keys` (a version-1 blob commits to
    nothing: True, as it predates generations)."""
    if len(blob) >= OVERHEAD and blob[0] == VERSION:
        nonce = blob[1 : 1 + NONCE_BYTES]
        stated = blob[1 + NONCE_BYTES : 1 + NONCE_BYTES + COMMITMENT_BYTES]
        return any(hmac.compare_digest(stated, commitment(k, nonce)) for k in keys)
    return True


def encrypt(key: bytes, plaintext: bytes, context: bytes) -> bytes:
    nonce = nacl.utils.random(NONCE_BYTES)
    aad = bytes([VERSION]) + context
    ct = sodium.crypto_aead_xchacha20poly1305_ietf_encrypt(plaintext, aad, nonce, key)
    return bytes([VERSION]) + nonce + commitment(key, nonce) + ct


def decrypt(key: bytes, blob: bytes, context: bytes) -> bytes:
    if len(blob) < MIN_OVERHEAD or blob[0] not in (VERSION, LEGACY_VERSION):
        raise DecryptionError()
    nonce = blob[1 : 1 + NONCE_BYTES]
    body = blob[1 + NONCE_BYTES :]
    if blob[0] == VERSION:
        if len(blob) < OVERHEAD or not hmac.compare_digest(
                body[:COMMITMENT_BYTES], commitment(key, nonce)):
            raise DecryptionError()
        body = body[COMMITMENT_BYTES:]
    aad = blob[:1] + context
    try:
        return sodium.crypto_aead_xchacha20poly1305_ietf_decrypt(body, aad, nonce, key)
    except (nacl.exceptions.CryptoError, ValueError, TypeError):
        raise DecryptionError() from None
