"""Cross-validation of the suggestion engine by group (issue 17): how the shipped model's
choices (features, regularisation, thresholds, training data) are made without the test split.

    python -m node.analysis.crossval            # 5 folds over train + dev, supplement always in
    python -m node.analysis.crossval --thresholds   # and the thresholds that CV would choose
    python -m node.analysis.crossval --with-supplement  # supplement lines held out in turn too
    python -m node.analysis.crossval --fresh-from 999   # supplement lines 999.. as fresh text

The items of the `train` and `dev` splits are cut into folds by a hash of their `group` (the
source document or the team's scenario), so paragraphs of one report or two phrasings of one
scenario are never on both sides; each fold is predicted by a model trained from nothing on the
other folds and the whole team-written supplement. The `test` split is never read here.

The figures are optimistic all the same: the lexicon and the supplement were written by people
who had read the train and dev items. They rank choices; they do not promise the figures of
text nobody here has read.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

from node.analysis import evalrun, suggest
from node.analysis.evalset import Item, load, split_of
from node.analysis.model import Example, Model, train
from protocol.vocabulary import CATEGORIES

FOLDS = 5
# Thresholds the search may pick, per decision: a coarse grid, since a rare category's F1
# moves by whole items.
GRID = (0.3, 0.35, 0.4, 0.45, 0.5, 0.55, 0.6)


def fold_of(group: str, folds: int = FOLDS) -> int:
    """A group's fold: a fixed function of its name, independent of its split (other bytes of
    the hash than those `evalset.split_of` reads)."""
    return int(hashlib.sha256(group.encode("utf-8")).hexdigest()[8:16], 16) % folds


@dataclass
class FoldModels:
    items: list[Item]
    models: list[Model]       # models[k] never saw the items of fold k
    folds: list[int]          # folds[n]: the fold of items[n]


def fit_folds(items: Sequence[Item], extra: Sequence[tuple[str, Example]],
              trainer: Callable[[Sequence[Example]], Model] = train,
              folds: int = FOLDS, by_language: bool = False) -> FoldModels:
    """Models for each fold. `extra` (language, example) pairs are always trained on, except,
    `by_language`, those in the held-out language: each language is then a fold of its own,
    predicted by a model that never saw a text in it (how text in a language the team did
    not write fares)."""
    if by_language:
        languages = sorted({i.language for i in items})
        where = [languages.index(i.language) for i in items]
        folds = len(languages)
    else:
        where = [fold_of(i.group, folds) for i in items]
    models = []
    for k in range(folds):
        examples = [Example(i.text, i.is_crsv, i.categories, i.perpetrator_affiliation)
                    for i, f in zip(items, where, strict=True) if f != k]
        examples += [e for lang, e in extra if not (by_language and lang == languages[k])]
        models.append(trainer(examples))
    return FoldModels(list(items), models, where)


def predict_out_of_fold(fm: FoldModels,
                        thresholds: Mapping[str, float]) -> list[evalrun.Prediction]:
    out = []
    for model in fm.models:
        model.thresholds = dict(thresholds)
    for item, k in zip(fm.items, fm.folds, strict=True):
        s = suggest.suggest(item.text, model=fm.models[k], with_entities=False)
        out.append(evalrun.Prediction(s.is_crsv, frozenset(s.categories),
                                      s.perpetrator_affiliation, s.language))
    return out


def evaluate(fm: FoldModels, thresholds: Mapping[str, float]) -> evalrun.Evaluation:
    return evalrun.evaluate(fm.items, predict_out_of_fold(fm, thresholds), "cv")


def choose_thresholds(fm: FoldModels, base: Mapping[str, float],
                      grid: Iterable[float] = GRID) -> dict[str, float]:
    """Per decision, the grid value with the best out-of-fold F1 (detection first, then every
    category at once, each read off its own F1); a tie keeps the value nearest 0.5."""
    chosen = dict(base)
    grid = sorted(grid, key=lambda t: (abs(t - 0.5), t))
    best: tuple[float, float] | None = None
    for t in grid:
        f1 = evaluate(fm, {**chosen, "is_crsv": t}).overall.detection.f1 or 0.0
        if best is None or f1 > best[0] + 1e-9:
            best = (f1, t)
    assert best is not None
    chosen["is_crsv"] = best[1]
    per: dict[str, tuple[float, float]] = {}
    for t in grid:
        cats = evaluate(fm, {**chosen, **dict.fromkeys(CATEGORIES, t)}).overall.categories
        for c in CATEGORIES:
            f1 = cats[c].f1 or 0.0
            if c not in per or f1 > per[c][0] + 1e-9:
                per[c] = (f1, t)
    chosen.update({c: t for c, (_, t) in per.items()})
    return chosen


def supplement_items(first_line: int) -> tuple[list[Example], list[Item]]:
    """The supplement cut at `first_line` (1-based): the lines before it as training
    examples, the lines from it on as items to score. A new batch is appended at the end of
    the file and scored this way before anything is tuned on it: the measure of text the
    engine has not seen, since the test split may not serve for that."""
    from node.analysis.shipped_model import SUPPLEMENT, supplement_by_language
    lines = supplement_by_language(SUPPLEMENT)
    registers = [json.loads(line)["register"]
                 for line in SUPPLEMENT.read_text(encoding="utf-8").splitlines() if line.strip()]
    before = [e for _, e in lines[:first_line - 1]]
    fresh = [Item(f"supplement-{n}", f"supplement:{n}", split_of(f"supplement:{n}"), e.text,
                  language, e.is_crsv, e.categories, e.affiliation or "unknown",
                  frozenset({e.affiliation or "unknown"}), "team", "team_written", register)
             for n, ((language, e), register) in enumerate(zip(lines, registers, strict=True),
                                                           start=1) if n >= first_line]
    return before, fresh


def score_fresh(first_line: int, thresholds: Mapping[str, float]) -> evalrun.Evaluation:
    """Supplement lines from `first_line` on, scored by a model trained on train + dev and the
    supplement lines before it (affiliation against each line's own label: every line carries
    one since round 4)."""
    before, fresh = supplement_items(first_line)
    examples = [Example(i.text, i.is_crsv, i.categories)
                for i in load(splits=["train", "dev"])] + before
    model = train(examples, dict(thresholds))
    from node.analysis.shipped_model import SHIPPED_ARBITER
    if not SHIPPED_ARBITER:
        model.affiliation = None  # as the shipped model decides
    fm = FoldModels(fresh, [model], [0] * len(fresh))
    return evaluate(fm, thresholds)


def main(argv: list[str] | None = None) -> int:
    from node.analysis.shipped_model import SHIPPED_ARBITER, THRESHOLDS, supplement_by_language
    parser = argparse.ArgumentParser(prog="python -m node.analysis.crossval",
                                     description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--folds", type=int, default=FOLDS)
    parser.add_argument("--by-language", action="store_true",
                        help="one fold per language, its supplement lines left out too")
    parser.add_argument("--affiliation-rules", action="store_true",
                        help="decide the main affiliation by the rules alone (no arbiter; "
                             "what the shipped model does unless SHIPPED_ARBITER)")
    parser.add_argument("--arbiter", action="store_true",
                        help="decide the main affiliation by the learned arbiter")
    parser.add_argument("--thresholds", action="store_true",
                        help="also search the thresholds on the out-of-fold predictions")
    parser.add_argument("--fresh-from", type=int, metavar="LINE",
                        help="score supplement lines LINE.. with a model trained on the rest "
                             "before them (a new batch, before it is trained on)")
    parser.add_argument("--with-supplement", action="store_true",
                        help="score the supplement's lines too, each in a fold of its own "
                             "line (train + dev + supplement all held out in turn)")
    parser.add_argument("--errors", action="store_true", help="list the items got wrong")
    args = parser.parse_args(argv)
    if args.fresh_from:
        ev = score_fresh(args.fresh_from, THRESHOLDS)
        sys.stdout.write(evalrun.render(ev, show_errors=args.errors))
        return 0
    items = load(splits=["train", "dev"])
    extra = supplement_by_language()
    if args.with_supplement:
        items += supplement_items(1)[1]
        extra = []
    fm = fit_folds(items, extra, folds=args.folds, by_language=args.by_language)
    if args.affiliation_rules or not (SHIPPED_ARBITER or args.arbiter):
        for model in fm.models:
            model.affiliation = None
    thresholds = dict(THRESHOLDS)
    if args.thresholds:
        thresholds = choose_thresholds(fm, thresholds)
        sys.stdout.write(f"thresholds chosen by CV: {thresholds}\n")
    sys.stdout.write(evalrun.render(evaluate(fm, thresholds), show_errors=args.errors))
    return 0


if __name__ == "__main__":
    sys.exit(main())
