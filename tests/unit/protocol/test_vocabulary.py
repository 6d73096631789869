"""The coding vocabularies and the statistics plan schema have one source, `protocol`: every
code has a label, the closed lists are what the models validate, both catalogues translate
the labels, and no other module defines the lists again."""

from __future__ import annotations

import re
from pathlib import Path
from typing import get_args

import pytest
from babel.messages.extract import extract_from_file

from node.backoffice.incidents import IncidentCoding
from node.i18n import load
from node.intake.models import ReportInput
from observatory.i18n import translations
from protocol import statistics, vocabulary

ROOT = Path(__file__).resolve().parents[3]
LISTS = {
    "category": (vocabulary.Category, vocabulary.CATEGORIES, vocabulary.CATEGORY_LABELS),
    "context": (vocabulary.Context, vocabulary.CONTEXTS, vocabulary.CONTEXT_LABELS),
    "survivor_sex": (vocabulary.Sex, vocabulary.SEXES, vocabulary.SEX_LABELS),
    "survivor_age_group": (vocabulary.AgeGroup, vocabulary.AGE_GROUPS,
                           vocabulary.AGE_GROUP_LABELS),
    "perpetrator_affiliation": (vocabulary.Affiliation, vocabulary.AFFILIATIONS,
                                vocabulary.AFFILIATION_LABELS),
}
LANGUAGES = ("ar", "fr", "sw", "uk")


@pytest.mark.parametrize("name", LISTS)
def test_every_code_has_one_label_in_the_lists_order(name: str) -> None:
    literal, codes, labels = LISTS[name]
    assert codes == get_args(literal)
    assert len(set(codes)) == len(codes) > 1
    assert tuple(labels) == codes
    assert all(labels[code] for code in codes)
    assert statistics.FIXED_DOMAINS[name] == codes  # type: ignore[index]
    assert codes[-1] == vocabulary.UNKNOWN or name == "category"


def test_the_models_accept_exactly_the_vocabulary() -> None:
    for code in vocabulary.CATEGORIES:
        IncidentCoding(category=code)
    for field, (_, codes, _) in LISTS.items():
        if field == "category":
            continue
        for code in codes:
            IncidentCoding.model_validate({"category": "rape", field: code})
        with pytest.raises(ValueError, match=field):
            IncidentCoding.model_validate({"category": "rape", field: "not_a_code"})
    for code in vocabulary.AFFILIATIONS:
        ReportInput(perpetrator_affiliation=code)


def test_provisions_follow_the_context() -> None:
    assert {c: vocabulary.provision(c) for c in vocabulary.CONTEXTS} == {
        "international_armed_conflict": "Art. 8(2)(b)(xxii)",
        "non_international_armed_conflict": "Art. 8(2)(e)(vi)",
        "widespread_or_systematic_attack": "Art. 7(1)(g)",
        "unknown": "",
    }
    coding = IncidentCoding(category="forced_pregnancy", context="international_armed_conflict")
    assert coding.provision() == "Art. 8(2)(b)(xxii)"


def test_the_plan_schema_uses_only_its_dimensions() -> None:
    assert set(statistics.DIMENSIONS) == (set(statistics.FIXED_DIMENSIONS)
                                          | set(statistics.PER_NODE_DIMENSIONS))
    assert set(statistics.FIXED_DOMAINS) == set(statistics.FIXED_DIMENSIONS)
    for table in statistics.DEFAULT_TABLES:
        assert set(table.dimensions) <= set(statistics.DIMENSIONS)
    assert statistics.months("2025-11", "2025-12") == ("2025-11", "2025-12")
    assert statistics.month_bounds("2025-12", "2025-12") == (1764547200, 1767225600)


def marked_labels() -> set[str]:
    """The labels `N_` marks in protocol/vocabulary.py, as both catalogues extract them."""
    return {message for _line, message, _comments, _ctx in extract_from_file(
        "python", str(ROOT / "protocol" / "vocabulary.py"), keywords={"N_": None})
        if isinstance(message, str)}


@pytest.mark.parametrize("lang", LANGUAGES)
def test_both_catalogues_render_every_label(lang: str) -> None:
    marked = marked_labels()
    every = {label for _, _, labels in LISTS.values() for label in labels.values()}
    assert {"Rape", "Militias", "60 and over", "Not known"} <= marked <= every
    # the labels not marked are the codes themselves (age ranges): nothing to translate
    assert all(label in get_args(vocabulary.AgeGroup) for label in every - marked)
    for catalogue in (load(lang), translations(lang)):
        untranslated = sorted(label for label in marked if catalogue.gettext(label) == label)
        assert untranslated == [], (lang, untranslated)


def test_no_other_module_defines_the_lists_again() -> None:
    """A closed list spelled out again outside `protocol` (a `Literal`, a tuple) would be a
    copy kept in step by hand, which is what `protocol.vocabulary` replaces."""
    lists = [re.compile(r",\s*".join(re.escape(f'"{c}"') for c in codes))
             for _, codes, _ in LISTS.values()]
    copies = [str(path.relative_to(ROOT)) for folder in ("node", "observatory", "runtime")
              for path in (ROOT / folder).rglob("*.py")
              if any(p.search(path.read_text(encoding="utf-8")) for p in lists)]
    assert copies == []
