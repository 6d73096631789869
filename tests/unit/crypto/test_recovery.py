"""The recovery key: printable, checked, and opening what was sealed to it."""

from __future__ import annotations

import pytest

from crypto import recovery
from crypto.errors import FormatError


def test_round_trip_and_box_key() -> None:
    seed = recovery.new_seed()
    text = recovery.encode(seed)
    assert recovery.decode(text) == seed
    assert recovery.decode(text.lower().replace("-", " ")) == seed
    key = recovery.box_key(seed)
    assert key.open(key.public_key.seal(b"intake")) == b"intake"


def test_copying_mistakes_are_caught() -> None:
    text = recovery.encode(recovery.new_seed())
    i = text.index("-") + 1
    wrong = text[:i] + ("A" if text[i] != "A" else "B") + text[i + 1:]
    with pytest.raises(FormatError):
        recovery.decode(wrong)
    with pytest.raises(FormatError):
        recovery.decode(text[:-5])
    with pytest.raises(FormatError):
        recovery.decode("not a key at all!")
