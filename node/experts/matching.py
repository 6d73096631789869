"""Which vetted experts fit a need (issue 16): pure functions over structured fields.

An expert fits when they have the specialty, speak one of the languages, work in the
country (and, when the need names regions, in one of them, or in the whole country), work
the way asked (remote, on site, either), and are not away. Candidates are the entries of
the expert directory this node verified (every member's vetted experts, ours included): a
need reaches only experts the observatory vouches for.

A *wider* search (the coordinator asks for it, nothing widens by itself) drops the regions
(the whole country) and also reaches experts who marked themselves away.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from protocol.experts import DirectoryEntry


@dataclass(frozen=True)
class Criteria:
    specialty: str
    languages: tuple[str, ...]
    country: str
    regions: tuple[str, ...]  # none: anywhere in the country
    mode: str  # remote, on_site, either


@dataclass(frozen=True)
class Match:
    expert_key: str
    box_key: str
    home_node: str


def fits(entry: DirectoryEntry, need: Criteria, *, wider: bool = False) -> bool:
    profile = entry.profile
    if need.specialty not in entry.credential.body.specialties:
        return False
    if not set(need.languages) & set(profile.languages):
        return False
    if need.country not in profile.countries:
        return False
    if need.regions and not wider:
        theirs = {r for r in profile.regions if r.startswith(need.country + "-")}
        if theirs and not theirs & set(need.regions):
            return False  # they named regions of this country, none of the need's
    if need.mode != "either" and need.mode not in profile.modes:
        return False
    return wider or entry.availability != "away"


def matches(entries: Iterable[DirectoryEntry], need: Criteria, *, wider: bool = False,
            exclude: Sequence[str] = ()) -> list[Match]:
    """The fitting experts, available now first, then by key (a stable order), without the
    keys in `exclude` (those the need already went to)."""
    found = [e for e in entries if e.credential.body.expert_key not in exclude
             and fits(e, need, wider=wider)]
    found.sort(key=lambda e: (e.availability != "now", e.credential.body.expert_key))
    return [Match(e.credential.body.expert_key, e.credential.body.box_key,
                  e.credential.body.home_node) for e in found]
