"""Receipt codes and secrets a reporter keeps to come back to their report.

Digits, not words: language-neutral, easy to write down, and typed on any phone keypad.
Each carries a Damm check digit (python-stdnum), which detects every single wrong digit
and every swap of two adjacent digits, so a typo gets a clear "check the number" message
instead of a failed Argon2id attempt.

* receipt code: 9 random digits + check = 10 digits. It only *names* a report; it is
  stored hashed, and opens nothing by itself.
* secret: 20 random digits + check = 21 digits, log2(10**20) = 66.4 bits >= 64 bits
  (issue 2). It opens the reporter's wrap of the report key through Argon2id.

Reporters may type Arabic-Indic or Eastern Arabic-Indic digits, spaces or dashes; all are
normalised to ASCII digits first.
"""

from __future__ import annotations

import hashlib
import secrets
import unicodedata

from stdnum import damm

from crypto.errors import FormatError

RECEIPT_RANDOM_DIGITS = 9
SECRET_RANDOM_DIGITS = 20
SECRET_ENTROPY_BITS = 66.4  # log2(10**20)

_SEPARATORS = {" ", "-", "\u00a0", ".", "_", "\u2009", "\u202f", "\u2013"}


def _random_digits(n: int) -> str:
    return "".join(str(secrets.randbelow(10)) for _ in range(n))


def _with_check(digits: str) -> str:
    return digits + str(damm.calc_check_digit(digits))


def new_receipt_code() -> str:
    return _with_check(_random_digits(RECEIPT_RANDOM_DIGITS))


def new_secret() -> str:
    return _with_check(_random_digits(SECRET_RANDOM_DIGITS))


def normalize_digits(text: str, length: int) -> str:
    """ASCII digits of `text`, or `FormatError` if it is not `length` digits with a valid check."""
    out = []
    for ch in text.strip():
        if ch in _SEPARATORS:
            continue
        d = unicodedata.digit(ch, None)
        if d is None:
            raise FormatError("not a number")
        out.append(str(d))
    digits = "".join(out)
    if len(digits) != length:
        raise FormatError("wrong length")
    if damm.checksum(digits) != 0:
        raise FormatError("check digit")
    return digits


def normalize_receipt_code(text: str) -> str:
    return normalize_digits(text, RECEIPT_RANDOM_DIGITS + 1)


def normalize_secret(text: str) -> str:
    return normalize_digits(text, SECRET_RANDOM_DIGITS + 1)


def receipt_index(code: str) -> bytes:
    """What the database stores to find a report by its receipt code (never the code)."""
    return hashlib.blake2b(code.encode("ascii"), digest_size=32,
                           person=b"backup-receipt").digest()


def group(digits: str, size: int = 3) -> str:
    """Digits in groups for display, e.g. '123 456 789 0'."""
    return " ".join(digits[i : i + size] for i in range(0, len(digits), size))
