"""Entities of a report (issue 17): dates, counts, armed groups, units, ranks and places."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from node import config
from node.analysis import suggest as s
from node.analysis.entities import find_counts, find_dates, find_entities, find_groups
from node.analysis.gazetteer import ListError, parse_groups, parse_places
from node.analysis.names import name_key

REPORT_DATE = dt.datetime(2026, 12, 7)
PLACES = parse_places("# the node's gazetteer\nname,region,aliases\n"
                      "Goma,CD-NK,Ngoma|غوما|Гома\nMinova,CD-SK,\nBucha,UA-32,Буча|Бучу\n")


def _dates(text: str, language: str) -> list[tuple[str, str, bool]]:
    return [(d.value, d.precision, d.relative) for d in find_dates(text, language, REPORT_DATE)]


@pytest.mark.parametrize(("language", "text", "expected"), [
    ("en", "On 3 March 2023 they came.", ("2023-03-03", "day", False)),
    ("fr", "En mars 2023, cinq militaires sont venus.", ("2023-03", "month", False)),
    ("fr", "Il y a deux semaines, ils sont revenus.", ("2026-11-23", "week", True)),
    ("uk", "Минулого тижня вони повернулися.", ("2026-11-30", "week", True)),
    ("sw", "Mwezi uliopita wanajeshi walivamia kijiji.", ("2026-11", "month", True)),
    ("sw", "walivamia tarehe 5 Machi 2023", ("2023-03-05", "day", False)),
    ("es", "El 3 de mayo de 2021 entraron al pueblo.", ("2021-05-03", "day", False)),
    ("pt", "Em junho de 2021 os insurgentes atacaram.", ("2021-06", "month", False)),
    ("ar", "اقتحموا القرية قبل أسبوعين", ("2026-11-23", "week", True)),
    ("uk", "У березні 2022 року солдати зайшли в село.", ("2022", "year", False)),
])
def test_partial_and_relative_dates(language: str, text: str,
                                    expected: tuple[str, str, bool]) -> None:
    assert expected in _dates(text, language), _dates(text, language)


def test_what_is_not_a_date() -> None:
    # a modal verb, a month name alone, an ordinal, a year after the report
    assert _dates("It may be the M23 of the 2nd group.", "en") == []
    assert _dates("They said they will come back in 2031.", "en") == []
    # a language dateparser does not know still gets the years it states
    assert _dates("basoda bayaki na 2019", "ln") == [("2019", "year", False)]


def test_a_pronoun_or_a_preposition_is_no_weekday() -> None:
    # dateparser's abbreviations "we", "sa", "mi" and "a una" read as days before the sentences
    # without a digit or a date word were left out of its search
    assert _dates("they took my son and we never saw him again", "en") == []
    assert _dates("un des miliciens et sa femme sont partis", "fr") == []
    assert _dates("el soldado abusó de mí en el puesto de control", "es") == []
    # a year stated in the phrase stands: "six months of 2013" is no date of this year
    assert _dates("In the first six months of 2013, MONUSCO documented 56 rapes.", "en") == [
        ("2013", "year", False)]


def test_dates_keep_their_place_across_sentences() -> None:
    # sentences with no date are left out of the search; the spans are the report's own
    text = ("Soldiers came to the village. Nobody was hurt. They came back on 2 September 2023 "
            "at night. Yesterday they left. Some of us hid.")
    found = find_dates(text, "en", REPORT_DATE)
    assert [(text[d.start:d.end], d.value) for d in found] == [
        ("on 2 September 2023 at night", "2023-09-02"), ("Yesterday", "2026-12-06")]


def test_counts_of_victims_and_perpetrators() -> None:
    e = find_entities("Three soldiers raped two women; later 5 armed men came back.", "en",
                      reference=REPORT_DATE)
    assert (e.victims, e.perpetrators) == (2, 5)
    for text, victims, perpetrators in [
        ("cinq militaires ont violé trois femmes", 3, 5),
        ("wanajeshi watatu wakawabaka wanawake wawili", 2, 3),
        ("في 2022 اقتحم ثلاثة جنود القرية واغتصبوا خمس نساء", 5, 3),
        ("У березні 2022 року троє солдатів зайшли в село", None, 3),
    ]:
        counts = find_counts(text)
        got = ({c.count for c in counts if c.role == "victims"} or {None},
               {c.count for c in counts if c.role == "perpetrators"} or {None})
        assert got == ({victims}, {perpetrators}), text
        for c in counts:
            assert text[c.start:c.end] == c.phrase


def test_groups_units_and_ranks() -> None:
    text = ("Colonel Jean-Pierre Bemba of the 2nd Battalion, 34th Brigade led FARDC troops; "
            "later عناصر الدعم السريع and the commandant Bemba came.")
    found = find_groups(text)
    kinds = {(g.kind, g.key) for g in found}
    assert ("unit", "battalion:2") in kinds and ("unit", "brigade:34") in kinds
    assert ("group", "frdk") in kinds
    assert any(g.kind == "group" and g.affiliation == "non_state_armed_group"
               and g.phrase == "الدعم السريع" for g in found)
    ranks = [g for g in found if g.kind == "rank"]
    assert [r.name for r in ranks] == ["colonel", "commandant"]
    assert ranks[0].key == name_key("Jean-Pierre Bemba") and ranks[1].key == name_key("Bemba")
    for g in found:
        assert text[g.start:g.end] == g.phrase


def test_the_nodes_own_groups_are_added() -> None:
    mine = parse_groups("name,affiliation,aliases\nTwirwaneho,militia,Twigwaneho\n")
    found = find_groups("des éléments Twigwaneho ont attaqué", mine)
    assert [(g.name, g.affiliation) for g in found] == [("Twirwaneho", "militia")]


def test_places_map_to_iso_3166_2_regions_in_any_script() -> None:
    text = "Ils sont venus à GOMA puis à Minová; في غوما ; у Бучу"
    found = find_entities(text, "fr", reference=REPORT_DATE, places=PLACES).places
    assert [(p.phrase, p.region) for p in found] == [
        ("GOMA", "CD-NK"), ("Minová", "CD-SK"), ("غوما", "CD-NK"), ("Бучу", "UA-32")]


def test_suggest_returns_the_entities() -> None:
    out = s.suggest("On 3 March 2023 three soldiers of the FARDC raped two women near Goma.",
                    reference=REPORT_DATE, places=PLACES)
    record = out.as_record("r1")["entities"]
    assert record["victims"] == 2 and record["perpetrators"] == 3
    assert record["places"][0]["region"] == "CD-NK"
    assert record["dates"][0]["value"] == "2023-03-03"
    assert record["groups"][0]["affiliation"] == "state_forces"


@pytest.mark.parametrize(("text", "message"), [
    ("place,region\nGoma,CD-NK\n", "header"),
    ("name,region,aliases\nGoma,North Kivu,\n", "ISO 3166-2"),
    # the right shape, but not a code of the federation's region vocabulary
    ("name,region,aliases\nGoma,CD-ZZ,\n", "'CD-ZZ' is not a first-level ISO 3166-2"),
    ("name,region,aliases\nGoma,unknown,\n", "'unknown' is not a first-level"),
    ("name,region,aliases\nGoma,CD-NK,a,b\n", "line 2"),
    ("name,region,aliases\n,CD-NK,\n", "1 to"),
])
def test_a_bad_gazetteer_line_is_named(text: str, message: str) -> None:
    with pytest.raises(ListError, match=message):
        parse_places(text)


def test_a_bad_group_affiliation_is_named() -> None:
    with pytest.raises(ListError, match="affiliation 'rebels'"):
        parse_groups("name,affiliation,aliases\nX,rebels,\n")


def test_node_toml_names_the_lists(tmp_path: Path) -> None:
    (tmp_path / "places.csv").write_text("name,region,aliases\nGoma,CD-NK,\n", encoding="utf-8")
    cfg = config.parse({"analysis": {"gazetteer": "places.csv"}})
    places = cfg.analysis.places(tmp_path)
    assert places is not None and len(places) == 1
    assert cfg.analysis.groups(tmp_path) is None
    with pytest.raises(config.ConfigError):
        config.parse({"analysis": {"gazeteer": "places.csv"}})  # a misspelt key is refused


@given(st.text(max_size=400))
@settings(max_examples=150, deadline=None)
def test_any_list_text_is_parsed_or_refused_with_list_error(text: str) -> None:
    for parse in (parse_places, parse_groups):
        try:
            parse(text)
        except ListError:
            pass


@given(st.text(max_size=300))
@settings(max_examples=100, deadline=None)
def test_any_text_gives_entities_with_true_spans(text: str) -> None:
    e = find_entities(text, "en", reference=REPORT_DATE, places=PLACES)
    for span in (*e.dates, *e.counts, *e.groups, *e.places):
        assert 0 <= span.start <= span.end <= len(text)
        assert text[span.start:span.end] == span.phrase
