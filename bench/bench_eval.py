"""Suggested codings against the labelled evaluation set (issue 17): `make eval`.

Runs each predictor over the `dev` and `test` splits of `node/analysis/data/evalset.jsonl` and
reports the issue's figures beside its targets: the suggestion engine (`node.analysis.suggest`,
with the model that ships) beside the plain keyword list, the yardstick it must clearly beat.
It also times the engine: milliseconds per report, and retraining from 10,000 codings.
Only aggregate figures are written here: per-item test errors are never printed (reading them
is tuning on the test split).
"""

from __future__ import annotations

import random
import statistics
import time
from collections import Counter
from pathlib import Path

from bench.report import Figure, Section, table
from node.analysis import adapted, evalrun, shipped_model, suggest
from node.analysis import model as suggest_model
from node.analysis.evalset import load

COMMAND = ".venv/bin/python -m bench.run --only eval  # or: make eval"

# (name, predictor spec): the callable gets records {"id", "text"} only, no language.
PREDICTORS = (("Suggestion engine", "node.analysis.suggest:predict"),
              ("Keyword baseline", "node.analysis.keyword_baseline:predict"))
LATENCY_TARGET_MS = 200.0
RETRAIN_EXAMPLES = 10_000
RETRAIN_TARGET_S = 60.0
SPLITS = ("dev", "test")

TARGETS = (  # (figure, target text, threshold): issue 17, on unseen real text
    ("CRSV detection F1", "≥ 0.95", 0.95),
    ("Categories micro-F1", "≥ 0.85", 0.85),
    ("Categories macro-F1", "≥ 0.75", 0.75),
    ("Affiliation accuracy", "≥ 0.8", 0.8),
)


def _values(s: evalrun.Scores) -> tuple[float | None, ...]:
    return (s.detection.f1, s.micro.f1, s.macro_f1, s.affiliation_accuracy)


def run(workdir: Path) -> Section:
    del workdir  # nothing written: the set is read in place
    section = Section(title="Suggested codings: the suggestion engine against the evaluation set "
                            "and the keyword baseline (issue 17)",
                      command=COMMAND)
    everything = load()
    counts = Counter((i.split, i.language, i.is_crsv) for i in everything)
    languages = sorted({i.language for i in everything})
    section.details.append((
        "The set (items per split and language: CRSV / not CRSV)",
        table(("Split", *languages, "All"),
              [(split, *(f"{counts[split, lang, True]} / {counts[split, lang, False]}"
                         for lang in languages),
                sum(counts[split, lang, c] for lang in languages for c in (True, False)))
               for split in ("train", "dev", "test")])))
    for name, spec in PREDICTORS:
        predictor = evalrun.predictor_from_spec(spec)
        for split in SPLITS:
            items = load(splits=[split])
            ev = evalrun.evaluate(items, evalrun.run_predictor(predictor, items), split)
            for (label, target, threshold), value in zip(TARGETS, _values(ev.overall),
                                                         strict=True):
                section.figures.append(Figure(
                    f"{name}, {split} ({ev.overall.n} items): {label}",
                    evalrun.fmt(value), target,
                    None if value is None else value >= threshold))
            for register, scores in ev.by_register.items():
                section.figures.append(Figure(
                    f"{name}, {split}: CRSV detection F1 on the {register} register "
                    f"({scores.n} items)", evalrun.fmt(scores.detection.f1)))
            section.details.append((
                f"{name}, {split}: overall, per language and per register",
                table(evalrun.SUMMARY_HEADERS,
                      [evalrun.summary_row("all", ev.overall)]
                      + [evalrun.summary_row(f"language {k}", v)
                         for k, v in ev.by_language.items()]
                      + [evalrun.summary_row(f"register {k}", v)
                         for k, v in ev.by_register.items()])))
            cats = ev.overall.categories
            section.details.append((
                f"{name}, {split}: per category",
                table(("Category", "Support", "TP", "FP", "FN", "Precision", "Recall", "F1"),
                      [(k, c.support, c.tp, c.fp, c.fn, evalrun.fmt(c.precision),
                        evalrun.fmt(c.recall), evalrun.fmt(c.f1)) for k, c in cats.items()])))
            d = ev.overall.detection
            conf = ev.affiliation_confusion
            columns = list(next(iter(conf.values())).keys())
            section.details.append((
                f"{name}, {split}: confusion matrices (gold rows, predicted columns)",
                table(("Detection", "CRSV", "not CRSV"),
                      [("CRSV", d.tp, d.fn), ("not CRSV", d.fp, d.tn)])
                + "\n\n"
                + table(("Affiliation (CRSV items)", *columns),
                        [(g, *row.values()) for g, row in conf.items() if any(row.values())])))
    _timings(section)
    section.notes += [
        "The quality figures do not depend on the machine or its load; the latency and "
        "retraining times do (`make eval` does not wait for a quiet machine: see the line "
        "under the title). Latency includes the entities (dates with dateparser, counts, "
        "groups, places); retraining runs in a spawned worker process, as on the node.",
        "The engine's model is trained on the `train` split and the team-written supplement "
        "(node/analysis/data/supplement.jsonl) only; its lexicon and thresholds were chosen on "
        "`dev` (so dev figures are optimistic); `test` was run once, for these figures. "
        "Five-fold cross-validation on `train` (by group) had estimated detection F1 0.930, "
        "categories micro-F1 0.881 and macro-F1 0.856: the gap to `test` measures how much the "
        "lexicon and the supplement were shaped by the `train` and `dev` items. The engine "
        "clearly beats the keyword list (most on the survivor register) but does not meet the "
        "issue's targets on `test`.",
        "Round 2 (word 1-2-grams beside character n-grams; 238 more team-written supplement "
        "items in 24 languages; prostitution and forced pregnancy imply rape): chosen on `dev` "
        "and train cross-validation pooled, where the word n-grams moved categories micro-F1 "
        "0.876 to 0.891 and the new supplement moved detection F1 0.951 to 0.942 (kept: "
        "varied text is the bet for unseen phrasings, which dev barely has). "
        "`test`, run once afterwards, fell: detection F1 0.866 to 0.836, "
        "micro-F1 0.667 to 0.653, macro-F1 0.614 to 0.482 (two forced-pregnancy and three "
        "enforced-prostitution items weigh a third of the macro mean), survivor-register "
        "detection 0.762 to 0.700. On 70 items these moves are one to three items each; they "
        "were not tuned back, since that would make `test` a second `dev`.",
        "The keyword baseline is the yardstick, not a candidate: the targets apply to the model "
        "issue 17 ships, measured on a held-out set of real incident descriptions; a FAIL here "
        "is the expected verdict for a keyword list.",
        "The set is deliberately hard for keyword lists: about one negative in six mentions "
        "sexual violence without describing an act (definitions, programmes, calls, denials), "
        "and the survivor-register items avoid legal words. See node/analysis/data/DATACARD.md.",
        "The keyword list was written first, then given two passes (plurals, stems, verb forms, "
        "nudity words, Arabic diacritics) after reading its errors on train and dev, never on "
        "test: a fair yardstick, not a straw man. On formal prose it is close to the 0.9 the "
        "issue expects of a keyword list; on the survivor register it finds almost nothing.",
        "Predictors get the text only, not the language; per-item errors: "
        "`python -m node.analysis.evalrun --split dev --errors` (never for test while tuning).",
    ]
    return section


def _timings(section: Section) -> None:
    """Milliseconds per report (one report at a time, language detected, as a caseworker's
    click) on every item of the set, and retraining from 10,000 codings."""
    items = load()
    suggest.suggest("warm-up: the model and the language identifier load once")
    times = []
    for item in items:
        start = time.perf_counter()
        suggest.suggest(item.text)
        times.append((time.perf_counter() - start) * 1000)
    times.sort()
    p50 = statistics.median(times)
    p95 = times[min(len(times) - 1, int(0.95 * len(times)))]
    section.figures.append(Figure(f"Suggestion latency, p50 ({len(times)} reports)",
                                  f"{p50:.1f} ms", f"≤ {LATENCY_TARGET_MS:.0f} ms",
                                  p50 <= LATENCY_TARGET_MS))
    section.figures.append(Figure(f"Suggestion latency, p95 ({len(times)} reports)",
                                  f"{p95:.1f} ms", f"≤ {LATENCY_TARGET_MS:.0f} ms",
                                  p95 <= LATENCY_TARGET_MS))
    # 10,000 codings drawn from the shipped training texts, each made distinct, stand in for a
    # node's confirmed codings (the node's own are never read by a benchmark).
    pool = shipped_model.training_examples()
    rng = random.Random(17)
    examples = [suggest_model.Example(f"{e.text} ({n})", e.is_crsv, e.categories)
                for n, e in enumerate(rng.choice(pool) for _ in range(RETRAIN_EXAMPLES))]
    # as the node retrains: in a spawned worker process (node/analysis/adapted.py), its start
    # and the examples' trip to it included
    start = time.perf_counter()
    retrained = suggest_model.Model.from_bytes(adapted.train_in_worker(examples))
    seconds = time.perf_counter() - start
    section.figures.append(Figure(f"Retraining from {RETRAIN_EXAMPLES:,} codings, in a worker "
                                  "process", f"{seconds:.1f} s",
                                  f"≤ {RETRAIN_TARGET_S:.0f} s", seconds <= RETRAIN_TARGET_S))
    size = len(suggest.MODEL_FILE.read_bytes())
    section.figures.append(Figure("Shipped model file (node/analysis/suggest_model.bin)",
                                  f"{size / 1024:.0f} KiB"))
    section.figures.append(Figure(f"Model retrained from {RETRAIN_EXAMPLES:,} codings, as bytes",
                                  f"{len(retrained.to_bytes()) / 1024:.0f} KiB"))
