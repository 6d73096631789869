"""Authenticated encryption of records: XChaCha20-Poly1305 (IETF) with a versioned framing.

Layout: ``version (1 byte) || nonce (24 bytes) || ciphertext+tag``. The 192-bit nonce is
random for every call, which is safe for any number of messages under one key
(libsodium documentation, "XChaCha20-Poly1305 construction"). The caller's `context` is
authenticated as associated data, so a ciphertext moved to another row or field fails to
open instead of being read in the wrong place.
"""

from __future__ import annotations

import nacl.bindings as sodium
import nacl.exceptions
import nacl.utils

from crypto.errors import DecryptionError

VERSION = 1
NONCE_BYTES = sodium.crypto_aead_xchacha20poly1305_ietf_NPUBBYTES
TAG_BYTES = sodium.crypto_aead_xchacha20poly1305_ietf_ABYTES
OVERHEAD = 1 + NONCE_BYTES + TAG_BYTES


def encrypt(key: bytes, plaintext: bytes, context: bytes) -> bytes:
    nonce = nacl.utils.random(NONCE_BYTES)
    aad = bytes([VERSION]) + context
    ct = sodium.crypto_aead_xchacha20poly1305_ietf_encrypt(plaintext, aad, nonce, key)
    return bytes([VERSION]) + nonce + ct


def decrypt(key: bytes, blob: bytes, context: bytes) -> bytes:
    if len(blob) < OVERHEAD or blob[0] != VERSION:
        raise DecryptionError()
    nonce = blob[1 : 1 + NONCE_BYTES]
    aad = blob[:1] + context
    try:
        return sodium.crypto_aead_xchacha20poly1305_ietf_decrypt(
            blob[1 + NONCE_BYTES :], aad, nonce, key
        )
    except (nacl.exceptions.CryptoError, ValueError, TypeError):
        raise DecryptionError() from None
