"""The coding form's parser (`incidents.coding_from_choices`) and the case-number parser
(`case_numbers.id_prefix`), fuzzed: whatever is posted, a coding is only what was chosen,
and anything else is a clear error, never a crash (issue 15)."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from node import errors
from node.backoffice import case_numbers
from node.backoffice import incidents as inc
from node.backoffice.incident_dates import NotAPeriod, Period, describe, parse_period
from protocol import vocabulary as vocab

ANSWERS = {
    "category": vocab.CATEGORIES, "region": ("R1", inc.NOT_KNOWN_CHOICE),
    "perpetrator_affiliation": vocab.AFFILIATIONS, "survivor_sex": vocab.SEXES,
    "survivor_age_group": vocab.AGE_GROUPS, "context": vocab.CONTEXTS,
}


def test_the_form_covers_every_field_of_a_coding() -> None:
    """A field added to the model without a question would be saved as its default. A
    date's precision is answered by which of its two inputs (day, month or year) is filled."""
    questions = set(inc.FIELDS) - set(inc.APPROX_OF.values()) | set(inc.PRECISION_OF.values())
    assert questions == set(inc.IncidentCoding.model_fields)
    assert set(ANSWERS) == set(inc.CHOSEN)


def test_a_count_is_digits_of_any_script() -> None:
    answers = {k: v[0] for k, v in ANSWERS.items()}
    for count in ("²", "x", "-1", "1.5"):
        with pytest.raises(inc.CodingInvalid):
            inc.coding_from_choices({**answers, "perpetrator_count": count})
    assert inc.coding_from_choices({**answers, "perpetrator_count": " 3 "}).perpetrator_count == 3
    assert inc.coding_from_choices({**answers, "perpetrator_count": "١٢"}).perpetrator_count == 12


def test_an_untouched_form_names_every_question() -> None:
    with pytest.raises(inc.ChoicesMissing) as caught:
        inc.coding_from_choices(dict.fromkeys(inc.FIELDS, ""))
    assert caught.value.fields == inc.CHOSEN
    with pytest.raises(inc.ChoicesMissing):
        inc.coding_from_choices({})


@given(st.fixed_dictionaries({k: st.sampled_from(v) for k, v in ANSWERS.items()}))
def test_a_complete_form_saves_exactly_what_was_chosen(answers: dict[str, str]) -> None:
    coding = inc.coding_from_choices(answers)
    assert inc.choices_of(coding) == {**dict.fromkeys(inc.FREE, ""), **answers}


@given(st.dictionaries(st.sampled_from([*inc.FIELDS, "csrf", "other"]),
                       st.one_of(st.text(max_size=40), *(st.sampled_from(v)
                                                         for v in ANSWERS.values()))))
def test_any_form_gives_a_coding_of_chosen_answers_or_a_clear_error(
        form: dict[str, str]) -> None:
    try:
        coding = inc.coding_from_choices(form)
    except errors.InvalidInput as exc:
        assert exc.field in inc.FIELDS
        return
    for name in inc.CHOSEN:  # every chosen question had an answer
        assert form.get(name, "").strip()
    assert coding.category == form["category"].strip()


@given(st.binary(min_size=16, max_size=16))
def test_a_case_number_reads_back_to_its_id(raw: bytes) -> None:
    report_id = raw.hex()
    number = case_numbers.number_of(report_id)
    assert len(number) == 9 and number[4] == "-"
    assert case_numbers.id_prefix(number) == report_id[:10]
    assert case_numbers.id_prefix(f" {number.lower().replace('-', ' ')} ") == report_id[:10]


@given(st.text(max_size=30))
def test_any_text_is_a_case_number_or_none(text: str) -> None:
    prefix = case_numbers.id_prefix(text)
    assert prefix is None or (len(prefix) == 10 and int(prefix, 16) >= 0)


# ------------------------------------------------------------------ partial dates

COMPLETE_ANSWERS = {k: v[0] for k, v in ANSWERS.items()}


@pytest.mark.parametrize(("text", "lang", "start", "precision"), [
    ("2024-03-02", "en", "2024-03-02", "day"),
    ("2024-03", "en", "2024-03-01", "month"),
    ("2024", "en", "2024-01-01", "year"),
    ("03/2024", "en", "2024-03-01", "month"),
    ("March 2024", "en", "2024-03-01", "month"),
    ("mar. 2024", "en", "2024-03-01", "month"),
    ("mars 2024", "fr", "2024-03-01", "month"),
    ("March 2024", "fr", "2024-03-01", "month"),  # English is always read too
    ("مارس ٢٠٢٤", "ar", "2024-03-01", "month"),
    ("березень 2024", "uk", "2024-03-01", "month"),
    ("2024 Machi", "sw", "2024-03-01", "month"),
])
def test_a_partial_date_keeps_only_what_is_known(text: str, lang: str, start: str,
                                                 precision: str) -> None:
    period = parse_period(text, lang)
    assert (period.start.isoformat(), period.precision) == (start, precision)
    coding = inc.coding_from_choices({**COMPLETE_ANSWERS, "date_from_approx": text}, lang)
    assert (coding.date_from, coding.date_from_precision) == (period.start, precision)
    # read back into the form: a day in the day input, a month or year in the other
    back = inc.choices_of(coding)
    assert back["date_from" if precision == "day" else "date_from_approx"] == period.iso()


def test_a_year_is_never_counted_in_a_month() -> None:
    coding = inc.coding_from_choices({**COMPLETE_ANSWERS, "date_from_approx": "2024"})
    assert coding.month_from is None and coding.date_from == date(2024, 1, 1)
    month = inc.coding_from_choices({**COMPLETE_ANSWERS, "date_from_approx": "2024-03"})
    assert month.month_from == date(2024, 3, 1)


def test_dates_are_checked_as_periods() -> None:
    # "to March 2024" is not before "from 15 March 2024": the month ends on the 31st
    coding = inc.coding_from_choices({**COMPLETE_ANSWERS, "date_from": "2024-03-15",
                                      "date_to_approx": "March 2024"})
    assert coding.period_to is not None and coding.period_to.end == date(2024, 3, 31)
    with pytest.raises(inc.DatesReversed) as reversed_:
        inc.coding_from_choices({**COMPLETE_ANSWERS, "date_from_approx": "2024",
                                 "date_to": "2023-12-31"})
    assert reversed_.value.field == "date_to"
    with pytest.raises(inc.TwoDates) as both:
        inc.coding_from_choices({**COMPLETE_ANSWERS, "date_from": "2024-03-02",
                                 "date_from_approx": "2024"})
    assert both.value.field == "date_from_approx"
    with pytest.raises(inc.BadPeriod):
        inc.coding_from_choices({**COMPLETE_ANSWERS, "date_to_approx": "Marchember 2024"})
    with pytest.raises(errors.BadDate):
        inc.coding_from_choices({**COMPLETE_ANSWERS, "date_to": "2024-02-30"})
    # a stored month must start on its first day: no "month" that is really a day
    with pytest.raises(ValueError, match="first day"):
        inc.IncidentCoding(category="rape", date_from=date(2024, 3, 2),
                           date_from_precision="month")


def test_a_coding_stored_before_precisions_reads_as_days() -> None:
    old = '{"category":"rape","date_from":"2024-03-02","date_to":null}'
    coding = inc.IncidentCoding.model_validate_json(old)
    assert coding.date_from_precision == "day" and coding.month_from == date(2024, 3, 2)


@given(st.text(max_size=50), st.sampled_from(["en", "fr", "ar", "sw", "uk", "xx"]))
def test_any_text_is_a_period_or_not_a_period(text: str, lang: str) -> None:
    try:
        period = parse_period(text, lang)
    except NotAPeriod:
        return
    assert period.start <= period.end
    assert parse_period(period.iso()) == period


@given(st.dates(min_value=date(1900, 1, 1), max_value=date(2999, 12, 31)),
       st.sampled_from(["day", "month", "year"]), st.sampled_from(["en", "fr", "ar", "uk"]))
def test_a_period_reads_back_from_its_iso_text_and_its_name(day: date, precision: str,
                                                           lang: str) -> None:
    start = {"day": day, "month": day.replace(day=1),
             "year": day.replace(month=1, day=1)}[precision]
    period = Period(start, precision)  # type: ignore[arg-type]
    assert parse_period(period.iso(), lang) == period
    if precision == "month":  # "March 2024" as the page writes it reads back
        assert parse_period(describe(period, lang), lang) == period
