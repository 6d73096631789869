"""The federation's one region vocabulary: the first-level subdivisions of ISO 3166-2.

Every place the federation names a region across a node boundary uses these codes: the
``region`` dimension of a statistics release (so that the observatory can add two
organisations' counts for the same province), and, later, experts' regions, the analysis
gazetteer and USSD region menus. A node keeps its own regions (the names its reporters
know, in its own languages) and maps each to one code here in ``node.toml``.

Why first-level subdivisions only (provinces, states, oblasts, regions): they are the level
at which two organisations working in one country can be compared, and one level means a
province is never listed beside one of its own districts. 3,590 codes in 200 countries; a
code is the country's ISO 3166-1 alpha-2 code, a hyphen and one to three letters or digits
(``CD-NK``, ``UA-14``, ``FR-IDF``).

The data is pycountry's copy of the ISO 3166-2 tables (Debian iso-codes, LGPL-2.1), which
ships inside the package: nothing is downloaded at run time. The vocabulary's identifier
(`VOCABULARY`) is derived from its codes, so an upgrade of pycountry that adds, removes or
renames a code changes it, and the observatory never combines counts keyed by two different
vocabularies; a change of names alone does not. Translated names come from the same package
(its ``iso3166-2`` and ``iso3166-1`` gettext catalogues) where it has them, else the name
the standard gives.
"""

from __future__ import annotations

import gettext
import hashlib
import re
from dataclasses import dataclass
from functools import cache
from typing import Final

import pycountry

from protocol.vocabulary import UNKNOWN

# ISO 3166-2:2020 section 5.2: the alpha-2 country code, a hyphen, up to three characters.
CODE_PATTERN: Final = r"^[A-Z]{2}-[A-Z0-9]{1,3}$"
_CODE = re.compile(CODE_PATTERN)
_SCHEME: Final = "iso3166-2-l1"


@dataclass(frozen=True, order=True)
class Subdivision:
    """One region of the vocabulary: its code, its country and its name in the standard."""

    code: str
    country: str  # ISO 3166-1 alpha-2
    name: str
    kind: str     # the standard's word for it: "Province", "State", "Oblast", ...


@dataclass(frozen=True)
class _Table:
    by_code: dict[str, Subdivision]
    by_country: dict[str, tuple[Subdivision, ...]]
    vocabulary: str


@cache
def _table() -> _Table:
    by_code: dict[str, Subdivision] = {}
    for s in pycountry.subdivisions:
        if s.parent_code is None:  # first level only (module docstring)
            by_code[s.code] = Subdivision(s.code, s.country_code, s.name, s.type)
    by_country: dict[str, list[Subdivision]] = {}
    for sub in sorted(by_code.values()):
        by_country.setdefault(sub.country, []).append(sub)
    digest = hashlib.sha256("\n".join(sorted(by_code)).encode()).hexdigest()[:12]
    return _Table(by_code, {c: tuple(v) for c, v in by_country.items()},
                  f"{_SCHEME}:{digest}")


def vocabulary() -> str:
    """The identifier of this vocabulary (scheme and a digest of its codes)."""
    return _table().vocabulary


VOCABULARY: Final = vocabulary()


def subdivision(code: str) -> Subdivision | None:
    """The subdivision with this code, or None (not a first-level ISO 3166-2 code)."""
    return _table().by_code.get(code)


def is_region(code: str) -> bool:
    """Whether `code` may key a region cell: a code of the vocabulary, or ``unknown``."""
    return code == UNKNOWN or (bool(_CODE.fullmatch(code)) and code in _table().by_code)


def subdivisions(country: str) -> tuple[Subdivision, ...]:
    """A country's first-level subdivisions, by code ((), for a country without any or an
    unknown country code)."""
    return _table().by_country.get(country.upper(), ())


def countries() -> tuple[str, ...]:
    """The ISO 3166-1 alpha-2 codes of the countries that have subdivisions here."""
    return tuple(sorted(_table().by_country))


@cache
def _catalogue(domain: str, lang: str) -> gettext.NullTranslations:
    return gettext.translation(domain, pycountry.LOCALES_DIR, languages=[lang], fallback=True)


def name(code: str, lang: str = "en") -> str:
    """The subdivision's name in `lang` where pycountry translates it, else the standard's
    name; the code itself for a code outside the vocabulary."""
    sub = subdivision(code)
    if sub is None:
        return code
    return _catalogue("iso3166-2", lang).gettext(sub.name) if lang != "en" else sub.name


def country_name(alpha2: str, lang: str = "en") -> str:
    """A country's common name in `lang` where pycountry translates it; the code if unknown."""
    country = pycountry.countries.get(alpha_2=alpha2.upper())
    if country is None:
        return alpha2
    english = str(getattr(country, "common_name", None) or country.name)
    return _catalogue("iso3166-1", lang).gettext(english) if lang != "en" else english


__all__ = ["CODE_PATTERN", "VOCABULARY", "Subdivision", "countries", "country_name",
           "is_region", "name", "subdivision", "subdivisions", "vocabulary"]
