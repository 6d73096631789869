"""The evaluation harness of suggested codings (issue 17): any predictor against the set.

A predictor is a callable taking JSON-line records ``{"id", "text"}`` (with ``"language"`` only
when asked) and returning one suggestion per record, in order, in the contract of
``backup-node suggest-codings``: ``{"id", "language", "is_crsv", "categories",
"perpetrator_affiliation", "perpetrator_affiliations", "confidence", "evidence"}``. A command
reading those lines on stdin (the CLI itself) can be evaluated the same way with ``--command``.

    python -m node.analysis.evalrun --predictor node.analysis.keyword_baseline:predict --split dev
    python -m node.analysis.evalrun --command "backup-node suggest-codings" --split dev

Per-item errors are printed for `train` and `dev` with ``--errors``; for `test` only with
``--show-test-errors``, because reading test errors is how a test split gets tuned on.
"""

from __future__ import annotations

import argparse
import importlib
import json
import shlex
import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from node.analysis import evalmetrics as m
from node.analysis.evalset import SPLITS, Item, load
from protocol.vocabulary import AFFILIATIONS, CATEGORIES

Record = dict[str, str]
Predictor = Callable[[Sequence[Record]], Sequence[Mapping[str, Any]]]


class ContractError(ValueError):
    """A predictor's answer does not follow the suggest-codings contract."""


@dataclass(frozen=True)
class Prediction:
    is_crsv: bool
    categories: frozenset[str]
    affiliation: str
    language: str


def check_answer(record: Record, answer: Mapping[str, Any]) -> Prediction:
    """One answer, checked against the contract; ContractError says what is wrong."""
    where = f"answer for {record['id']!r}"
    if answer.get("id") != record["id"]:
        raise ContractError(f"{where}: id {answer.get('id')!r} (answers must be in input order)")
    if not isinstance(answer.get("is_crsv"), bool):
        raise ContractError(f"{where}: is_crsv must be true or false")
    cats = answer.get("categories")
    if not isinstance(cats, list) or not all(isinstance(c, str) for c in cats):
        raise ContractError(f"{where}: categories must be a list of codes")
    main = answer.get("perpetrator_affiliation")
    affs = answer.get("perpetrator_affiliations")
    if not isinstance(main, str) or not isinstance(affs, list):
        raise ContractError(f"{where}: perpetrator_affiliation(s) missing")
    if not isinstance(answer.get("confidence"), dict) \
            or not isinstance(answer.get("evidence"), list):
        raise ContractError(f"{where}: confidence must be an object and evidence a list")
    language = answer.get("language")
    if not isinstance(language, str):
        raise ContractError(f"{where}: language must be a string")
    return Prediction(answer["is_crsv"], frozenset(cats), main, language)


def records_of(items: Sequence[Item], with_language: bool) -> list[Record]:
    records = []
    for item in items:
        record = {"id": item.id, "text": item.text}
        if with_language:
            record["language"] = item.language
        records.append(record)
    return records


def run_predictor(predictor: Predictor, items: Sequence[Item],
                  with_language: bool = False) -> list[Prediction]:
    records = records_of(items, with_language)
    answers = list(predictor(records))
    if len(answers) != len(records):
        raise ContractError(f"{len(answers)} answers for {len(records)} records")
    return [check_answer(r, a) for r, a in zip(records, answers, strict=True)]


@dataclass
class Scores:
    n: int
    detection: m.Counts
    categories: dict[str, m.Counts]
    affiliation_n: int
    affiliation_accuracy: float | None
    affiliation_any_accuracy: float | None

    @property
    def micro(self) -> m.Counts:
        return m.micro(self.categories)

    @property
    def macro_f1(self) -> float | None:
        return m.macro_f1(self.categories)


def score(items: Sequence[Item], predictions: Sequence[Prediction]) -> Scores:
    detection = m.binary_counts([i.is_crsv for i in items], [p.is_crsv for p in predictions])
    categories = m.multilabel_counts([i.categories for i in items],
                                     [p.categories for p in predictions], CATEGORIES)
    # Affiliation is scored where it is a coding: on the items that describe CRSV.
    pos = [(i, p) for i, p in zip(items, predictions, strict=True) if i.is_crsv]
    acc = m.accuracy([i.perpetrator_affiliation for i, _ in pos],
                     [p.affiliation for _, p in pos])
    any_acc = (sum(1 for i, p in pos if p.affiliation in i.perpetrator_affiliations) / len(pos)
               if pos else None)
    return Scores(len(items), detection, categories, len(pos), acc, any_acc)


@dataclass
class Evaluation:
    split: str
    overall: Scores
    by_language: dict[str, Scores]
    by_register: dict[str, Scores]
    affiliation_confusion: dict[str, dict[str, int]]
    errors: list[str] = field(default_factory=list)


def evaluate(items: Sequence[Item], predictions: Sequence[Prediction], split: str) -> Evaluation:
    def subset(key: Callable[[Item], str]) -> dict[str, Scores]:
        groups: dict[str, list[int]] = {}
        for n, item in enumerate(items):
            groups.setdefault(key(item), []).append(n)
        return {k: score([items[n] for n in idx], [predictions[n] for n in idx])
                for k, idx in sorted(groups.items())}

    pos = [(i, p) for i, p in zip(items, predictions, strict=True) if i.is_crsv]
    confusion = m.confusion([i.perpetrator_affiliation for i, _ in pos],
                            [p.affiliation for _, p in pos], AFFILIATIONS)
    errors = []
    for item, p in zip(items, predictions, strict=True):
        wrong = []
        if p.is_crsv != item.is_crsv:
            wrong.append(f"is_crsv gold {item.is_crsv} predicted {p.is_crsv}")
        if p.categories != item.categories:
            wrong.append(f"categories gold {sorted(item.categories)} "
                         f"predicted {sorted(p.categories)}")
        if item.is_crsv and p.affiliation != item.perpetrator_affiliation:
            wrong.append(f"affiliation gold {item.perpetrator_affiliation} "
                         f"predicted {p.affiliation}")
        if wrong:
            errors.append(f"{item.id} [{item.language}] " + "; ".join(wrong))
    return Evaluation(split, score(items, predictions), subset(lambda i: i.language),
                      subset(lambda i: i.register), confusion, errors)


# ------------------------------------------------------------------ rendering

def fmt(x: float | None) -> str:
    return "n/a" if x is None else f"{x:.3f}"


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def summary_row(name: str, s: Scores) -> list[object]:
    d, mi = s.detection, s.micro
    return [name, s.n, s.detection.support, fmt(d.precision), fmt(d.recall), fmt(d.f1),
            fmt(mi.f1), fmt(s.macro_f1), s.affiliation_n, fmt(s.affiliation_accuracy)]


SUMMARY_HEADERS = ("Subset", "Items", "CRSV", "Detection P", "Detection R", "Detection F1",
                   "Categories micro-F1", "Categories macro-F1", "Affiliation items",
                   "Affiliation accuracy")


def render(ev: Evaluation, show_errors: bool = False) -> str:
    s = ev.overall
    out = [f"## Split {ev.split}: {s.n} items", "",
           table(SUMMARY_HEADERS, [summary_row("all", s)]
                 + [summary_row(f"language {k}", v) for k, v in ev.by_language.items()]
                 + [summary_row(f"register {k}", v) for k, v in ev.by_register.items()]),
           "", "### Categories", "",
           table(("Category", "Support", "TP", "FP", "FN", "Precision", "Recall", "F1"),
                 [[k, c.support, c.tp, c.fp, c.fn, fmt(c.precision), fmt(c.recall), fmt(c.f1)]
                  for k, c in s.categories.items()]
                 + [["micro", s.micro.support, s.micro.tp, s.micro.fp, s.micro.fn,
                     fmt(s.micro.precision), fmt(s.micro.recall), fmt(s.micro.f1)],
                    ["macro (categories with support)", "", "", "", "", "", "",
                     fmt(s.macro_f1)]]),
           "", "### Detection confusion (gold rows, predicted columns)", "",
           table(("gold \\ predicted", "CRSV", "not CRSV"),
                 [["CRSV", s.detection.tp, s.detection.fn],
                  ["not CRSV", s.detection.fp, s.detection.tn]]),
           "", "### Affiliation confusion on CRSV items (gold rows, predicted columns)", ""]
    columns = list(next(iter(ev.affiliation_confusion.values())).keys())
    out.append(table(["gold \\ predicted", *columns],
                     [[g, *row.values()] for g, row in ev.affiliation_confusion.items()
                      if any(row.values())]))
    out.append("")
    out.append(f"Affiliation accuracy (main = gold main): {fmt(s.affiliation_accuracy)}; "
               f"main among the gold affiliations: {fmt(s.affiliation_any_accuracy)}.")
    if show_errors:
        out += ["", f"### Errors ({len(ev.errors)})", ""] + [f"- {e}" for e in ev.errors]
    return "\n".join(out) + "\n"


# ------------------------------------------------------------------ predictors

def predictor_from_spec(spec: str) -> Predictor:
    """`package.module:callable`, imported."""
    module_name, _, attr = spec.partition(":")
    if not attr:
        raise ValueError("a predictor is given as package.module:callable")
    fn: Predictor = getattr(importlib.import_module(module_name), attr)
    return fn


def predictor_from_command(command: str, timeout_s: float = 3600) -> Predictor:
    """A command that reads JSON lines on stdin and writes one answer line per input line,
    such as `backup-node suggest-codings`."""
    def run(records: Sequence[Record]) -> list[dict[str, Any]]:
        stdin = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records)
        done = subprocess.run(shlex.split(command), input=stdin, capture_output=True,  # noqa: S603
                              text=True, check=True, timeout=timeout_s)
        return [json.loads(line) for line in done.stdout.splitlines() if line.strip()]
    return run


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m node.analysis.evalrun",
                                     description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    who = parser.add_mutually_exclusive_group()
    who.add_argument("--predictor", default="node.analysis.keyword_baseline:predict",
                     help="package.module:callable (default: the keyword baseline)")
    who.add_argument("--command", help="a command reading JSON lines on stdin")
    parser.add_argument("--split", choices=SPLITS, default="dev")
    parser.add_argument("--with-language", action="store_true",
                        help="pass each item's language to the predictor (default: text only)")
    parser.add_argument("--errors", action="store_true",
                        help="list the items the predictor got wrong (train and dev)")
    parser.add_argument("--show-test-errors", action="store_true",
                        help="list them for the test split too: never while tuning")
    args = parser.parse_args(argv)
    if args.errors and args.split == "test" and not args.show_test_errors:
        parser.error("per-item errors on the test split need --show-test-errors; reading them "
                     "is tuning on the test split")
    predictor = (predictor_from_command(args.command) if args.command
                 else predictor_from_spec(args.predictor))
    items = load(splits=[args.split])
    evaluation = evaluate(items, run_predictor(predictor, items, args.with_language), args.split)
    show = (args.errors and args.split != "test") or args.show_test_errors
    sys.stdout.write(render(evaluation, show_errors=show))
    return 0


if __name__ == "__main__":
    sys.exit(main())
