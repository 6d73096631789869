"""The evaluation harness: any predictor, the suggest-codings contract, test-split errors."""

from __future__ import annotations

import sys

import pytest

from node.analysis import evalrun, keyword_baseline
from node.analysis.evalset import load


def perfect(records):
    by_id = {i.id: i for i in load()}
    out = []
    for r in records:
        item = by_id[r["id"]]
        out.append({"id": r["id"], "language": item.language, "is_crsv": item.is_crsv,
                    "categories": sorted(item.categories),
                    "perpetrator_affiliation": item.perpetrator_affiliation,
                    "perpetrator_affiliations": sorted(item.perpetrator_affiliations),
                    "confidence": {}, "evidence": []})
    return out


def test_a_perfect_predictor_scores_one_everywhere():
    items = load(splits=["dev"])
    ev = evalrun.evaluate(items, evalrun.run_predictor(perfect, items), "dev")
    assert ev.overall.detection.f1 == 1.0
    assert ev.overall.micro.f1 == 1.0 and ev.overall.macro_f1 == 1.0
    assert ev.overall.affiliation_accuracy == 1.0
    assert ev.errors == []


def test_the_predictor_gets_no_language_unless_asked():
    seen = []

    def spy(records):
        seen.extend(records)
        return keyword_baseline.predict(records)

    items = load(splits=["dev"])[:3]
    evalrun.run_predictor(spy, items)
    assert all(set(r) == {"id", "text"} for r in seen)
    seen.clear()
    evalrun.run_predictor(spy, items, with_language=True)
    assert all(r["language"] for r in seen)


@pytest.mark.parametrize("breakage, message", [
    (lambda a: {**a, "id": "other"}, "input order"),
    (lambda a: {**a, "is_crsv": "yes"}, "is_crsv"),
    (lambda a: {k: v for k, v in a.items() if k != "evidence"}, "evidence"),
    (lambda a: {**a, "categories": "rape"}, "categories"),
])
def test_an_answer_outside_the_contract_is_refused(breakage, message):
    items = load(splits=["dev"])[:2]

    def broken(records):
        return [breakage(a) for a in keyword_baseline.predict(records)]

    with pytest.raises(evalrun.ContractError, match=message):
        evalrun.run_predictor(broken, items)


def test_a_command_reading_json_lines_is_a_predictor():
    # The keyword baseline behind a small stdin/stdout loop stands for `suggest-codings`.
    script = ("import json,sys;from node.analysis.keyword_baseline import suggest;"
              "[print(json.dumps(suggest(json.loads(l)))) for l in sys.stdin if l.strip()]")
    command = f"{sys.executable} -c \"{script}\""
    items = load(splits=["dev"])[:5]
    via_command = evalrun.run_predictor(evalrun.predictor_from_command(command), items)
    in_process = evalrun.run_predictor(keyword_baseline.predict, items)
    assert via_command == in_process


def test_test_split_errors_are_not_printed_unless_asked(capsys):
    with pytest.raises(SystemExit):
        evalrun.main(["--split", "test", "--errors"])
    assert "--show-test-errors" in capsys.readouterr().err
    evalrun.main(["--split", "test"])
    out = capsys.readouterr().out
    assert "## Split test" in out and "### Errors" not in out
    evalrun.main(["--split", "dev", "--errors"])
    assert "### Errors" in capsys.readouterr().out


def test_the_keyword_baseline_finds_a_plain_report_and_ignores_a_killing():
    a, b = keyword_baseline.predict([
        {"id": "a", "text": "Soldiers raped two women at the checkpoint."},
        {"id": "b", "text": "Soldiers shot two men at the checkpoint."}])
    assert a["is_crsv"] and a["categories"] == ["rape"]
    assert a["perpetrator_affiliation"] == "state_forces"
    assert not b["is_crsv"] and b["categories"] == []
