"""Receipt numbers and secrets: entropy, check digits, digits from any script."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crypto import receipt
from crypto.errors import FormatError


def test_secret_has_at_least_64_bits() -> None:
    assert receipt.SECRET_RANDOM_DIGITS * math.log2(10) >= 64
    s = receipt.new_secret()
    assert len(s) == receipt.SECRET_RANDOM_DIGITS + 1 and s.isdigit()


def test_codes_are_random() -> None:
    assert len({receipt.new_secret() for _ in range(200)}) == 200


@given(st.integers(min_value=0, max_value=20), st.integers(min_value=1, max_value=9))
def test_every_single_digit_typo_is_caught(position: int, delta: int) -> None:
    s = receipt.new_secret()
    wrong = s[:position] + str((int(s[position]) + delta) % 10) + s[position + 1:]
    with pytest.raises(FormatError):
        receipt.normalize_secret(wrong)


def test_adjacent_swap_is_caught() -> None:
    for _ in range(50):
        code = receipt.new_receipt_code()
        for i in range(len(code) - 1):
            if code[i] != code[i + 1]:
                swapped = code[:i] + code[i + 1] + code[i] + code[i + 2:]
                with pytest.raises(FormatError):
                    receipt.normalize_receipt_code(swapped)


def test_grouped_and_arabic_indic_digits_are_accepted() -> None:
    s = receipt.new_secret()
    arabic = "".join(chr(0x0660 + int(d)) for d in s)
    eastern = "".join(chr(0x06F0 + int(d)) for d in s)
    for form in (receipt.group(s), arabic, eastern, "-".join(s), f"  {s} "):
        assert receipt.normalize_secret(form) == s


@given(st.text(max_size=40))
def test_anything_else_is_a_format_error_or_valid(text: str) -> None:
    try:
        out = receipt.normalize_receipt_code(text)
    except FormatError:
        return
    assert len(out) == 10 and out.isascii() and out.isdigit()


def test_index_hides_the_code() -> None:
    code = receipt.new_receipt_code()
    idx = receipt.receipt_index(code)
    assert code.encode() not in idx and len(idx) == 32
    assert receipt.receipt_index(code) == idx
