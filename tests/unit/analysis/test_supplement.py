"""The team-written training supplement and the shipped model (issue 17)."""

from __future__ import annotations

import json

import numpy as np

from node.analysis import shipped_model, suggest
from node.analysis.evalset import load, normalised_text
from node.analysis.model import Model
from protocol.vocabulary import CATEGORIES


def test_supplement_lines_follow_the_format() -> None:
    lines = shipped_model.SUPPLEMENT.read_text(encoding="utf-8").splitlines()
    for number, line in enumerate(lines, start=1):
        raw = json.loads(line)
        assert set(raw) == {"language", "register", "is_crsv", "categories", "text"}, number
        assert set(raw["categories"]) <= set(CATEGORIES), number
        assert bool(raw["categories"]) == raw["is_crsv"], number
        assert raw["register"] in ("formal", "survivor"), number
    assert len(shipped_model.supplement_examples()) == len(lines)


def test_supplement_is_not_derived_from_dev_or_test() -> None:
    # Character 5-gram Jaccard similarity, as for the splits of the evaluation set: no item of
    # the supplement is a copy or paraphrase of an item the model is measured on.
    def shingles(text: str) -> set[str]:
        t = normalised_text(text)
        return {t[i:i + 5] for i in range(len(t) - 4)}

    held_out = [shingles(i.text) for i in load(splits=["dev", "test"])]
    for example in shipped_model.supplement_examples():
        mine = shingles(example.text)
        for other in held_out:
            assert len(mine & other) / len(mine | other) < 0.5, example.text


def test_the_shipped_model_is_what_the_committed_files_train() -> None:
    # reproducible: `python -m node.analysis.shipped_model` rebuilds the committed bytes
    # (weights compared to float16 precision, so another CPU's last bits do not matter)
    rebuilt = Model.from_bytes(shipped_model.build().to_bytes())
    shipped = suggest.shipped_model()
    assert rebuilt.labels == shipped.labels
    assert rebuilt.thresholds == shipped.thresholds
    assert np.allclose(rebuilt.weights, shipped.weights, atol=2e-3)
    assert np.allclose(rebuilt.bias, shipped.bias, atol=1e-3)
