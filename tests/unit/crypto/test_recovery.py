"""The recovery key: printable, checked, split into shares, and opening what was sealed to
it."""

from __future__ import annotations

import pytest

from crypto.errors import DecryptionError, FormatError
from crypto.keys import BoxSecretKey
from crypto.recovery import RecoveryKey, shares_needed


def test_round_trip_and_box_key() -> None:
    key = RecoveryKey.generate()
    text = key.text()
    assert RecoveryKey.parse(text) == key
    assert RecoveryKey.parse(text.lower().replace("-", " ")) == key
    intake = BoxSecretKey.generate()
    assert key.open_box_key(key.public_key.seal_box_key(intake)) == intake
    with pytest.raises(DecryptionError):
        RecoveryKey.generate().open_box_key(key.public_key.seal_box_key(intake))
    assert text not in repr(key)


def test_text_and_key_are_unchanged() -> None:
    """The printed form and the key derived from it are what init has always printed and
    sealed to (base32 with a BLAKE2b check; X25519 from a domain-separated hash)."""
    key = RecoveryKey(bytes(range(32)))
    assert key.text() == "AAAQ-EAYE-AUDA-OCAJ-BIFQ-YDIO-B4IB-CEQT-CQKR-MFYY-DENB-WHA5-DYPU-NGI"
    assert key.public_key.raw().hex() == (
        "bf373e196c449f1c0dbc02fdac3278ffce1e933b6bb1f3b2aaa9290c9c42044a")


def test_copying_mistakes_are_caught() -> None:
    text = RecoveryKey.generate().text()
    i = text.index("-") + 1
    wrong = text[:i] + ("A" if text[i] != "A" else "B") + text[i + 1:]
    with pytest.raises(FormatError):
        RecoveryKey.parse(wrong)
    with pytest.raises(FormatError):
        RecoveryKey.parse(text[:-5])
    with pytest.raises(FormatError):
        RecoveryKey.parse("not a key at all!")


def test_shares() -> None:
    key = RecoveryKey.generate()
    shares = key.split(2, 3)
    assert len(shares) == 3 and shares_needed(shares[0]) == 2
    assert RecoveryKey.combine(shares[1:]) == key
    with pytest.raises(FormatError):
        RecoveryKey.combine(shares[:1])
    with pytest.raises(FormatError):
        shares_needed("not a share")
