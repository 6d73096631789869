"""Suggested codings against the labelled evaluation set (issue 17): `make eval`.

Runs each predictor over the `dev` and `test` splits of `node/analysis/data/evalset.jsonl` and
reports the issue's figures beside its targets: the suggestion engine (`node.analysis.suggest`,
with the model that ships) beside the plain keyword list, the yardstick it must clearly beat.
It also times the engine: milliseconds per report, and retraining from 10,000 codings.
Only aggregate figures are written here: per-item test errors are never printed (reading them
is tuning on the test split).
"""

from __future__ import annotations

import json
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
LONG_REPORT_CHARS = 5_000  # a long testimony or a report's incident section
LONG_REPORTS_PER_LANGUAGE = 4
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
        "Round 3 (this section): the shipped model is trained on `train` AND `dev` and the "
        "team-written supplement (node/analysis/data/supplement.jsonl, now 713 lines in 25 "
        "languages), so the `dev` figures below are in-sample and say nothing about unseen "
        "text; `test` was run once, at the end of round 3, for these figures, and nothing was "
        "tuned on it in any round. Choices were made by group cross-validation over train + "
        "dev (`python -m node.analysis.crossval`; supplement always trained on): detection F1 "
        "0.959, categories micro-F1 0.891, macro-F1 0.867, affiliation 0.884; with one fold per "
        "language (that language's supplement lines left out too, `--by-language`): 0.936, "
        "0.862, 0.818. Both are optimistic: the lexicon was written by people who had read "
        "train and dev.",
        "Round 3, how generalisation was measured without `test`: three batches of new "
        "supplement lines (150, 79 and 67, many languages, both registers, hard negatives) "
        "were each scored by the engine BEFORE being trained on. On them the round-2 engine "
        "had detection F1 0.907, 0.844 and 0.746 (precision 0.93-1.0, recall 0.63-0.83: it "
        "missed reports told without the lexicon's words); the round-3 engine, measured on "
        "batches 2 and 3 before each was added, 0.894 and 0.811 (categories micro-F1 0.843 "
        "and 0.731, against 0.793 and 0.698). Adding batches 1-2 to training moved batch 3 "
        "from 0.865 to 0.883 and batch 1 moved batch 2 from 0.926 to 0.938 (same engine "
        "otherwise): more varied training text is the lever that carries to unseen phrasings.",
        "Round 3 changes: character n-grams also read an anyascii transliteration of non-Latin "
        "text (Cyrillic, Arabic, Amharic script meet the same words typed in Latin letters); a "
        "sentence whose perpetrator is the subject of an act (\"soldiers raped\") is a report "
        "even beside a topic word (\"survivors said...\"); a euphemism that fitted train "
        "items but is said of beatings too (\"could not walk\") was dropped; the detection "
        "threshold is 0.35 (flat 0.30-0.45 in cross-validation, better on the fresh batches "
        "where 0.45 lost recall); the categories keep 0.5.",
        "Earlier rounds: round 1 on `test` detection F1 0.866, micro-F1 0.667, macro-F1 0.614, "
        "affiliation 0.743; round 2 0.836, 0.653, 0.482, 0.743 (survivor-register detection "
        "0.700). On 70 `test` items a move is one to three items.",
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


def _long_report_times() -> list[float]:
    """Milliseconds per long report, sorted: the supplement's paragraphs of one language (the
    training text, not the scored splits) joined until a report is 5,000 characters long, in
    each of the eight main languages. Dates, places and counts are searched in all of it."""
    by_language: dict[str, list[str]] = {}
    for line in shipped_model.SUPPLEMENT.read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        by_language.setdefault(record["language"], []).append(record["text"])
    times = []
    for language in ("en", "fr", "es", "pt", "ar", "ru", "uk", "sw"):
        texts = iter(by_language.get(language, []))
        for _ in range(LONG_REPORTS_PER_LANGUAGE):
            parts: list[str] = []
            while sum(len(t) + 1 for t in parts) < LONG_REPORT_CHARS:
                nxt = next(texts, None)
                if nxt is None:
                    break
                parts.append(nxt)
            if not parts:
                break
            report = " ".join(parts)[:LONG_REPORT_CHARS]
            start = time.perf_counter()
            suggest.suggest(report)
            times.append((time.perf_counter() - start) * 1000)
    return sorted(times)


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
    long_times = _long_report_times()
    p95_long = long_times[min(len(long_times) - 1, int(0.95 * len(long_times)))]
    section.figures.append(Figure(
        f"Suggestion latency on long reports ({LONG_REPORT_CHARS:,} characters), p95 "
        f"({len(long_times)} reports)", f"{p95_long:.1f} ms", f"≤ {LATENCY_TARGET_MS:.0f} ms",
        p95_long <= LATENCY_TARGET_MS))
    # 10,000 codings drawn from the shipped training texts, each made distinct, stand in for a
    # node's confirmed codings (the node's own are never read by a benchmark).
    pool = shipped_model.training_examples()
    rng = random.Random(17)
    examples = [suggest_model.Example(f"{e.text} ({n})", e.is_crsv, e.categories, e.affiliation)
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
