"""Coded incidents as numpy columns of value indices, with each report's contribution bounded.

Pure: no I/O, no randomness. `extract` reads the Python objects into arrays in a handful of
C-level passes (`operator.attrgetter`, `map` over dict lookups; no Python loop per row), and
`bound` is numpy only. On the 2-core test machine, a million incidents take about 2.5 s to
extract (memory-bound: each pass touches a million scattered objects) and about 0.15 s to
bound; BENCHMARKS.md (bench_statistics) has the figures.

Bounding contributions (the privacy unit is a report)
----------------------------------------------------
An incident may be linked to several reports (a survivor and a witness describing the same
event); it is still one record. Each report *vouches* for at most `k` of its linked incidents
in the release period -- the first `k` in a fixed order of incident ids (random, so the
choice is an unbiased sample and says nothing about the incidents) -- and an incident is
counted if at least one of its reports vouches for it.

Why this bounds the effect of one report by `k` records: the incidents a report vouches for
depend only on that report's own links and on the fixed order. Adding or removing a report R
leaves every other report's vouched set unchanged, so the only incidents whose inclusion can
change are the at most `k` that R vouches for (each changes by at most one record). Every
table gets one record per counted incident, so each table's histogram has L1 sensitivity `k`
(`d_in = k` under the symmetric distance).

What it does not cover:

* one survivor who makes several reports that are not linked to each other is several
  privacy units (the node cannot tell they are the same person); their loss is at most the
  number of such reports times the release's epsilon;
* consent wins over the bound: an incident counts only if *every* report linked to it
  consents to statistics (`CaseService.codings`), so a report without that consent removes
  all the incidents it shares with others, not only k of them. Incidents shared between
  reports are rare (an analyst links one event described by several people), but a report
  that withholds consent and is linked to more than k shared incidents of one period moves
  the histograms by more than the declared sensitivity.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from itertools import chain
from operator import attrgetter
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from node.statistics.plan import (
    FIXED_DOMAINS,
    UNKNOWN,
    Dimension,
    ReleasePeriod,
    TablePlan,
    domain,
    region_domain,
)

if TYPE_CHECKING:
    from node.backoffice.cases import IncidentRow

Index = npt.NDArray[np.int32]
NO_MONTH = -1
_CODING_FIELD: dict[Dimension, str] = {
    "category": "category",
    "region": "region",
    "perpetrator_affiliation": "perpetrator_affiliation",
    "survivor_sex": "survivor_sex",
    "survivor_age_group": "survivor_age_group",
    "context": "context",
}
_HEX = np.full(256, 255, dtype=np.uint8)
for _i, _c in enumerate(b"0123456789abcdef"):
    _HEX[_c] = _i


class _Lookup(dict[Any, int]):
    """value -> index; anything not in the domain (None, a removed region) -> "unknown"."""

    def __init__(self, values: Sequence[str], fallback: int) -> None:
        super().__init__((v, i) for i, v in enumerate(values))
        self.fallback = fallback
        if fallback >= 0:
            self[None] = fallback  # the common miss, answered without calling __missing__

    def __missing__(self, key: object) -> int:
        return self.fallback


class _MonthOf(dict[Any, int]):
    """date -> year * 12 + month - 1 (None -> NO_MONTH), memoised: dates repeat a lot."""

    def __missing__(self, day: date | None) -> int:
        value = NO_MONTH if day is None else day.year * 12 + day.month - 1
        self[day] = value
        return value


def month_ordinal(day: date) -> int:
    return day.year * 12 + day.month - 1


@dataclass(frozen=True)
class IncidentColumns:
    """The counted incidents of one period: one index array per dimension, same length."""

    period: ReleasePeriod
    domains: Mapping[Dimension, tuple[str, ...]]
    values: Mapping[Dimension, Index]
    in_period: int   # incidents dated in the period, before bounding
    counted: int     # after bounding: the records every table counts

    def cells(self, table: TablePlan) -> tuple[Index, int]:
        """Row-major cell index of every counted incident (last dimension fastest), and the
        number of cells."""
        index = np.zeros(self.counted, dtype=np.int32)
        size = 1
        for dim in table.dimensions:
            n = len(self.domains[dim])
            index *= n
            index += self.values[dim]
            size *= n
        return index, size


def ranks(ids: Sequence[str]) -> npt.NDArray[np.int64]:
    """The dense rank of each id in sorted order (equal ids, equal rank). Exact, and a
    function of the set of ids only, so it orders incidents the same way whatever else is
    in the data. Random hex ids (from `secrets`) are ranked as packed 64-bit words, fast;
    anything else as strings."""
    n = len(ids)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    width = len(ids[0])
    lengths = np.fromiter(map(len, ids), dtype=np.int64, count=n)
    if width and (lengths == width).all():
        raw = "".join(ids).encode("ascii", "replace")
        if len(raw) == n * width:
            nibbles = _HEX[np.frombuffer(raw, dtype=np.uint8).reshape(n, width)]
            if not (nibbles == 255).any():
                return _dense_rank(_pack(nibbles))
    inverse = np.unique(np.asarray(ids, dtype=str), return_inverse=True)[1]
    return np.asarray(inverse.reshape(-1), dtype=np.int64)


def _pack(nibbles: npt.NDArray[np.uint8]) -> list[npt.NDArray[np.uint64]]:
    """Hex digits (n, width) as big-endian 64-bit words, most significant first."""
    words = []
    for start in range(0, nibbles.shape[1], 16):
        word = np.zeros(nibbles.shape[0], dtype=np.uint64)
        for j in range(start, min(start + 16, nibbles.shape[1])):
            word = (word << np.uint64(4)) | nibbles[:, j].astype(np.uint64)
        words.append(word)
    return words


def _dense_rank(words: list[npt.NDArray[np.uint64]]) -> npt.NDArray[np.int64]:
    order = np.lexsort(words[::-1])  # lexsort's last key is the primary one
    new = np.zeros(len(order), dtype=bool)
    new[0] = True
    for word in words:
        w = word[order]
        new[1:] |= w[1:] != w[:-1]
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = np.cumsum(new) - 1
    return rank


def _group(links: list[str]) -> npt.NDArray[np.int64]:
    """A group number per link, equal exactly when the report ids are equal. Python's string
    hash groups fast; the grouping is then checked string by string, and a (vanishingly
    rare) hash collision falls back to exact ranks, so two reports are never merged."""
    hashes = np.fromiter(map(hash, links), dtype=np.int64, count=len(links))
    _, first, group = np.unique(hashes, return_index=True, return_inverse=True)
    group = group.reshape(-1)
    representative = first[group]
    repeated = np.flatnonzero(representative != np.arange(len(links)))
    others = representative[repeated]
    if any(links[i] != links[j] for i, j in zip(repeated.tolist(), others.tolist(),
                                                strict=True)):
        return ranks(links)
    return np.asarray(group, dtype=np.int64)


@dataclass(frozen=True)
class Links:
    """Which reports describe which incidents, as arrays (one entry per link)."""

    n: int                              # incidents
    incident: npt.NDArray[np.int64]     # per link: the incident's position
    report: npt.NDArray[np.int64]       # per link: equal exactly when the report is
    order: npt.NDArray[np.int64]        # per incident: rank of its id; read only for the
    #                                     incidents of reports with more than k links


def links_of(incident_ids: Sequence[str], report_ids: Sequence[Sequence[str]],
             k: int) -> Links:
    """The link arrays; incident ids are only read for reports with more than `k` links."""
    n = len(report_ids)
    lengths = np.fromiter(map(len, report_ids), dtype=np.int64, count=n)
    links = list(chain.from_iterable(report_ids))
    incident = np.repeat(np.arange(n, dtype=np.int64), lengths)
    report = _group(links) if links else np.zeros(0, dtype=np.int64)
    order = np.zeros(n, dtype=np.int64)
    heavy = np.bincount(report)[report] > k if links else np.zeros(0, dtype=bool)
    if heavy.any():
        wanted = np.unique(incident[heavy])
        order[wanted] = ranks([incident_ids[i] for i in wanted.tolist()])
    return Links(n, incident, report, order)


def vouch(links: Links, k: int) -> npt.NDArray[np.bool_]:
    """Which incidents at least one of their reports vouches for (module docstring): each
    report vouches for its first `k` incidents in the order of their ids; an incident with
    no report is never counted. numpy only."""
    counted = np.zeros(links.n, dtype=bool)
    if not len(links.report):
        return counted
    # a report with at most k links vouches for all of them
    heavy = np.bincount(links.report)[links.report] > k
    counted[links.incident[~heavy]] = True
    if heavy.any():
        h_incident = links.incident[heavy]
        h_report = links.report[heavy]
        # heavy reports' links grouped by report, each group in incident-id order
        order = np.lexsort((links.order[h_incident], h_report))
        reports = h_report[order]
        starts = np.ones(len(order), dtype=bool)
        starts[1:] = reports[1:] != reports[:-1]
        position = np.arange(len(order))
        rank = position - np.maximum.accumulate(np.where(starts, position, 0))
        counted[h_incident[order[rank < k]]] = True
    return counted


def vouched(incident_ids: Sequence[str], report_ids: Sequence[Sequence[str]],
            k: int) -> npt.NDArray[np.bool_]:
    return vouch(links_of(incident_ids, report_ids, k), k)


class _Ids(Sequence[str]):
    """Incident ids read lazily: only reports over the bound need them."""

    def __init__(self, rows: Sequence[IncidentRow]) -> None:
        self.rows = rows

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, i: int) -> str:  # type: ignore[override]
        return self.rows[i].id


def _months(values: Iterable[date | None], n: int) -> Index:
    lookup = _MonthOf()
    return np.fromiter(map(lookup.__getitem__, values), dtype=np.int32, count=n)


@dataclass(frozen=True)
class Extracted:
    """The incidents dated in a period, read out of their Python objects into arrays, before
    contributions are bounded. Everything after this is numpy (`bound`)."""

    period: ReleasePeriod
    domains: Mapping[Dimension, tuple[str, ...]]
    values: Mapping[Dimension, Index]
    links: Links
    contributions: int


def extract(rows: Sequence[IncidentRow], period: ReleasePeriod, region_codes: Sequence[str],
            contributions: int, dimensions: Sequence[Dimension]) -> Extracted:
    """Dates, periods, links and every dimension's value index of the rows in `period`."""
    domains = {d: domain(d, period, region_codes) for d in dimensions}
    first, last = period.month_ordinals
    codings = list(map(attrgetter("coding"), rows))
    month = _months(map(attrgetter("date_from"), codings), len(codings))
    undated = np.flatnonzero(month == NO_MONTH)
    if len(undated):
        month[undated] = _months([codings[i].date_to for i in undated.tolist()], len(undated))
    in_period = (month >= first) & (month <= last)
    if in_period.all():
        picked, picked_codings, picked_month = rows, codings, month
    else:
        selected = np.flatnonzero(in_period).tolist()
        picked = [rows[i] for i in selected]
        picked_codings = [codings[i] for i in selected]
        picked_month = month[in_period]
    links = links_of(_Ids(picked), list(map(attrgetter("report_ids"), picked)), contributions)
    values: dict[Dimension, Index] = {}
    for dim in dimensions:
        if dim == "month":
            values[dim] = (picked_month - first).astype(np.int32)
            continue
        values_of_dim = domains[dim]
        fallback = len(values_of_dim) - 1 if values_of_dim[-1] == UNKNOWN else -1
        lookup = _Lookup(values_of_dim, fallback)
        column = np.fromiter(
            map(lookup.__getitem__, map(attrgetter(_CODING_FIELD[dim]), picked_codings)),
            dtype=np.int32, count=len(picked_codings))
        if (column < 0).any():  # a value outside a closed list: the coding model changed
            raise ValueError(f"{dim}: a coded value is not in the plan's domain")
        values[dim] = column
    return Extracted(period, domains, values, links, contributions)


def bound(extracted: Extracted) -> IncidentColumns:
    """Keep the incidents some report vouches for: the records every table counts."""
    counted = vouch(extracted.links, extracted.contributions)
    values = {d: np.ascontiguousarray(v[counted]) for d, v in extracted.values.items()}
    return IncidentColumns(extracted.period, extracted.domains, values, extracted.links.n,
                           int(counted.sum()))


def encode(rows: Sequence[IncidentRow], period: ReleasePeriod, region_codes: Sequence[str],
           contributions: int, dimensions: Sequence[Dimension]) -> IncidentColumns:
    """Columns of the incidents dated in `period` that are counted after bounding."""
    return bound(extract(rows, period, region_codes, contributions, dimensions))


__all__ = ["FIXED_DOMAINS", "Extracted", "IncidentColumns", "Links", "bound", "encode",
           "extract", "links_of", "month_ordinal", "ranks", "region_domain", "vouch", "vouched"]
