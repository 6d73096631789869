"""The trainable part of suggested codings (issue 17): features, `train(examples) -> Model`,
and the model as bytes.

Why this design:
- Features are hashed character n-grams (2 to 5, inside word boundaries) and word 1-2-grams
  of the normalised text, plus counts of the lexicon's concepts (an act, a negated act, an act
  in a sentence about programmes or risk, captivity, payment, pregnancy...). Character
  n-grams absorb spelling, inflection and code-switching in every script with no tokenizer
  or lemmatiser; word pairs see what one word cannot ("no one touched"); the concepts carry
  what the small labelled set cannot teach (the words of languages it barely has, and
  whether a mention is denied or is a topic). A linear model per decision (logistic
  regression, scikit-learn's liblinear) trains on ten thousand reports in seconds on two cores
  and answers in well under a millisecond.
- Hashing keeps no vocabulary: the model is a few arrays of weights indexed by hash bucket,
  with no n-gram text in it. It is still derived from the training texts (a bucket's weight
  moves with the reports that contain it), so the node's adapted model is encrypted at rest
  and erased by retraining: `train` is deterministic and starts from nothing, so a model
  retrained without a deleted report is exactly the model that report never touched.
- `Model.to_bytes()` / `Model.from_bytes()` are plain NumPy arrays in an .npz container (no
  pickle, so loading a model runs no code), ready to be encrypted under the node's analysis
  key by the caller.
"""

from __future__ import annotations

import concurrent.futures
import functools
import io
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
from anyascii import anyascii

if TYPE_CHECKING:
    from scipy import sparse  # type: ignore[import-untyped]

from node.analysis import affiliation, lexicon
from node.analysis.affiliation import AffiliationModel
from node.analysis.textnorm import Normalised, fold, normalise
from protocol.vocabulary import CATEGORIES

FORMAT = "backup-suggest-model/2"
N_FEATURES = 2 ** 18   # per kind of n-gram (characters, words)
NGRAMS = (2, 5)
WORD_NGRAMS = (1, 2)
WORD_WEIGHT = 0.7      # scale of the unit-length word n-gram vector (chosen on dev and train CV)
CONCEPT_WEIGHT = 2.0   # scale of a concept feature against the unit-length n-gram vector
C_DETECTION = 16.0     # inverse regularisation strengths, chosen by cross-validation on train
C_CATEGORY = 16.0
TRANSLITERATE = True   # character n-grams of a transliteration too (chosen by CV)
# liblinear's stopping tolerance: 1e-3 rather than scikit-learn's 1e-4 fits 10,000 codings in
# 60 % of the time (round 5; cross-validation over train + dev + supplement unchanged to the
# third decimal)
TOLERANCE = 1e-3
# The seven decisions' fits run in two processes side by side (a node's laptop has two cores)
# once there are this many examples. Processes, not threads: liblinear draws its coordinate
# order from the C library's one global rand(), so two fits in threads of one process would
# interleave their draws and the model would no longer be a function of its examples (which
# the erasure guarantee needs). Each process fits exactly as one fit alone: same weights.
FIT_PROCESSES = 2
PARALLEL_FROM = 2000



@functools.cache
def _vectorizers() -> tuple[Any, Any]:
    """The character and the word n-gram vectorizers. Made (and scikit-learn imported) at
    first use, not when a process that never suggests imports this module: every node
    process and command imports it, and scikit-learn takes about a second to import."""
    from sklearn.feature_extraction.text import (  # type: ignore[import-untyped]
        HashingVectorizer,
    )
    chars = HashingVectorizer(analyzer="char_wb", ngram_range=NGRAMS, n_features=N_FEATURES,
                              alternate_sign=False, norm="l2", lowercase=False)
    # Words and word pairs ("took turns", "no one touched"): what character n-grams inside
    # one word cannot see. Hashed too, so no vocabulary is kept.
    words = HashingVectorizer(analyzer="word", ngram_range=WORD_NGRAMS,
                              n_features=N_FEATURES, alternate_sign=False, norm="l2",
                              lowercase=False,
                              token_pattern=r"(?u)\b\w+\b")  # noqa: S106 -- a regex
    return chars, words

# Concept features: for each concept, clean hits, negated hits and hits in a topic sentence.
_FEATURE_CONCEPTS = lexicon.ACT_CONCEPTS + lexicon.CONTEXT_CONCEPTS
CONCEPT_FEATURES = (*(f"{c}:{kind}" for c in _FEATURE_CONCEPTS
                       for kind in ("clean", "negated", "topic")),
                    "any_act:clean", "any_act:negated", "any_act:topic", "first_person")


@dataclass(frozen=True)
class Example:
    """One coded text: from the shipped training files or a node's confirmed codings."""
    text: str
    is_crsv: bool
    categories: frozenset[str] = frozenset()
    affiliation: str | None = None  # the main perpetrator's code, when someone said it


def concept_vector(hits: Sequence[lexicon.Hit], norm_text: str) -> np.ndarray:
    counts = dict.fromkeys(CONCEPT_FEATURES, 0.0)
    for h in lexicon.without_inner_rape(hits):
        if h.concept not in _FEATURE_CONCEPTS:
            continue
        kind = "negated" if h.negated else "topic" if h.topic else "clean"
        counts[f"{h.concept}:{kind}"] += 1
        if h.concept in lexicon.ACT_CONCEPTS:
            counts[f"any_act:{kind}"] += 1
    counts["first_person"] = float(bool(lexicon.FIRST_PERSON.search(norm_text)))
    return np.array([math.log1p(v) for v in counts.values()], dtype=np.float64)


def _char_text(folded: str) -> str:
    """What the character n-grams read: the normalised text and, when it is not in Latin
    letters, its transliteration too, so that Arabic, Cyrillic or Amharic script and the same
    words typed in Latin letters ("el 3askar ightasabouha", "zgvaltuvaly") meet on n-grams."""
    if not TRANSLITERATE or folded.isascii():
        return folded
    return folded + " " + anyascii(folded).lower()


def features(texts: Sequence[str],
             hits: Sequence[Sequence[lexicon.Hit]] | None = None) -> sparse.csr_matrix:
    """The feature matrix of texts (hits may be passed when already found)."""
    folded = [fold(t) for t in texts]
    if hits is None:
        hits = [lexicon.find(normalise(t), t) for t in texts]
    from scipy import sparse
    chars, word_grams = _vectorizers()
    grams = chars.transform([_char_text(f) for f in folded])
    words = word_grams.transform(folded) * WORD_WEIGHT
    concepts = np.vstack([concept_vector(h, f) for h, f in zip(hits, folded, strict=True)]) \
        if texts else np.zeros((0, len(CONCEPT_FEATURES)))
    return sparse.hstack([grams, words, sparse.csr_matrix(concepts * CONCEPT_WEIGHT)],
                         format="csr")


@dataclass
class Model:
    """Weights of the detection decision and of each category, rows of one matrix."""
    labels: tuple[str, ...]          # "is_crsv", then category codes
    weights: np.ndarray              # (len(labels), n_features) float32
    bias: np.ndarray                 # (len(labels),) float64
    thresholds: dict[str, float] = field(default_factory=dict)
    meta: dict[str, object] = field(default_factory=dict)
    affiliation: AffiliationModel | None = None  # the main-affiliation arbiter (affiliation.py)

    _columns: np.ndarray | None = field(default=None, init=False, repr=False, compare=False)

    def probabilities(self, x: sparse.csr_matrix) -> np.ndarray:
        # the weights as one contiguous (n_features, labels) array, made once: a transposed
        # view would be copied on every call (2 MB per report)
        if self._columns is None:
            self._columns = np.ascontiguousarray(self.weights.T)
        scores = np.asarray(x @ self._columns) + self.bias
        return np.asarray(1.0 / (1.0 + np.exp(-scores)))

    def threshold(self, label: str) -> float:
        return self.thresholds.get(label, 0.5)

    def to_bytes(self) -> bytes:
        nz = np.flatnonzero(np.any(self.weights != 0, axis=0))
        header = {"format": FORMAT, "labels": list(self.labels), "thresholds": self.thresholds,
                  "n_features": int(self.weights.shape[1]), "meta": self.meta}
        buf = io.BytesIO()
        # the affiliation arbiter's own bytes (empty when the model has none)
        arbiter = (np.frombuffer(self.affiliation.to_bytes(), np.uint8)
                   if self.affiliation is not None else np.zeros(0, np.uint8))
        np.savez_compressed(buf, header=np.frombuffer(json.dumps(header).encode(), np.uint8),
                            columns=nz.astype(np.int32),
                            weights=self.weights[:, nz].astype(np.float16),
                            bias=self.bias, affiliation=arbiter)
        return buf.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> Model:
        with np.load(io.BytesIO(data), allow_pickle=False) as z:
            header = json.loads(bytes(z["header"]).decode())
            if header.get("format") != FORMAT:
                raise ValueError(f"not a suggestion model ({header.get('format')!r})")
            weights = np.zeros((len(header["labels"]), header["n_features"]), np.float32)
            weights[:, z["columns"]] = z["weights"].astype(np.float32)
            arbiter = (AffiliationModel.from_bytes(bytes(z["affiliation"]))
                       if "affiliation" in z.files and z["affiliation"].size else None)
            return cls(tuple(header["labels"]), weights, z["bias"].astype(np.float64),
                       {k: float(v) for k, v in header["thresholds"].items()},
                       header.get("meta", {}), arbiter)


def _fit(x: sparse.csr_matrix, y: np.ndarray, c: float) -> tuple[np.ndarray, float]:
    if y.min() == y.max():  # one class only: a constant answer, no weights
        return np.zeros(x.shape[1]), (8.0 if y[0] else -8.0)
    from sklearn.linear_model import LogisticRegression  # type: ignore[import-untyped]
    # the dual problem: far faster when features outnumber examples, as hashed n-grams do
    clf = LogisticRegression(C=c, solver="liblinear", dual=True, class_weight="balanced",
                             max_iter=1000, random_state=0, tol=TOLERANCE)
    clf.fit(x, y)
    return clf.coef_[0], float(clf.intercept_[0])


_shared_x: sparse.csr_matrix | None = None  # the feature matrix, in a fitting process


def _hold(x: sparse.csr_matrix) -> None:
    global _shared_x
    _shared_x = x


def _fit_held(job: tuple[np.ndarray, float]) -> tuple[np.ndarray, float]:
    assert _shared_x is not None
    return _fit(_shared_x, *job)


def _analyse_texts(texts: list[str]) -> tuple[list[list[lexicon.Hit]], sparse.csr_matrix]:
    hits = [lexicon.find(normalise(t), t) for t in texts]
    return hits, features(texts, hits)


def _analyse_all(texts: list[str], norms: list[Normalised]
                 ) -> tuple[list[list[lexicon.Hit]], sparse.csr_matrix]:
    """The lexicon's hits of every text and the feature matrix: in turn, or for many texts
    in `FIT_PROCESSES` spawned processes, a contiguous share each. Every row depends on its
    own text only (hashed n-grams, the text's concept counts), so the shares' rows stacked
    are the same matrix, and the hits the same hits in the same order."""
    if FIT_PROCESSES < 2 or len(texts) < PARALLEL_FROM:
        hits = [lexicon.find(n, t) for n, t in zip(norms, texts, strict=True)]
        return hits, features(texts, hits)
    import multiprocessing

    from scipy import sparse as sp
    size = -(-len(texts) // FIT_PROCESSES)
    shares = [texts[i:i + size] for i in range(0, len(texts), size)]
    with concurrent.futures.ProcessPoolExecutor(
            max_workers=FIT_PROCESSES, mp_context=multiprocessing.get_context("spawn")) as pool:
        parts = list(pool.map(_analyse_texts, shares))
    return ([h for share_hits, _ in parts for h in share_hits],
            sp.vstack([x for _, x in parts], format="csr"))


def _fit_all(x: sparse.csr_matrix, jobs: list[tuple[np.ndarray, float]]
             ) -> list[tuple[np.ndarray, float]]:
    """Each (labels, C) job fitted on x: in turn, or for a large x in `FIT_PROCESSES` spawned
    processes that receive x once (no copy of the caller's memory; nothing written to disk)."""
    if FIT_PROCESSES < 2 or x.shape[0] < PARALLEL_FROM:
        return [_fit(x, y, c) for y, c in jobs]
    import multiprocessing
    with concurrent.futures.ProcessPoolExecutor(
            max_workers=FIT_PROCESSES, mp_context=multiprocessing.get_context("spawn"),
            initializer=_hold, initargs=(x,)) as pool:
        return list(pool.map(_fit_held, jobs))


def train(examples: Sequence[Example], thresholds: dict[str, float] | None = None) -> Model:
    """A model trained from scratch on `examples` (deterministic: the same examples give the
    same model, and a report left out leaves nothing of itself behind)."""
    if not examples:
        raise ValueError("no examples to train on")
    norms = [normalise(e.text) for e in examples]
    hits, x = _analyse_all([e.text for e in examples], norms)
    labels = ("is_crsv", *CATEGORIES)
    jobs = [(np.array([e.is_crsv for e in examples], dtype=int), C_DETECTION)]
    jobs += [(np.array([label in e.categories for e in examples], dtype=int), C_CATEGORY)
             for label in CATEGORIES]
    fitted = _fit_all(x, jobs)
    rows = [w for w, _ in fitted]
    bias = [b for _, b in fitted]
    weights = np.vstack(rows).astype(np.float32)
    weights[np.abs(weights) < 1e-4] = 0.0  # what the float16 file would lose anyway
    return Model(labels, weights, np.array(bias), dict(thresholds or {}),
                 {"examples": len(examples), "positives": int(sum(e.is_crsv for e in examples))},
                 affiliation.train_examples(examples, hits, norms))
