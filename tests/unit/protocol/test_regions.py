"""The federation's region vocabulary (issue 14): first-level ISO 3166-2 subdivisions from
pycountry, looked up by code, listed by country, named in the page's language where the data
has it; its identifier changes with its codes, so two vocabularies are never confused."""

from __future__ import annotations

import hashlib
import re

import pycountry
from hypothesis import given
from hypothesis import strategies as st

from protocol import regions

# Pinned: a pycountry upgrade that adds, removes or renames a first-level code changes the
# vocabulary, which the observatory then refuses to combine with the old one. Bump it here
# on purpose, with the release notes saying so.
PINNED = "iso3166-2-l1:87873cc97fb3"


def _codes() -> list[str]:
    return sorted(s.code for c in regions.countries() for s in regions.subdivisions(c))


def test_the_vocabulary_is_pinned_and_derived_from_its_codes() -> None:
    assert regions.VOCABULARY == regions.vocabulary() == PINNED
    digest = hashlib.sha256("\n".join(_codes()).encode()).hexdigest()[:12]
    assert regions.VOCABULARY == f"iso3166-2-l1:{digest}"


def test_it_holds_the_first_level_subdivisions_only() -> None:
    codes = _codes()
    first_level = sorted(s.code for s in pycountry.subdivisions if s.parent_code is None)
    assert codes == first_level and len(codes) == 3590 and len(regions.countries()) == 200
    assert all(re.fullmatch(regions.CODE_PATTERN, c) for c in codes)
    assert regions.subdivision("FR-IDF") is not None
    assert regions.subdivision("FR-75") is None  # Paris: a department inside FR-IDF


def test_lookup() -> None:
    nk = regions.subdivision("CD-NK")
    assert nk == regions.Subdivision("CD-NK", "CD", "Nord-Kivu", "Province")
    assert regions.subdivision("cd-nk") is None and regions.subdivision("") is None
    assert regions.is_region("CD-NK") and regions.is_region("unknown")
    assert not regions.is_region("CD-XX") and not regions.is_region("CD")


def test_subdivisions_of_a_country() -> None:
    cd = regions.subdivisions("CD")
    assert len(cd) == 26 and list(cd) == sorted(cd) and {s.country for s in cd} == {"CD"}
    assert regions.subdivisions("cd") == cd
    assert regions.subdivisions("XX") == () and regions.subdivisions("") == ()
    assert "UA-14" in {s.code for s in regions.subdivisions("UA")}


def test_names_are_translated_where_the_data_has_them() -> None:
    assert regions.name("CD-NK") == "Nord-Kivu"
    assert regions.name("CD-NK", "uk") == "Північна Ківу"
    assert regions.name("UA-14", "uk") == "Донецька область"
    # pycountry has no Arabic or Swahili subdivision names: the standard's name
    assert regions.name("CD-NK", "ar") == regions.name("CD-NK", "sw") == "Nord-Kivu"
    assert regions.name("XX-1", "fr") == "XX-1"  # not a code: itself
    assert regions.country_name("UA", "fr") == "Ukraine"
    assert regions.country_name("UA", "uk") == "Україна"
    assert regions.country_name("ZZ") == "ZZ"


@given(st.text(max_size=8) | st.sampled_from(_codes()))
def test_is_region_is_exactly_membership(code: str) -> None:
    assert regions.is_region(code) == (code == "unknown" or code in set(_codes()))
    assert (regions.subdivision(code) is not None) == (code in set(_codes()))
