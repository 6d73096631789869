"""Metrics of the evaluation harness, on cases computed by hand."""

from __future__ import annotations

import pytest

from node.analysis import evalmetrics as m


def test_binary_counts_precision_recall_f1():
    gold = [True, True, True, False, False, False]
    pred = [True, True, False, True, False, False]
    c = m.binary_counts(gold, pred)
    assert (c.tp, c.fp, c.fn, c.tn) == (2, 1, 1, 2)
    assert c.precision == pytest.approx(2 / 3)
    assert c.recall == pytest.approx(2 / 3)
    assert c.f1 == pytest.approx(2 / 3)


def test_f1_is_undefined_when_there_is_nothing_to_find_and_nothing_predicted():
    c = m.binary_counts([False, False], [False, False])
    assert c.precision is None and c.recall is None and c.f1 is None
    only_fp = m.binary_counts([False], [True])
    assert only_fp.f1 == 0.0 and only_fp.recall is None


def test_multilabel_micro_and_macro_by_hand():
    labels = ["rape", "sexual_slavery", "forced_pregnancy"]
    gold = [{"rape"}, {"rape", "sexual_slavery"}, set(), {"sexual_slavery"}]
    pred = [{"rape"}, {"rape"}, {"rape"}, {"sexual_slavery", "forced_pregnancy"}]
    per = m.multilabel_counts(gold, pred, labels)
    # rape: tp 2 (items 0, 1), fp 1 (item 2); slavery: tp 1 (item 3), fn 1 (item 1);
    # pregnancy: fp 1 (item 3), no support.
    assert (per["rape"].tp, per["rape"].fp, per["rape"].fn) == (2, 1, 0)
    assert (per["sexual_slavery"].tp, per["sexual_slavery"].fn) == (1, 1)
    assert (per["forced_pregnancy"].fp, per["forced_pregnancy"].support) == (1, 0)
    micro = m.micro(per)
    assert (micro.tp, micro.fp, micro.fn) == (3, 2, 1)
    assert micro.f1 == pytest.approx(6 / 9)
    # Macro over the labels with support: rape 4/5, slavery 2/3.
    assert m.macro_f1(per) == pytest.approx((4 / 5 + 2 / 3) / 2)


def test_an_invented_code_counts_as_a_false_positive():
    per = m.multilabel_counts([{"rape"}], [{"rape", "torture"}], ["rape"])
    assert per["torture"].fp == 1
    assert m.micro(per).precision == pytest.approx(0.5)


def test_accuracy_and_confusion():
    gold = ["state_forces", "militia", "militia", "unknown"]
    pred = ["state_forces", "state_forces", "militia", "warlord"]
    assert m.accuracy(gold, pred) == pytest.approx(0.5)
    matrix = m.confusion(gold, pred, ["state_forces", "militia", "unknown"])
    assert matrix["militia"] == {"state_forces": 1, "militia": 1, "unknown": 0, "warlord": 0}
    assert matrix["unknown"]["warlord"] == 1
    assert m.accuracy([], []) is None


def test_lengths_must_match():
    with pytest.raises(ValueError, match="length"):
        m.binary_counts([True], [])
