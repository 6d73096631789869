"""Staff passphrases: how strong one is, our own translated advice, and suggested
passphrases of random words (issue 13, item 7).

The weakest staff passphrase that unwraps a node key protects every report against whoever
copies the server, at Argon2id's cost per guess (`crypto.passphrase`). Length alone let
"aaaaaaaaaaaa" through. zxcvbn (Wheeler, USENIX Security 2016; its maintained Python port)
estimates how many guesses an attacker who knows common passwords, words, names, keyboard
walks, dates and l33t needs. Its own advice is English text: we keep only its match
patterns, map them to our own codes (`strength`) and say what they mean in the person's
language (`ADVICE`, `advice`). `suggest` offers a passphrase of random words from a list
shipped per language (`node/wordlists/`, licences in its LICENSES.md), English where no
freely licensed list was found.

The estimator lives here, not in `crypto` (which the offline verifier's distribution
ships), so that a court's install does not bring it.
"""

from __future__ import annotations

import math
import secrets
import unicodedata
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from node.i18n import N_

MIN_SCORE = 4
"""zxcvbn's top score: at least 10^10 guesses. At the Argon2id cost of staff wraps
(`crypto.passphrase.STAFF`: 0.7 s and 256 MiB a guess on one core) that is centuries of
one machine's time."""

# Problem codes, most telling first; every code has a translated message on the node.
COMMON = "common"            # among the most used passwords
WORDS_NAMES = "words_names"  # common words or names, and little else
PERSONAL = "personal"        # contains the username or another given word
KEYBOARD = "keyboard"        # a keyboard walk such as qwerty or zxcvbn
REPEATS = "repeats"          # aaa, abcabc
SEQUENCE = "sequence"        # abcd, 6543
DATES = "dates"              # a date or a recent year
SUBSTITUTIONS = "substitutions"  # p@ssw0rd: predictable substitutions
TOO_SHORT = "too_short"      # nothing in particular: add words


@dataclass(frozen=True)
class Strength:
    score: int                   # zxcvbn's 0..4
    guesses_log10: float
    problems: tuple[str, ...]    # our codes, most telling first; empty when strong enough

    @property
    def acceptable(self) -> bool:
        return self.score >= MIN_SCORE


def strength(passphrase: str, user_inputs: tuple[str, ...] = ()) -> Strength:
    """zxcvbn's estimate of `passphrase`, NFC, from its first 72 characters (zxcvbn refuses
    longer input: its cost grows with length); what follows them can only add strength."""
    from zxcvbn import zxcvbn  # imported here: its dictionaries take 0.3 s to load

    text = unicodedata.normalize("NFC", passphrase)[:72]
    if not text:  # zxcvbn 4.5 fails on the empty string (IndexError)
        return Strength(0, 0.0, (TOO_SHORT,))
    result = zxcvbn(text, user_inputs=[u for u in user_inputs if u])
    score = int(result["score"])
    problems: list[str] = []
    if score < MIN_SCORE:
        for match in _matches(result["sequence"]):
            code = _problem(match)
            if code is not None and code not in problems:
                problems.append(code)
        problems.sort(key=_ORDER.index)
        problems.append(TOO_SHORT)
    return Strength(score, float(result["guesses_log10"]), tuple(problems))


_COMMON_RANK = 1000  # among zxcvbn's 1,000 most used passwords
_ORDER = (PERSONAL, COMMON, KEYBOARD, REPEATS, SEQUENCE, DATES, SUBSTITUTIONS, WORDS_NAMES,
          TOO_SHORT)


def _matches(sequence: list[dict[str, object]]) -> list[dict[str, object]]:
    """The matches, and those a repeat is made of ("amina-amina-": the username)."""
    out = []
    for match in sequence:
        out.append(match)
        base = match.get("base_matches")
        if isinstance(base, list):
            out.extend(_matches(base))
    return out


def _problem(match: dict[str, object]) -> str | None:
    pattern = match.get("pattern")
    if pattern == "dictionary":
        if match.get("dictionary_name") == "user_inputs":
            return PERSONAL
        if match.get("l33t"):
            return SUBSTITUTIONS
        rank = int(str(match.get("rank", 10**6)))
        if match.get("dictionary_name") == "passwords" and rank <= _COMMON_RANK:
            return COMMON
        return WORDS_NAMES
    return {"spatial": KEYBOARD, "repeat": REPEATS, "sequence": SEQUENCE, "date": DATES,
            "regex": DATES}.get(str(pattern))


WORDLIST_DIR = Path(__file__).parent / "wordlists"
WORDLISTS = {"en": "en.txt", "fr": "fr.txt"}
"""Languages with a list of their own; every other one gets English words."""
SUGGESTION_BITS = 77
"""About as strong as a random 13-character password of letters and digits: six EFF
words, seven BIP-0039 words."""

ADVICE: dict[str, str] = {
    PERSONAL: N_("It contains your username or another word about you."),
    COMMON: N_("It is one of the passwords people use most, which are tried first."),
    KEYBOARD: N_("Keyboard patterns such as qwerty are tried early."),
    REPEATS: N_("Repeated letters or words (aaa, abcabc) add little."),
    SEQUENCE: N_("Sequences such as abcd or 6543 are tried early."),
    DATES: N_("Dates and years are easy to guess."),
    SUBSTITUTIONS: N_("Replacing letters with look-alikes (@ for a, 0 for o) does not help "
                      "much."),
    WORDS_NAMES: N_("Common words and names on their own are easy to guess."),
    TOO_SHORT: N_("Add another word or two; unusual words are better."),
}


@cache
def words(lang: str) -> tuple[str, ...]:
    name = WORDLISTS.get(lang, WORDLISTS["en"])
    text = (WORDLIST_DIR / name).read_text(encoding="utf-8")
    out = tuple(unicodedata.normalize("NFC", w) for w in text.split())
    if len(set(out)) != len(out) or len(out) < 1024:
        raise RuntimeError(f"word list {name} is damaged")
    return out


def suggest(lang: str) -> str:
    """A passphrase of random words in `lang` (English where there is no list) of at least
    `SUGGESTION_BITS` bits, drawn with the system's CSPRNG."""
    pool = words(lang)
    count = math.ceil(SUGGESTION_BITS / math.log2(len(pool)))
    return " ".join(secrets.choice(pool) for _ in range(count))


def advice(found: Strength) -> list[str]:
    """Our messages (msgids) for what the estimate found, most telling first."""
    return [ADVICE[code] for code in found.problems]
