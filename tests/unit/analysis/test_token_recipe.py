"""The token recipe on a cited name list (issue 18): the same person matches across scripts
and spellings, different people do not (true matches >= 95 %, false <= 1 %), measured on
tests/data/matching/perpetrators.json (see its DATACARD.md); and a common name alone is never
tokenised."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from node.matching.recipe import RANKS, Identifiers, split_aliases, token_inputs

DATA = Path(__file__).parents[2] / "data" / "matching" / "perpetrators.json"


def _records(person: dict[str, Any]) -> Iterator[Identifiers]:
    names, groups, units = person["names"], person["groups"], person["units"]
    for i in range(max(len(names), len(groups), len(units))):
        yield Identifiers(names=(names[i % len(names)],),
                          group=groups[i % len(groups)] if groups else None,
                          unit=units[i % len(units)] if units else None, rank=person["rank"])


def _rates(split: str | None) -> tuple[float, float, int, int]:
    persons = json.loads(DATA.read_text(encoding="utf-8"))["persons"]
    records = [(p["id"], set(token_inputs(r))) for p in persons
               if split is None or p["split"] == split for r in _records(p)]
    same = [bool(a[1] & b[1]) for a, b in itertools.combinations(records, 2) if a[0] == b[0]]
    other = [bool(a[1] & b[1]) for a, b in itertools.combinations(records, 2) if a[0] != b[0]]
    return sum(same) / len(same), sum(other) / len(other), len(same), len(other)


@pytest.mark.parametrize("split", ["tune", None])
def test_true_and_false_match_rates(split: str | None) -> None:
    true, false, n_same, n_other = _rates(split)
    assert n_same >= 100 and n_other >= 1000
    assert true >= 0.95, f"{split or 'all'}: true matches {true:.1%}"
    assert false <= 0.01, f"{split or 'all'}: false matches {false:.1%}"


def test_held_out_split() -> None:
    # Written after the normaliser and the recipe were frozen, measured once, never tuned on
    # (tests/data/matching/DATACARD.md): 95.4 % true (125 of 131 pairs; misses: Chadian
    # "Mahamat" for محمد, Issa / عيسى, Hassaniya "Lemine" for al-Amin, Tuareg "ag" in Arabic
    # script), 0 % false (0 of 4,334). This test keeps it from getting worse unnoticed.
    true, false, n_same, n_other = _rates("heldout")
    assert n_same >= 120 and n_other >= 4000
    assert true >= 0.95, f"held-out: true matches {true:.1%}"
    assert false <= 0.01, f"held-out: false matches {false:.1%}"


@pytest.mark.parametrize("name", ["Mohamed", "Muhammad Ali", "محمد علي", "Ali", "Hassan",
                                  "Abu Ali", "Олександр Коваленко"])
def test_a_name_alone_is_never_tokenised(name: str) -> None:
    assert token_inputs(Identifiers(names=(name,))) == []
    assert token_inputs(Identifiers(names=(name,), rank="commander")) == []


def test_kinds_never_collide_and_the_post_is_a_token() -> None:
    ids = Identifiers(names=("Tariq Mansour",), unit="34th Brigade", rank="colonel",
                      group="Jaysh al-Nasr")
    kinds = [k for k, _ in token_inputs(ids)]
    assert sorted(kinds) == ["name_group", "name_unit", "unit_rank"]
    assert len({i for _, i in token_inputs(ids)}) == 3
    same_post = Identifiers(names=("Someone Else",), unit="34e brigade", rank="colonel")
    assert set(token_inputs(ids)) & set(token_inputs(same_post))


def test_the_post_is_a_token_only_for_a_rank_that_commands_the_unit() -> None:
    # a battalion has many sergeants: two of them are two men, not one post
    def post(unit: str, rank: str) -> list[str]:
        return [k for k, _ in token_inputs(Identifiers(names=("Taras Shevchuk",), unit=unit,
                                                       rank=rank))]
    assert "unit_rank" not in post("12th Battalion", "sergeant")
    assert "unit_rank" not in post("3rd Company, 12th Battalion", "lieutenant")
    assert "unit_rank" in post("3rd Company, 12th Battalion", "captain")
    assert "unit_rank" in post("12th Battalion", "major")
    assert "unit_rank" in post("Sector 3", "commander")


def test_aliases_are_names_of_their_own() -> None:
    assert split_aliases(["Jean-Pierre Mugabo alias Tigre", "X dit Le Lion"]) == [
        "Jean-Pierre Mugabo", "Tigre", "X", "Le Lion"]


def test_a_rank_comes_from_the_closed_list() -> None:
    with pytest.raises(ValueError):
        Identifiers(names=("A B",), rank="warlord")


@given(st.lists(st.text(max_size=60), max_size=4), st.one_of(st.none(), st.text(max_size=60)),
       st.one_of(st.none(), st.text(max_size=60)), st.one_of(st.none(),
                                                            st.sampled_from(sorted(RANKS))))
def test_any_input_gives_inputs_or_nothing(names: list[str], unit: str | None,
                                           group: str | None, rank: str | None) -> None:
    out = token_inputs(Identifiers(names=tuple(names), unit=unit, group=group, rank=rank))
    assert len(out) == len(set(out))
    assert all(i.startswith(b"backup-perpetrator-token-v1\x00" + k.encode()) for k, i in out)
