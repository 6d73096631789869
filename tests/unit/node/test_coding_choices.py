"""The coding form's parser (`incidents.coding_from_choices`) and the case-number parser
(`case_numbers.id_prefix`), fuzzed: whatever is posted, a coding is only what was chosen,
and anything else is a clear error, never a crash (issue 15)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from node import errors
from node.backoffice import case_numbers
from node.backoffice import incidents as inc
from protocol import vocabulary as vocab

ANSWERS = {
    "category": vocab.CATEGORIES, "region": ("R1", inc.NOT_KNOWN_CHOICE),
    "perpetrator_affiliation": vocab.AFFILIATIONS, "survivor_sex": vocab.SEXES,
    "survivor_age_group": vocab.AGE_GROUPS, "context": vocab.CONTEXTS,
}


def test_the_form_covers_every_field_of_a_coding() -> None:
    """A field added to the model without a question would be saved as its default."""
    assert set(inc.FIELDS) == set(inc.IncidentCoding.model_fields)
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
