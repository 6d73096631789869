"""Figures of a coding predictor against gold labels (issue 17): pure functions, no I/O.

Definitions (also in the data card):
- detection: precision, recall and F1 of `is_crsv` (the positive class is "describes CRSV");
- categories: multi-label; per category, true positives, false positives and false negatives
  over every item (a negative item has no category); micro-F1 pools the counts of all
  categories; macro-F1 is the mean F1 of the categories that occur in the gold labels;
- affiliation accuracy: share of gold-CRSV items whose predicted main affiliation equals the
  gold one (`unknown` is a label like the others: the text names no perpetrator).

F1 where precision and recall are both undefined (nothing predicted, nothing to find) is
undefined (None), not 0 or 1: such a category is left out of the macro mean.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Counts:
    tp: int = 0
    fp: int = 0
    fn: int = 0
    tn: int = 0

    @property
    def support(self) -> int:
        return self.tp + self.fn

    @property
    def precision(self) -> float | None:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else None

    @property
    def recall(self) -> float | None:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else None

    @property
    def f1(self) -> float | None:
        if self.tp + self.fp + self.fn == 0:
            return None
        return 2 * self.tp / (2 * self.tp + self.fp + self.fn)

    def __add__(self, other: Counts) -> Counts:
        return Counts(self.tp + other.tp, self.fp + other.fp, self.fn + other.fn,
                      self.tn + other.tn)


def binary_counts(gold: Sequence[bool], predicted: Sequence[bool]) -> Counts:
    if len(gold) != len(predicted):
        raise ValueError("gold and predicted differ in length")
    tp = sum(1 for g, p in zip(gold, predicted, strict=True) if g and p)
    fp = sum(1 for g, p in zip(gold, predicted, strict=True) if not g and p)
    fn = sum(1 for g, p in zip(gold, predicted, strict=True) if g and not p)
    return Counts(tp, fp, fn, len(gold) - tp - fp - fn)


def multilabel_counts(gold: Sequence[Iterable[str]], predicted: Sequence[Iterable[str]],
                      labels: Sequence[str]) -> dict[str, Counts]:
    """Per-label counts over items; labels predicted that are not in `labels` count as false
    positives of their own row, so an invented code is never silently dropped."""
    if len(gold) != len(predicted):
        raise ValueError("gold and predicted differ in length")
    pairs = [(set(g), set(p)) for g, p in zip(gold, predicted, strict=True)]
    rows = list(labels) + sorted({x for _, p in pairs for x in p} - set(labels))
    tally = {label: Counter[str]() for label in rows}
    for g, p in pairs:
        for label in rows:
            tally[label]["tp" if label in g and label in p else
                         "fp" if label in p else "fn" if label in g else "tn"] += 1
    return {label: Counts(c["tp"], c["fp"], c["fn"], c["tn"]) for label, c in tally.items()}


def micro(per_label: dict[str, Counts]) -> Counts:
    total = Counts()
    for c in per_label.values():
        total = total + c
    return total


def macro_f1(per_label: dict[str, Counts]) -> float | None:
    """Mean F1 over the labels that occur in the gold labels (support > 0)."""
    scores = [c.f1 for c in per_label.values() if c.support > 0]
    present = [s for s in scores if s is not None]
    return sum(present) / len(present) if present else None


def accuracy(gold: Sequence[str], predicted: Sequence[str]) -> float | None:
    if len(gold) != len(predicted):
        raise ValueError("gold and predicted differ in length")
    if not gold:
        return None
    return sum(1 for g, p in zip(gold, predicted, strict=True) if g == p) / len(gold)


def confusion(gold: Sequence[str], predicted: Sequence[str],
              labels: Sequence[str]) -> dict[str, dict[str, int]]:
    """Rows are gold labels, columns predicted ones; a predicted code outside `labels` gets
    its own column."""
    if len(gold) != len(predicted):
        raise ValueError("gold and predicted differ in length")
    columns = list(labels) + sorted(set(predicted) - set(labels))
    matrix = {g: dict.fromkeys(columns, 0) for g in labels}
    for g, p in zip(gold, predicted, strict=True):
        matrix.setdefault(g, dict.fromkeys(columns, 0))[p] += 1
    return matrix
