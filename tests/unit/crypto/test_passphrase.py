"""Argon2id wraps of staff keys and report keys: typed keys in, typed keys out, the one
opaque error for every failure, and the stored layout unchanged."""

from __future__ import annotations

import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crypto import aead
from crypto import passphrase as pw
from crypto.errors import DecryptionError
from crypto.keys import BoxSecretKey, DataKey

FAST = pw.INSECURE_FAST_FOR_TESTS
KEY = DataKey.generate()


@settings(max_examples=40, deadline=None)
@given(phrase=st.text(max_size=40), context=st.binary(max_size=32))
def test_wrap_round_trip(phrase: str, context: bytes) -> None:
    blob = pw.wrap_key(KEY, phrase, FAST, context)
    assert pw.open_data_key(blob, phrase, context) == KEY
    box = BoxSecretKey.generate()
    assert pw.open_box_key(pw.wrap_key(box, phrase, FAST, context), phrase, context) == box


@settings(max_examples=40, deadline=None)
@given(bit=st.integers(min_value=0))
def test_wrap_flipped_bit_fails(bit: int) -> None:
    blob = pw.wrap_key(KEY, "a passphrase", FAST, b"c")
    i = bit % (len(blob) * 8)
    tampered = bytearray(blob)
    tampered[i // 8] ^= 1 << (i % 8)
    with pytest.raises(DecryptionError):
        pw.open_data_key(bytes(tampered), "a passphrase", b"c")


def test_wrong_passphrase_context_or_length_fails() -> None:
    blob = pw.wrap_key(KEY, "right passphrase", FAST, b"c")
    with pytest.raises(DecryptionError):
        pw.open_data_key(blob, "wrong passphrase", b"c")
    with pytest.raises(DecryptionError):
        pw.open_data_key(blob, "right passphrase", b"other")
    with pytest.raises(DecryptionError):
        pw.open_data_key(blob[:20], "right passphrase", b"c")
    # a wrap of something that is not a 32-byte key is the same opaque error
    short = pw._wrap(b"not a key", "right passphrase", FAST, b"c")
    with pytest.raises(DecryptionError):
        pw.open_data_key(short, "right passphrase", b"c")
    with pytest.raises(DecryptionError):
        pw.open_box_key(short, "right passphrase", b"c")


def test_unicode_normalisation() -> None:
    composed, decomposed = "caf\u00e9 secret", "cafe\u0301 secret"
    blob = pw.wrap_key(KEY, composed, FAST, b"c")
    assert pw.open_data_key(blob, decomposed, b"c") == KEY


def test_parameters_are_recorded_and_bounded() -> None:
    blob = pw.wrap_key(KEY, "p", FAST, b"c")
    version, ops, mem = struct.unpack(">BII", blob[:9])
    assert (version, ops, mem) == (pw.WRAP_VERSION, FAST.opslimit, FAST.memlimit)
    # a header claiming absurd memory is refused before any work is done
    evil = bytearray(blob)
    evil[5:9] = (1 << 31).to_bytes(4, "big")
    with pytest.raises(DecryptionError):
        pw.open_data_key(bytes(evil), "p", b"c")


def test_stored_layout_is_unchanged() -> None:
    """A wrap laid out by hand as the node has always stored them (staff secret keys,
    reporters' wraps of report keys) opens as a typed key: no migration is needed."""
    raw = bytes(range(32))
    salt = bytes(range(100, 116))
    header = struct.pack(">BII", 1, FAST.opslimit, FAST.memlimit)
    context = b"staff-secret-key:0123456789abcdef"
    stretched = pw.derive_key("a passphrase", salt, FAST)
    stored = header + salt + aead.encrypt(stretched, raw, header + context)
    assert pw.open_data_key(stored, "a passphrase", context) == DataKey(raw)
    assert pw.open_box_key(stored, "a passphrase", context) == BoxSecretKey(raw)


def test_production_parameters_are_not_the_test_ones() -> None:
    assert pw.STAFF.memlimit >= 256 * 1024 * 1024 and pw.STAFF.opslimit >= 3
    assert pw.RECEIPT.memlimit >= 64 * 1024 * 1024 and pw.RECEIPT.opslimit >= 2
    assert FAST.memlimit < pw.RECEIPT.memlimit
