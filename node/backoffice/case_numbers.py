"""Case numbers: the short name of a case that people read out over the phone and write on
paper, instead of its 32-character hex id (issue 15).

A case number is the first 40 bits of the report id (random: `secrets.token_hex` at
intake) written in Crockford's base 32 -- digits and capital letters without I, L, O and
U, so that nothing read aloud is mistaken for something else -- in two groups of four:
``K7M4-QX2D``. It is derived, never stored: it adds nothing to the database (no new column
to protect at rest), and the id it comes from already appears in every case's address.
Reading one back gives the id's prefix, so a case is found by an index range scan. Two
cases share a number with probability about n²/2⁴¹ (1 in 20,000 at 10,000 cases): `find`
returns every match and the caller shows them all.
"""

from __future__ import annotations

import re
import sqlite3

# Crockford's base 32 (https://www.crockford.com/base32.html): no I, L, O, U.
ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_BITS = 40
_HEX = _BITS // 4
_SYMBOLS = _BITS // 5
# what people write for a symbol, read as the symbol Crockford decodes it to
_READ_AS = str.maketrans({"O": "0", "I": "1", "L": "1"})
_SEPARATORS = re.compile(r"[\s\-–.]+")


def number_of(report_id: str) -> str:
    """The case number of a report id ("" never: an id that is not hex, as in a few
    tests, shows its first eight characters)."""
    try:
        value = int(report_id[:_HEX], 16)
    except ValueError:
        return report_id[:_SYMBOLS]
    if len(report_id) < _HEX:
        return report_id
    symbols = "".join(ALPHABET[(value >> shift) & 31]
                      for shift in range(_BITS - 5, -1, -5))
    return f"{symbols[:4]}-{symbols[4:]}"


def id_prefix(text: str) -> str | None:
    """The report-id prefix a case number stands for, or None if `text` is not one
    (case, spaces and dashes do not matter; O, I and L read as 0, 1 and 1)."""
    cleaned = _SEPARATORS.sub("", text.strip().upper()).translate(_READ_AS)
    if len(cleaned) != _SYMBOLS or any(c not in ALPHABET for c in cleaned):
        return None
    value = 0
    for c in cleaned:
        value = value << 5 | ALPHABET.index(c)
    return f"{value:0{_HEX}x}"


def find(conn: sqlite3.Connection, text: str) -> list[str]:
    """The ids of the reports with this case number (normally one, none if unknown)."""
    prefix = id_prefix(text)
    if prefix is None:
        return []
    following = int(prefix, 16) + 1
    # the ids with this prefix sort between it and the next prefix (none after ffffffffff)
    upper = f"{following:0{_HEX}x}" if following < 1 << _BITS else "g"
    return [r[0] for r in conn.execute(
        "SELECT id FROM reports WHERE id >= ? AND id < ? ORDER BY id", (prefix, upper))]
