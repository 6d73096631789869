"""The pure parts of suggestions on the case page, linked reports and patterns (issue 17):
highlighting segments, training examples from decisions, the link score, the pattern
filters (fuzzed: they parse a query string)."""

from __future__ import annotations

from itertools import pairwise

from hypothesis import given
from hypothesis import strategies as st

from node.analysis.case_suggestions import Evidence, Item, example_of, segments
from node.analysis.linked_reports import THRESHOLD, Features, compare
from node.web.staff.patterns import Filters


def _item(key: str, spans: list[tuple[int, int]], decision: str | None = None) -> Item:
    return Item(key, key.partition(":")[0], key.partition(":")[2], 0.5,
                tuple(Evidence(a, b, "") for a, b in spans), decision)


@given(st.text(max_size=80), st.lists(st.tuples(st.integers(-5, 90), st.integers(-5, 90)),
                                      max_size=6))
def test_segments_cover_the_text_exactly(text: str, spans: list[tuple[int, int]]) -> None:
    parts = segments(text, [_item(f"category:{n}", [s]) for n, s in enumerate(spans)])
    assert "".join(p for p, _ in parts) == text
    assert all(a != b for (_, a), (_, b) in pairwise(parts))


def test_a_rejected_suggestion_is_not_highlighted() -> None:
    parts = segments("they raped me", [_item("category:rape", [(5, 10)], "rejected")])
    assert parts == [("they raped me", ())]


def test_examples_from_decisions() -> None:
    assert example_of("t", {}) is None
    assert example_of("t", {"category:rape": "rejected"}) is None
    no = example_of("t", {"is_crsv": "rejected"})
    assert no is not None and not no.is_crsv
    yes = example_of("t", {"category:rape": "accepted", "category:sexual_slavery": "rejected",
                           "victims:2": "accepted"})
    assert yes is not None and yes.is_crsv and yes.categories == frozenset({"rape"})


def _f(**kw: frozenset[str]) -> Features:
    base = dict.fromkeys(("units", "names", "groups", "regions", "months", "categories"),
                         frozenset[str]())
    return Features(**(base | kw))


def test_a_region_a_month_or_a_lone_battalion_is_not_a_link() -> None:
    same_place_and_time = _f(regions=frozenset({"CD-NK"}), months=frozenset({"2024-03"}))
    assert compare(same_place_and_time, same_place_and_time)[0] < THRESHOLD
    battalion = _f(units=frozenset({"battalion:2"}), categories=frozenset({"rape"}))
    assert compare(battalion, battalion)[0] < THRESHOLD
    unit = _f(units=frozenset({"battalion:2", "brigade:34"}), regions=frozenset({"CD-NK"}))
    score, reasons, shared = compare(unit, unit)
    assert score >= THRESHOLD and reasons == ["unit", "region"]
    assert shared == ["battalion:2", "brigade:34"]
    all_three = _f(regions=frozenset({"CD-NK"}), months=frozenset({"2024-03"}),
                   categories=frozenset({"rape"}))
    assert compare(all_three, all_three)[0] >= THRESHOLD


@given(st.dictionaries(st.sampled_from(["category", "region", "affiliation", "context",
                                        "since", "until", "other"]), st.text(max_size=20)))
def test_pattern_filters_take_any_query(query: dict[str, str]) -> None:
    f = Filters.of(query)
    for month in (f.since, f.until):
        assert month == "" or (len(month) == 7 and month[4] == "-")
    assert set(f.values) <= {"category", "region", "affiliation", "context"}
