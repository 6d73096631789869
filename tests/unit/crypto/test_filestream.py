"""Chunked attachment encryption: round trips of any size, tampering, truncation."""

from __future__ import annotations

import io

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crypto.errors import DecryptionError
from crypto.filestream import CHUNK_BYTES, StreamEncryptor, decrypt_bytes, encrypt_bytes
from crypto.keys import DataKey

KEY = DataKey.generate()


@settings(max_examples=30, deadline=None)
@given(data=st.binary(max_size=3 * 1024), pieces=st.integers(min_value=1, max_value=7))
def test_round_trip_in_any_pieces(data: bytes, pieces: int) -> None:
    enc = StreamEncryptor(KEY, b"item:1")
    out = enc.start()
    step = max(1, len(data) // pieces)
    for i in range(0, len(data), step):
        out += enc.update(data[i:i + step])
    out += enc.finish()
    assert decrypt_bytes(KEY, out, b"item:1") == data


def test_multi_chunk_round_trip() -> None:
    data = bytes(range(256)) * ((3 * CHUNK_BYTES) // 256 + 7)
    assert decrypt_bytes(KEY, encrypt_bytes(KEY, data, b"c"), b"c") == data


@settings(max_examples=60, deadline=None)
@given(bit=st.integers(min_value=0))
def test_flipped_bit_fails(bit: int) -> None:
    blob = encrypt_bytes(KEY, b"evidence " * 100, b"c")
    i = bit % (len(blob) * 8)
    tampered = bytearray(blob)
    tampered[i // 8] ^= 1 << (i % 8)
    with pytest.raises(DecryptionError):
        decrypt_bytes(KEY, bytes(tampered), b"c")


def test_truncation_and_extension_fail() -> None:
    data = b"x" * (2 * CHUNK_BYTES + 10)
    blob = encrypt_bytes(KEY, data, b"c")
    for cut in (0, 3, 30, len(blob) // 2, len(blob) - 1):
        with pytest.raises(DecryptionError):
            decrypt_bytes(KEY, blob[:cut], b"c")
    with pytest.raises(DecryptionError):
        decrypt_bytes(KEY, blob + b"\0", b"c")


def test_wrong_key_or_context_fails() -> None:
    blob = encrypt_bytes(KEY, b"photo", b"item:a")
    with pytest.raises(DecryptionError):
        decrypt_bytes(DataKey.generate(), blob, b"item:a")
    with pytest.raises(DecryptionError):
        decrypt_bytes(KEY, blob, b"item:b")


def test_plaintext_never_appears() -> None:
    marker = b"CANARY-IN-A-FILE"
    assert marker not in encrypt_bytes(KEY, marker * 1000, b"c")
    assert isinstance(io.BytesIO(), io.BytesIO)
