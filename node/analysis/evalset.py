"""The labelled evaluation set of incident descriptions (issue 17): loading, checks, splits.

The set is one JSON-lines file, `data/evalset.jsonl`, one item a line, described in
`data/DATACARD.md`. Every item belongs to a `group` (the source document, or for items the team
wrote, the scenario they were written from); the split is a function of the group alone, so
paragraphs of one report, or two phrasings of one scenario, never straddle splits.

The `test` split is for the final figures only: nothing may be tuned on it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from protocol.vocabulary import AFFILIATIONS, CATEGORIES

DATA_FILE = Path(__file__).resolve().parent / "data" / "evalset.jsonl"

SPLITS = ("train", "dev", "test")
# Share of groups per split, by the first 8 hex digits of SHA-256(group): fixed once, so that
# adding items later never moves an existing one to another split.
SPLIT_BOUNDS = ((0.6, "train"), (0.8, "dev"), (1.0, "test"))
LICENCES = ("un_verbatim", "team_paraphrase", "team_written")
REGISTERS = ("formal", "survivor")
REQUIRED = ("id", "group", "split", "text", "language", "is_crsv", "categories",
            "perpetrator_affiliation", "perpetrator_affiliations", "source", "licence",
            "register")


class EvalSetError(ValueError):
    """An item of the evaluation set breaks the format of the data card."""


@dataclass(frozen=True)
class Item:
    id: str
    group: str
    split: str
    text: str
    language: str
    is_crsv: bool
    categories: frozenset[str]
    perpetrator_affiliation: str
    perpetrator_affiliations: frozenset[str]
    source: str
    licence: str
    register: str
    extra: dict[str, Any] = field(default_factory=dict, compare=False)


def split_of(group: str) -> str:
    """The split a group belongs to: a fixed function of its name."""
    fraction = int(hashlib.sha256(group.encode("utf-8")).hexdigest()[:8], 16) / 0x1_0000_0000
    for bound, name in SPLIT_BOUNDS:
        if fraction < bound:
            return name
    return SPLIT_BOUNDS[-1][1]


def parse_item(raw: dict[str, Any], where: str) -> Item:
    """One item, checked against the data card's rules; EvalSetError says what is wrong."""
    missing = [k for k in REQUIRED if k not in raw]
    if missing:
        raise EvalSetError(f"{where}: missing {', '.join(missing)}")
    for key in ("id", "group", "text", "language", "source"):
        if not isinstance(raw[key], str) or not raw[key].strip():
            raise EvalSetError(f"{where}: {key} must be a non-empty string")
    if raw["split"] != split_of(raw["group"]):
        raise EvalSetError(f"{where}: split {raw['split']!r} but the rule gives "
                           f"{split_of(raw['group'])!r} for group {raw['group']!r}")
    if not isinstance(raw["is_crsv"], bool):
        raise EvalSetError(f"{where}: is_crsv must be true or false")
    cats = raw["categories"]
    if not isinstance(cats, list) or any(c not in CATEGORIES for c in cats) \
            or len(set(cats)) != len(cats):
        raise EvalSetError(f"{where}: categories must be distinct codes of {CATEGORIES}")
    if raw["is_crsv"] != bool(cats):
        raise EvalSetError(f"{where}: an item is CRSV exactly when it has a category")
    main = raw["perpetrator_affiliation"]
    affs = raw["perpetrator_affiliations"]
    if main not in AFFILIATIONS:
        raise EvalSetError(f"{where}: perpetrator_affiliation must be one of {AFFILIATIONS}")
    if not isinstance(affs, list) or not affs or any(a not in AFFILIATIONS for a in affs) \
            or len(set(affs)) != len(affs) or main not in affs:
        raise EvalSetError(f"{where}: perpetrator_affiliations must be distinct codes and "
                           "include the main affiliation")
    if raw["licence"] not in LICENCES:
        raise EvalSetError(f"{where}: licence must be one of {LICENCES}")
    if raw["register"] not in REGISTERS:
        raise EvalSetError(f"{where}: register must be one of {REGISTERS}")
    if raw["register"] == "survivor" and raw["licence"] != "team_written":
        raise EvalSetError(f"{where}: items in a survivor's register are written by the team")
    extra = {k: v for k, v in raw.items() if k not in REQUIRED}
    return Item(id=raw["id"], group=raw["group"], split=raw["split"], text=raw["text"],
                language=raw["language"], is_crsv=raw["is_crsv"], categories=frozenset(cats),
                perpetrator_affiliation=main, perpetrator_affiliations=frozenset(affs),
                source=raw["source"], licence=raw["licence"], register=raw["register"],
                extra=extra)


def read_lines(lines: Iterable[str], name: str = "evalset") -> Iterator[Item]:
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        where = f"{name}:{number}"
        try:
            raw = json.loads(line)
        except json.JSONDecodeError as exc:
            raise EvalSetError(f"{where}: not JSON ({exc.msg})") from None
        if not isinstance(raw, dict):
            raise EvalSetError(f"{where}: not a JSON object")
        yield parse_item(raw, where)


def load(path: Path = DATA_FILE, splits: Iterable[str] = SPLITS) -> list[Item]:
    """The items of the chosen splits, in file order; raises EvalSetError on a bad item or a
    duplicated id or text."""
    wanted = set(splits)
    unknown = wanted - set(SPLITS)
    if unknown:
        raise EvalSetError(f"unknown split(s) {sorted(unknown)}; known: {SPLITS}")
    with path.open(encoding="utf-8") as f:
        items = list(read_lines(f, path.name))
    seen_ids: set[str] = set()
    seen_texts: dict[str, str] = {}
    for item in items:
        if item.id in seen_ids:
            raise EvalSetError(f"duplicated id {item.id!r}")
        seen_ids.add(item.id)
        key = normalised_text(item.text)
        if key in seen_texts:
            raise EvalSetError(f"items {seen_texts[key]!r} and {item.id!r} have the same text")
        seen_texts[key] = item.id
    return [i for i in items if i.split in wanted]


def normalised_text(text: str) -> str:
    """Text compared for duplicates: case and spacing do not make two items different."""
    return " ".join(text.casefold().split())
