"""`CaseKey` (issue 13): a case key's generations; a record or a file opens with the
generation its key commitment names, legacy ones (no commitment) with generation 0."""

from __future__ import annotations

import nacl.bindings as sodium
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crypto import aead, filestream
from crypto.errors import DecryptionError
from crypto.keys import CaseKey, DataKey, secret_bytes


def _generations(n: int) -> list[DataKey]:
    return [DataKey.generate() for _ in range(n)]


def test_it_encrypts_under_the_newest_and_opens_every_generation() -> None:
    gens = _generations(3)
    key = CaseKey(gens)
    assert key.generation == 2 and key.newest() == gens[2] and key.first() == gens[0]
    blobs = [g.encrypt(f"g{i}".encode(), b"ctx") for i, g in enumerate(gens)]
    assert [key.decrypt(b, b"ctx") for b in blobs] == [b"g0", b"g1", b"g2"]
    assert gens[2].decrypt(key.encrypt(b"new", b"ctx"), b"ctx") == b"new"
    older = CaseKey(gens[:2])  # a departed holder's copy
    with pytest.raises(DecryptionError):
        older.decrypt(key.encrypt(b"new", b"ctx"), b"ctx")
    assert not older.holds(key.encrypt(b"new", b"ctx")) and older.holds(blobs[1])
    assert key.with_next(gens[0]).generation == 3


def test_a_version_1_record_opens_with_generation_0() -> None:
    gens = _generations(2)
    raw = secret_bytes(gens[0])
    nonce = b"\1" * aead.NONCE_BYTES
    v1 = bytes([1]) + nonce + sodium.crypto_aead_xchacha20poly1305_ietf_encrypt(
        b"old", bytes([1]) + b"ctx", nonce, raw)
    assert CaseKey(gens).decrypt(v1, b"ctx") == b"old"


def test_files_open_with_their_generation_and_legacy_files_with_the_first() -> None:
    gens = _generations(2)
    key = CaseKey(gens)
    new = filestream.encrypt_bytes(key, b"new file", b"item")
    assert new.startswith(filestream.MAGIC)
    assert filestream.decrypt_bytes(key, new, b"item") == b"new file"
    assert filestream.decrypt_bytes(gens[1], new, b"item") == b"new file"
    with pytest.raises(DecryptionError):
        filestream.decrypt_bytes(gens[0], new, b"item")  # a departed copy
    old = filestream.encrypt_bytes(gens[0], b"old file", b"item")
    header_end = len(filestream.MAGIC) + 24
    legacy = filestream.LEGACY_MAGIC + old[len(filestream.MAGIC):header_end] + \
        old[header_end + aead.COMMITMENT_BYTES:]
    assert filestream.decrypt_bytes(key, legacy, b"item") == b"old file"
    assert filestream.decrypt_bytes(key, old, b"item") == b"old file"


@settings(max_examples=60, deadline=None)
@given(flip=st.integers(0, 8 * (4 + 24 + 32) - 1))
def test_a_flipped_bit_in_a_files_magic_header_or_commitment_fails(flip: int) -> None:
    key = CaseKey(_generations(2))
    blob = bytearray(filestream.encrypt_bytes(key, b"x" * 100, b"item"))
    blob[flip // 8] ^= 1 << (flip % 8)
    with pytest.raises(DecryptionError):
        filestream.decrypt_bytes(key, bytes(blob), b"item")
