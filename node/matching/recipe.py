"""The token recipe (issue 18): which confirmed identifiers become which OPRF inputs.

Staff confirm, on a case whose reporter consented to matching, the perpetrator's identifiers:
personal names and aliases, the unit (free text, e.g. "2nd Battalion, 34th Brigade"), the
rank (a closed list, `RANKS`) and the armed group (free text). Each is normalised by the one
name normaliser, `node.analysis.names` (`name_key` for names, aliases and groups; `unit_key`
for units); there is no other.

A name alone is never tokenised: different people share a key ("Hassan", "Hussein" and
"Hosni" all give "hsn"), and a common name would match strangers. A token is made only from a
combination that narrows it to one person or one post:

* ``name_group``: a name or alias with the armed group -- "the same man in the same group";
* ``name_unit``: a name or alias with the unit (its kind and number);
* ``unit_rank``: the unit with the rank -- "the commander of the 34th Brigade", the post --
  only for a rank that commands the unit's smallest echelon named (`COMMANDS`: a colonel of a
  brigade, a captain of a company, any "commander"); a battalion has many sergeants and
  lieutenants, and two of them are two men.

and only from parts strong enough to mean something: a name key of at least
`MIN_NAME_LETTERS` letters, a group key of at least `MIN_GROUP_LETTERS` letters, a unit key
with a numbered kind ("brigade:34") or a kind with its name ("brigade zv"). The OPRF input
is the kind and the keys, separated by NUL bytes under a versioned label, so that tokens of
different kinds, and of a later recipe, never collide.

Match rule (the observatory's): two tokens match when they are equal and of the same kind
and epoch, and come from different member nodes; a case matches when any of its tokens
does. One token in common is enough, because every kind above already pairs two
identifiers.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from node.analysis.names import name_key, unit_key
from node.i18n import N_

LABEL = b"backup-perpetrator-token-v1"
MIN_NAME_LETTERS = 4
MIN_GROUP_LETTERS = 2
TokenKind = Literal["name_group", "name_unit", "unit_rank"]

# Ranks as a closed list: their words differ by language and army and no normaliser could
# map "colonel", "عقيد" and "полковник" together; staff choose the rank, not type it.
RANKS: dict[str, str] = {
    "general": N_("General (any general officer)"),
    "colonel": N_("Colonel or lieutenant colonel"),
    "major": N_("Major"),
    "captain": N_("Captain"),
    "lieutenant": N_("Lieutenant"),
    "sergeant": N_("Sergeant or other non-commissioned officer"),
    "commander": N_("Commander (of an armed group, without a formal rank)"),
}


@dataclass(frozen=True)
class Identifiers:
    """A perpetrator's identifiers as staff confirmed them on one case (plain text: held
    only in memory, stored encrypted under the case key)."""

    names: tuple[str, ...] = ()     # personal names and aliases
    unit: str | None = None
    rank: str | None = None         # a key of RANKS
    group: str | None = None        # armed group

    def __post_init__(self) -> None:
        if self.rank is not None and self.rank not in RANKS:
            raise ValueError("a rank from the closed list")


# The ranks that command each echelon (one post per unit); "commander" commands any.
COMMANDS: dict[str, frozenset[str]] = {
    "division": frozenset({"general"}),
    "brigade": frozenset({"general", "colonel"}),
    "regiment": frozenset({"colonel"}),
    "battalion": frozenset({"colonel", "major"}),
    "company": frozenset({"captain", "major"}),
    "platoon": frozenset({"lieutenant", "sergeant"}),
    "sector": frozenset({"general", "colonel", "major", "captain"}),
    "unit": frozenset({"general", "colonel", "major", "captain"}),
}
_ECHELONS = ("platoon", "company", "battalion", "regiment", "brigade", "division", "sector",
             "unit")


def _commands(rank: str, unit: str) -> bool:
    """Whether the rank holds the one post of the smallest echelon the unit key names."""
    kinds = {part.split(":")[0] for part in unit.split()}
    smallest = next((k for k in _ECHELONS if k in kinds), None)
    return rank == "commander" or (smallest is not None and rank in COMMANDS[smallest])


def _letters(key: str) -> int:
    return sum(c.isalpha() for c in key)


def _input(kind: TokenKind, *parts: str) -> bytes:
    return b"\x00".join((LABEL, kind.encode(), *(p.encode() for p in parts)))


# Staff often type a name with its alias ("Jean-Pierre Mugabo alias Tigre"): each part is a
# name of its own.
_ALIAS = re.compile(r"\s+(?:alias|a\.?k\.?a\.?|dit|dite|known as|also known as|"
                    r"известный как|відомий як|المعروف باسم|الملقب|المعروف ب)\s+",
                    re.IGNORECASE)


# A kunya ("Abu Layla", أبو ليلى) is a commander's usual nom de guerre, and its key is short
# ("bl"): it is kept from 2 letters, knowing that "Abu Ali" gives the same key (the pair with
# a group or unit is what narrows it).
_KUNYA = re.compile(r"^\s*(?:abu|abou|abo|أبو|ابو|абу|абоу)[\s-]", re.IGNORECASE)
MIN_KUNYA_LETTERS = 2


def _strong_name(text: str, key: str) -> bool:
    need = MIN_KUNYA_LETTERS if _KUNYA.match(text) else MIN_NAME_LETTERS
    return _letters(key) >= need


def split_aliases(names: Iterable[str]) -> list[str]:
    """Each name and alias on its own ("X alias Y" gives X and Y)."""
    return [part for n in names for part in _ALIAS.split(n) if part.strip()]


def token_inputs(ids: Identifiers) -> list[tuple[TokenKind, bytes]]:
    """The OPRF inputs of one perpetrator, without duplicates, in a stable order."""
    names = sorted({k for n in split_aliases(ids.names)
                    if _strong_name(n, k := name_key(n))})
    group = name_key(ids.group) if ids.group else ""
    unit = unit_key(ids.unit) if ids.unit else ""
    out: list[tuple[TokenKind, bytes]] = []
    if _letters(group) >= MIN_GROUP_LETTERS:
        out += [("name_group", _input("name_group", n, group)) for n in names]
    if ":" in unit or len(unit.split()) >= 2:  # a numbered kind, or a kind with its name
        out += [("name_unit", _input("name_unit", n, unit)) for n in names]
        if ids.rank is not None and _commands(ids.rank, unit):
            out.append(("unit_rank", _input("unit_rank", unit, ids.rank)))
    return out


def matches(a: Iterable[tuple[TokenKind, bytes]], b: Iterable[tuple[TokenKind, bytes]]) -> bool:
    """The match rule on OPRF inputs (the observatory applies it to tokens, which are equal
    exactly when their inputs are)."""
    return bool(set(a) & set(b))
