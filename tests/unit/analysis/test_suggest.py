"""Suggested codings (issue 17): the engine's contract, offline behaviour and model bytes."""

from __future__ import annotations

import pickle
import socket

import pytest

from node.analysis import model
from node.analysis import suggest as s
from node.analysis.model import Example, Model, train
from protocol.vocabulary import AFFILIATIONS, CATEGORIES


def test_a_plain_report_is_suggested_with_evidence_spans() -> None:
    text = "Les soldats sont entrés dans la maison et ils m'ont violée devant mes enfants."
    out = s.suggest(text)
    assert out.is_crsv
    assert "rape" in out.categories
    assert out.perpetrator_affiliation == "state_forces"
    assert out.language == "fr"
    spans = [text[e.start:e.end] for e in out.evidence if e.suggestion == "rape"]
    assert any(span.lower().startswith("violée") for span in spans)
    for e in out.evidence:  # every span is the phrase as given
        assert text[e.start:e.end] == e.phrase


def test_codes_come_from_the_vocabulary() -> None:
    out = s.suggest("the militia men kept us in their camp for months as their wives")
    assert set(out.categories) <= set(CATEGORIES)
    assert set(out.perpetrator_affiliations) <= set(AFFILIATIONS)
    assert out.perpetrator_affiliation in out.perpetrator_affiliations


def test_topic_mentions_and_denials_are_not_reports() -> None:
    for text in ("The ministry launched a programme to prevent sexual violence in schools.",
                 "The army denied that any rape had taken place."):
        assert not s.suggest(text).is_crsv, text


def test_empty_text_is_a_negative_with_no_confidence() -> None:
    out = s.suggest("   ")
    assert not out.is_crsv and out.confidence["is_crsv"] == 0.0 and out.categories == ()


def test_over_long_text_is_cut_and_says_so() -> None:
    out = s.suggest("a" * (s.MAX_CHARS + 10))
    assert out.truncated
    assert out.as_record("x")["truncated"] is True


def test_the_language_given_is_kept_with_full_confidence() -> None:
    out = s.suggest("wakanibaka msituni", language="sw")
    assert (out.language, out.language_confidence) == ("sw", 1.0)


def test_the_suggestion_path_opens_no_socket(monkeypatch: pytest.MonkeyPatch) -> None:
    # loading the model and the language identifier is part of the path: start cold
    s.shipped_model.cache_clear()
    s._identifier.cache_clear()

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("the suggestion path opened a socket")

    monkeypatch.setattr(socket, "socket", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    out = s.suggest("walinishika wakanibaka msituni, askari watatu", language=None)
    assert out.is_crsv


def test_model_round_trips_through_bytes() -> None:
    model = s.shipped_model()
    again = Model.from_bytes(model.to_bytes())
    assert again.labels == model.labels
    text = "they raped my sister at the checkpoint"
    assert s.suggest(text, model=again).confidence == s.suggest(text, model=model).confidence


def test_a_pickled_model_is_refused() -> None:
    # loading a model must never run code: a pickle is refused, not unpickled
    with pytest.raises(ValueError):
        Model.from_bytes(pickle.dumps(s.shipped_model()))


CANARY = "zqxjvk"


def test_retraining_without_a_report_erases_it() -> None:
    base = [Example("soldiers raped women in the village", True, frozenset({"rape"})),
            Example("the army burned the market and killed ten men", False),
            Example("rebels kept girls as wives in the camp", True,
                    frozenset({"rape", "sexual_slavery"})),
            Example("militia looted the clinic", False)]
    secret = Example(f"my name is {CANARY} and the commander {CANARY} abused me", True,
                     frozenset({"rape"}))
    with_it = train([*base, secret])
    without = train(base)
    again = train(base)
    # deterministic: the model retrained without the report is the model it never touched
    assert without.to_bytes() == again.to_bytes()
    assert with_it.to_bytes() != without.to_bytes()
    assert CANARY.encode() not in with_it.to_bytes()  # no n-gram text is kept


def test_training_in_processes_gives_the_model_trained_in_turn(
        monkeypatch: pytest.MonkeyPatch) -> None:
    # a node's retraining analyses the texts and fits in spawned processes
    # (model.FIT_PROCESSES); the model must be the one made in turn, byte for byte
    examples = [Example(f"soldiers raped {n} women in the village of Kamango", True,
                        frozenset({"rape"})) for n in range(8)]
    examples += [Example(f"militia looted the clinic and burned {n} houses", False)
                 for n in range(8)]
    examples += [Example(f"rebels kept {n} girls as wives in the camp", True,
                         frozenset({"rape", "sexual_slavery"})) for n in range(8)]
    monkeypatch.setattr(model, "FIT_PROCESSES", 1)
    in_turn = train(examples)
    monkeypatch.setattr(model, "FIT_PROCESSES", 2)
    monkeypatch.setattr(model, "PARALLEL_FROM", 10)
    assert train(examples).to_bytes() == in_turn.to_bytes()


def test_uncertainty_ranks_the_unsure_first() -> None:
    sure = s.suggest("Soldiers raped three women in the village, witnesses said.")
    nothing = s.suggest("")
    assert s.uncertainty(nothing) == 0.0
    assert 0.0 <= s.uncertainty(sure) < 0.5


def test_training_needs_examples() -> None:
    with pytest.raises(ValueError):
        train([])


def test_other_languages_get_an_answer_that_says_how_little_it_knows() -> None:
    # Lingala and Hausa (not among the languages trained in depth), transliterated Ukrainian
    # (no language the identifier knows): an answer, the language it found, and confidences
    # pulled toward 0.5
    for text in ("basoda ya mboka bakotaki na ndako na butu mpe babebisaki mwasi na ngai",
                 "sojojin sun shigo kauye da dare suka yi wa mata fyade",
                 "soldaty pryishly vnochi i zgvaltuvaly susidku v pidvali"):
        out = s.suggest(text)
        assert out.language and 0.0 <= out.language_confidence <= 1.0
        assert out.language not in s.TRAINED_LANGUAGES \
            or out.language_confidence < s.UNSURE_LANGUAGE, (out.language, text)
        assert all(abs(v - 0.5) <= 0.5 * s.OTHER_LANGUAGE_SHRINK + 1e-9
                   for k, v in out.confidence.items() if k != "language"), text


def test_prostitution_and_forced_pregnancy_come_with_rape() -> None:
    # the data card's rule: both are made of forced sexual acts
    for text, category in (("the commander kept us in the camp and sent us to men who paid "
                            "him, we were forced to sleep with them for money",
                            "enforced_prostitution"),
                           ("they locked me in the house until i was pregnant",
                            "forced_pregnancy")):
        out = s.suggest(text)
        assert out.is_crsv and category in out.categories and "rape" in out.categories


def test_held_as_a_wife_is_a_report_of_sexual_slavery_with_rape() -> None:
    # no act word at all: kept as a fighter's "wife" in captivity (the data card's rule), and
    # sexual slavery is suggested with rape, as the labels nearly always code it
    out = s.suggest("they took me to the camp and i was forced to be his wife, "
                    "they kept me there and i could not leave")
    assert out.is_crsv
    assert {"sexual_slavery", "rape"} <= set(out.categories)
