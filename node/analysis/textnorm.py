"""Text normalisation for suggested codings (issue 17), keeping character spans.

Matching works on a normalised copy of the text (lower case, no accents, no Arabic short vowels
or tatweel, Cyrillic ё as е, typographic apostrophes and dashes made plain), so that the
misspellings of real reports ("violee", "walinibaka", Arabic with or without vowels) meet one
pattern. Every normalised character remembers the index of the original character it came
from, so evidence found in the normalised copy is reported as a span of the original text,
which the case view highlights as it is.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

# Arabic short vowels, shadda, sukun, superscript alef and tatweel: written or not, one word.
_DROP = set(range(0x064B, 0x0660)) | {0x0670, 0x0640, 0x200C, 0x200D, 0x200E, 0x200F, 0x00AD}
_MAP = {
    "ё": "е", "’": "'", "‘": "'", "ʼ": "'", "`": "'", "´": "'", "–": "-", "—": "-",
    "«": '"', "»": '"', "“": '"', "”": '"', "ß": "ss", "ı": "i",
    # Arabic letter variants written interchangeably in informal text
    "أ": "ا", "إ": "ا", "آ": "ا", "ٱ": "ا", "ى": "ي", "ة": "ه", "ؤ": "و", "ئ": "ي",
    "ی": "ي", "ک": "ك",
}


@dataclass(frozen=True)
class Normalised:
    text: str                 # the normalised copy
    origin: Sequence[int]     # origin[i]: index in the original text of normalised char i
    length: int               # length of the original text

    def span(self, start: int, end: int) -> tuple[int, int]:
        """The span of the original text that normalised[start:end] came from."""
        if start >= len(self.origin):
            return self.length, self.length
        first = self.origin[start]
        last = self.origin[end - 1] + 1 if end > start else first
        return first, last


def _fold(ch: str) -> str:
    low = ch.lower()
    out = []
    for c in low:
        if ord(c) in _DROP:
            continue
        c = _MAP.get(c, c)
        if c.isascii():
            out.append(c)
            continue
        base = unicodedata.normalize("NFD", c)
        # Strip combining accents from Latin letters only: Cyrillic й and Arabic letters keep
        # their identity (NFD of й is и + breve, a different letter in Ukrainian and Russian).
        if base and "LATIN" in unicodedata.name(base[0], ""):
            c = "".join(b for b in base if not unicodedata.combining(b))
        out.append(c)
    return "".join(out)


class _Table(dict[int, str]):
    """str.translate's table, filled on first sight of each character (fast after warm-up)."""

    def __missing__(self, code: int) -> str:
        ch = chr(code)
        folded = " " if ch.isspace() else _fold(ch)
        self[code] = folded
        return folded


_TABLE = _Table()


def normalise(text: str) -> Normalised:
    folded = text.translate(_TABLE)
    if len(folded) == len(text) and all(len(_TABLE[ord(c)]) == 1 for c in set(text)):
        # one character for one: the common case, spans are the identity
        return Normalised(folded, range(len(text)), len(text))
    chars: list[str] = []
    origin: list[int] = []
    for i, ch in enumerate(text):
        for c in _TABLE[ord(ch)]:
            chars.append(c)
            origin.append(i)
    return Normalised("".join(chars), tuple(origin), len(text))


def fold(text: str) -> str:
    """The normalised copy alone (for patterns and features)."""
    return text.translate(_TABLE)
