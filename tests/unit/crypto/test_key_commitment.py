"""AEAD blobs commit to their key (issue 13, item 8), and blobs written before stay
readable.

The attack: one ciphertext that opens under two keys to two plaintexts (Poly1305 is not
key-committing), e.g. a report whose sealed key and reporter wrap hold two such keys, so
that the reporter and staff read different stories. What detects it: the commitment
(`crypto.aead.commitment`), checked before decrypting, names exactly one key.
"""

from __future__ import annotations

import nacl.bindings as sodium
import nacl.utils
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crypto import aead
from crypto import passphrase as pw
from crypto.errors import DecryptionError
from crypto.keys import DataKey


def legacy_encrypt(key: bytes, plaintext: bytes, context: bytes) -> bytes:
    """A version-1 blob exactly as the code before issue 13 wrote it."""
    nonce = nacl.utils.random(aead.NONCE_BYTES)
    aad = bytes([1]) + context
    return bytes([1]) + nonce + sodium.crypto_aead_xchacha20poly1305_ietf_encrypt(
        plaintext, aad, nonce, key)


@settings(max_examples=50, deadline=None)
@given(plaintext=st.binary(max_size=512), context=st.binary(max_size=32))
def test_version_1_blobs_stay_readable(plaintext: bytes, context: bytes) -> None:
    key = nacl.utils.random(32)
    assert aead.decrypt(key, legacy_encrypt(key, plaintext, context), context) == plaintext
    with pytest.raises(DecryptionError):
        aead.decrypt(nacl.utils.random(32), legacy_encrypt(key, plaintext, context), context)


def test_new_blobs_are_version_2_with_the_commitment() -> None:
    key = nacl.utils.random(32)
    blob = aead.encrypt(key, b"testimony", b"ctx")
    assert blob[0] == aead.VERSION == 2
    nonce = blob[1:1 + aead.NONCE_BYTES]
    assert blob[1 + aead.NONCE_BYTES:][:aead.COMMITMENT_BYTES] == aead.commitment(key, nonce)


def test_a_blob_opens_under_the_committed_key_only() -> None:
    """Build the blob an attacker would: a valid AEAD ciphertext under K2 carrying the
    commitment of K1. Neither key opens it: K2 fails the commitment, K1 the tag."""
    k1, k2 = nacl.utils.random(32), nacl.utils.random(32)
    nonce = nacl.utils.random(aead.NONCE_BYTES)
    ct = sodium.crypto_aead_xchacha20poly1305_ietf_encrypt(b"the other story", b"\x02ctx",
                                                           nonce, k2)
    forged = b"\x02" + nonce + aead.commitment(k1, nonce) + ct
    for key in (k1, k2):
        with pytest.raises(DecryptionError):
            aead.decrypt(key, forged, b"ctx")
    honest = b"\x02" + nonce + aead.commitment(k2, nonce) + ct
    assert aead.decrypt(k2, honest, b"ctx") == b"the other story"


@settings(max_examples=100, deadline=None)
@given(bit=st.integers(min_value=0))
def test_any_flipped_bit_of_a_version_2_blob_fails(bit: int) -> None:
    key = DataKey.generate()
    blob = key.encrypt(b"testimony", b"ctx")
    i = bit % (len(blob) * 8)
    out = bytearray(blob)
    out[i // 8] ^= 1 << (i % 8)
    with pytest.raises(DecryptionError):
        key.decrypt(bytes(out), b"ctx")


def test_passphrase_wraps_written_before_still_open() -> None:
    """A wrap made with a version-1 inner blob (the schema-10 fixture's receipts are
    others) opens with the new code."""
    import struct

    key = DataKey.generate()
    params = pw.INSECURE_FAST_FOR_TESTS
    salt = nacl.utils.random(pw.SALT_BYTES)
    header = struct.pack(">BII", pw.WRAP_VERSION, params.opslimit, params.memlimit)
    stretched = pw.derive_key("a long passphrase", salt, params)
    from crypto.keys import secret_bytes

    blob = header + salt + legacy_encrypt(stretched, secret_bytes(key), header + b"c")
    assert pw.open_data_key(blob, "a long passphrase", b"c") == key
