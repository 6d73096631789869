"""Argon2id wraps of staff keys and report keys."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crypto import passphrase as pw
from crypto.errors import DecryptionError

FAST = pw.INSECURE_FAST_FOR_TESTS


@settings(max_examples=40, deadline=None)
@given(secret=st.binary(max_size=64), phrase=st.text(max_size=40), context=st.binary(max_size=32))
def test_wrap_round_trip(secret: bytes, phrase: str, context: bytes) -> None:
    blob = pw.wrap(secret, phrase, FAST, context)
    assert pw.unwrap(blob, phrase, context) == secret


@settings(max_examples=40, deadline=None)
@given(bit=st.integers(min_value=0))
def test_wrap_flipped_bit_fails(bit: int) -> None:
    blob = pw.wrap(b"k" * 32, "a passphrase", FAST, b"c")
    i = bit % (len(blob) * 8)
    tampered = bytearray(blob)
    tampered[i // 8] ^= 1 << (i % 8)
    with pytest.raises(DecryptionError):
        pw.unwrap(bytes(tampered), "a passphrase", b"c")


def test_wrong_passphrase_or_context_fails() -> None:
    blob = pw.wrap(b"k" * 32, "right passphrase", FAST, b"c")
    with pytest.raises(DecryptionError):
        pw.unwrap(blob, "wrong passphrase", b"c")
    with pytest.raises(DecryptionError):
        pw.unwrap(blob, "right passphrase", b"other")


def test_unicode_normalisation() -> None:
    composed, decomposed = "caf\u00e9 secret", "cafe\u0301 secret"
    blob = pw.wrap(b"x", composed, FAST, b"c")
    assert pw.unwrap(blob, decomposed, b"c") == b"x"


def test_parameters_are_recorded_and_bounded() -> None:
    blob = pw.wrap(b"x", "p", FAST, b"c")
    assert pw.wrap_params(blob).opslimit == FAST.opslimit
    # a header claiming absurd memory is refused before any work is done
    evil = bytearray(blob)
    evil[5:9] = (1 << 31).to_bytes(4, "big")
    with pytest.raises(DecryptionError):
        pw.unwrap(bytes(evil), "p", b"c")


def test_production_parameters_are_not_the_test_ones() -> None:
    assert pw.STAFF.memlimit >= 256 * 1024 * 1024 and pw.STAFF.opslimit >= 3
    assert pw.RECEIPT.memlimit >= 64 * 1024 * 1024 and pw.RECEIPT.opslimit >= 2
    assert FAST.memlimit < pw.RECEIPT.memlimit
