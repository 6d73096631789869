"""Cross-validation of the suggestion engine (issue 17): folds by group, never the test split."""

from __future__ import annotations

from node.analysis import crossval
from node.analysis.evalset import load
from node.analysis.model import Example


def test_a_group_has_one_fold_for_good() -> None:
    items = load(splits=["train", "dev"])
    for item in items:
        fold = crossval.fold_of(item.group)
        assert 0 <= fold < crossval.FOLDS
        assert fold == crossval.fold_of(item.group)
    by_group: dict[str, set[int]] = {}
    for item in items:
        by_group.setdefault(item.group, set()).add(crossval.fold_of(item.group))
    assert all(len(folds) == 1 for folds in by_group.values())
    assert {crossval.fold_of(i.group) for i in items} == set(range(crossval.FOLDS))


def test_a_held_out_language_is_never_trained_on() -> None:
    items = load(splits=["train"])
    few = [i for i in items if i.language == "sw"][:3] + [i for i in items
                                                          if i.language == "pt"][:3]
    extra = [("sw", Example("walinibaka askari", True, frozenset({"rape"}))),
             ("pt", Example("os soldados queimaram a aldeia", False)),
             ("de", Example("Soldaten haben sie vergewaltigt", True, frozenset({"rape"})))]
    fm = crossval.fit_folds(few, extra, by_language=True)
    assert len(fm.models) == 2  # pt, sw: one fold each
    # the pt fold trains on the 3 sw items and the sw and de lines; the sw fold on the rest
    assert [m.meta["examples"] for m in fm.models] == [3 + 2, 3 + 2]
    assert fm.folds == [1, 1, 1, 0, 0, 0]
    predictions = crossval.predict_out_of_fold(fm, {"is_crsv": 0.35})
    assert len(predictions) == len(few)


def test_a_fresh_batch_is_scored_by_a_model_that_never_saw_it() -> None:
    from node.analysis.shipped_model import SUPPLEMENT, supplement_by_language
    total = len(supplement_by_language(SUPPLEMENT))
    before, fresh = crossval.supplement_items(total - 2)
    assert len(before) == total - 3 and len(fresh) == 3
    assert [i.id for i in fresh] == [f"supplement-{n}" for n in range(total - 2, total + 1)]
    assert not {e.text for e in before} & {i.text for i in fresh}
    assert all(i.register in ("formal", "survivor") for i in fresh)
