"""Coded incidents as numpy columns of value indices, with each report's contribution bounded.

Pure: no I/O, no randomness. Two steps, both period- and plan-independent until the last:

* `coded` reads incident rows into `Coded` arrays: per incident the month of its date and,
  per coding field, a small integer code into that field's table of distinct values; per
  link, the report's number. It works chunk by chunk (`ChunkCoder`, a few C-level passes
  over a few thousand rows while they are in the CPU cache: `operator.attrgetter`, `map`
  over dict lookups, no Python loop per row). `open_codings` (node/backoffice/codings.py)
  runs the same coder on each chunk right after decrypting it, in its worker threads, and
  hands back a `CodedIncidents` list that carries the result, so the release reads no
  Python object again.
* `extract` then maps each table of distinct values onto the plan's fixed domain (a lookup
  per distinct value, not per row), selects the period, and `bound` applies the contribution
  bound (module section below); both are numpy only.

BENCHMARKS.md (bench_statistics) has the figures. On the 2-core test machine, the whole
release of a million incidents (five tables, OpenDP included) takes about half a second
from what `open_codings` returns, and about three seconds from a plain list of `IncidentRow`s,
nearly all of it spent reading a million scattered objects (memory-bound).

Bounding contributions (the privacy unit is a report)
----------------------------------------------------
`node.statistics.bounding` decides which incidents a release counts: each report vouches
for at most `k` of its dated incidents over its whole lifetime, on the full link graph
(consenting or not), and only then are the vouches of reports without statistics consent,
or past their lifetime loss, dropped. This module gives it the arrays (`Coded`, `Links`,
`vouched_links`) and turns its choice into columns (`select_columns`).

`extract` and `bound` are the older per-period reading (each report vouching for k
incidents of one period); they are kept for the pipeline benchmark's stages and for tests of
the vouching rule itself, never for a release.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from itertools import chain, islice
from operator import attrgetter
from typing import TYPE_CHECKING, Any, Self, SupportsIndex, overload

import numpy as np
import numpy.typing as npt

from node.statistics.plan import Regions, ReleasePeriod, TablePlan, domain, region_map
from protocol.statistics import Dimension
from protocol.vocabulary import UNKNOWN

if TYPE_CHECKING:
    from node.backoffice.codings import IncidentRow
    from node.backoffice.incidents import IncidentCoding

Index = npt.NDArray[np.int32]
NO_MONTH = -1
CHUNK = 4096  # rows per pass: a chunk's objects stay in the CPU cache across the passes
# The coding fields a dimension reads, in `Coded`'s order ("month" is read from the dates).
CODING_FIELDS: tuple[str, ...] = ("category", "region", "perpetrator_affiliation",
                                  "survivor_sex", "survivor_age_group", "context")
_CODING_FIELD: dict[Dimension, str] = {
    "category": "category",
    "region": "region",
    "perpetrator_affiliation": "perpetrator_affiliation",
    "survivor_sex": "survivor_sex",
    "survivor_age_group": "survivor_age_group",
    "context": "context",
}


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


class _Numbers(dict[Any, int]):
    """value -> its number, in order of first appearance: equal numbers exactly for equal
    values (dict equality; no hashing shortcut that could merge two values)."""

    def __missing__(self, key: object) -> int:
        number = self[key] = len(self)
        return number


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


# ---------------------------------------------------------------------- the fixed order

def _hex_bytes(ids: Sequence[str], width: int) -> bytes | None:
    """The ids as bytes if every one is `width` lowercase hex digits, else None."""
    joined = "".join(ids)
    if not width or width % 2 or len(joined) != len(ids) * width:
        return None
    if not (np.fromiter(map(len, ids), dtype=np.int64, count=len(ids)) == width).all():
        return None
    if not (joined.isascii() and joined == joined.lower()):
        return None
    try:
        raw = bytes.fromhex(joined)
    except ValueError:
        return None
    # fromhex skips whitespace, which would shorten the bytes: the length catches it
    return raw if len(raw) * 2 == len(joined) else None


def _rank_bytes(raw: bytes, size: int) -> npt.NDArray[np.int64]:
    """Dense ranks of fixed-size byte strings: they compare as their bytes, which is also
    the order of the lowercase hex strings they were read from."""
    keys = np.frombuffer(raw, dtype=f"S{size}")
    return np.asarray(np.unique(keys, return_inverse=True)[1].reshape(-1), dtype=np.int64)


def ranks(ids: Sequence[str]) -> npt.NDArray[np.int64]:
    """The dense rank of each id in sorted order (equal ids, equal rank). Exact, and a
    function of the set of ids only, so it orders incidents the same way whatever else is
    in the data. Random lowercase hex ids (from `secrets`) are ranked as their bytes
    (`bytes.fromhex`, sorted by numpy); anything else as Python strings."""
    n = len(ids)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    width = len(ids[0])
    raw = _hex_bytes(ids, width)
    if raw is not None:
        return _rank_bytes(raw, width // 2)
    # Python's own string order (numpy's str dtype would drop trailing NULs and merge ids)
    rank = {v: i for i, v in enumerate(sorted(set(ids)))}
    return np.fromiter(map(rank.__getitem__, ids), dtype=np.int64, count=n)


# ---------------------------------------------------------------------- rows -> arrays

@dataclass(frozen=True)
class CodedChunk:
    """Some codings' months and field codes (`ChunkCoder`); tables are chunk-local."""

    month: Index
    tables: tuple[tuple[Any, ...], ...]  # per CODING_FIELDS: the distinct values
    codes: tuple[Index, ...]             # per CODING_FIELDS, per coding: index in its table

    def __len__(self) -> int:
        return len(self.month)


class ChunkCoder:
    """Reads codings into a `CodedChunk`, one C-level pass per field. Thread-safe: the only
    shared state is a memo of months, whose entries never change once computed."""

    def __init__(self) -> None:
        self._months = _MonthOf()

    def _month_of(self, days: Iterable[date | None], n: int) -> Index:
        return np.fromiter(map(self._months.__getitem__, days), dtype=np.int32, count=n)

    def __call__(self, codings: Sequence[IncidentCoding]) -> CodedChunk:
        n = len(codings)
        month = self._month_of(map(attrgetter("month_from"), codings), n)
        undated = np.flatnonzero(month == NO_MONTH)
        if len(undated):
            month[undated] = self._month_of([codings[i].month_to for i in undated.tolist()],
                                            len(undated))
        tables, codes = [], []
        for field in CODING_FIELDS:
            numbers = _Numbers()
            codes.append(np.fromiter(map(numbers.__getitem__, map(attrgetter(field), codings)),
                                     dtype=np.int32, count=n))
            tables.append(tuple(numbers))
        return CodedChunk(month, tuple(tables), tuple(codes))


@dataclass(frozen=True)
class Coded:
    """Incidents as arrays, before any plan or period: everything `extract` reads."""

    ids: Sequence[str]                   # per incident (read only for reports over the bound)
    month: Index                         # per incident: month ordinal of date_from, else of
    #                                      date_to, else NO_MONTH
    tables: Mapping[str, tuple[Any, ...]]  # per coding field: its distinct values
    codes: Mapping[str, Index]           # per coding field, per incident: index in its table
    lengths: npt.NDArray[np.int64]       # per incident: how many reports it is linked to
    reports: npt.NDArray[np.int64]       # per link, incident by incident: the report's
    #                                      number, equal exactly when the report is (>= 0)
    report_ids: Sequence[str] | None = None  # per report number: its id, when known

    def __post_init__(self) -> None:
        n = len(self.month)
        if (len(self.ids) != n or len(self.lengths) != n
                or any(len(c) != n for c in self.codes.values())
                or int(self.lengths.sum()) != len(self.reports)
                or set(self.codes) != set(CODING_FIELDS) or set(self.tables) != set(CODING_FIELDS)
                or (self.report_ids is not None and len(self.reports)
                    and int(self.reports.max()) >= len(self.report_ids))):
            raise ValueError("coded incidents: inconsistent columns")

    def __len__(self) -> int:
        return len(self.month)

    @classmethod
    def join(cls, ids: Sequence[str], chunks: Sequence[CodedChunk],
             lengths: npt.NDArray[np.int64], reports: npt.NDArray[np.int64],
             report_ids: Sequence[str] | None = None) -> Coded:
        """Concatenate chunks, renumbering each chunk's codes into shared tables.
        `report_ids`, if given, names each report number (`reports` indexes it)."""
        month = (np.concatenate([c.month for c in chunks]) if chunks
                 else np.zeros(0, dtype=np.int32))
        tables: dict[str, tuple[Any, ...]] = {}
        codes: dict[str, Index] = {}
        for j, field in enumerate(CODING_FIELDS):
            numbers = _Numbers()
            parts = []
            for c in chunks:
                local = c.tables[j]
                renumber = np.fromiter(map(numbers.__getitem__, local), dtype=np.int32,
                                       count=len(local))
                parts.append(renumber[c.codes[j]])
            codes[field] = (np.concatenate(parts) if parts else np.zeros(0, dtype=np.int32))
            tables[field] = tuple(numbers)
        return cls(ids, month, tables, codes, lengths, reports, report_ids)


def coded(rows: Sequence[IncidentRow]) -> Coded:
    """Read incident rows into arrays (see the module docstring), a chunk of rows at a time
    while they are in the CPU cache. A `CodedIncidents` list from `open_codings`
    already carries them."""
    carried = rows.columns if isinstance(rows, CodedIncidents) else None
    if carried is not None:
        return carried
    coder = ChunkCoder()
    chunks: list[CodedChunk] = []
    ids: list[str] = []
    lengths: list[npt.NDArray[np.int64]] = []
    numbers = _Numbers()  # report id -> its number, in order of first appearance
    report_parts: list[npt.NDArray[np.int64]] = []
    remaining = iter(rows)
    while chunk := list(islice(remaining, CHUNK)):
        chunks.append(coder(list(map(attrgetter("coding"), chunk))))
        ids.extend(map(attrgetter("id"), chunk))
        report_ids = list(map(attrgetter("report_ids"), chunk))
        counts_of = np.fromiter(map(len, report_ids), dtype=np.int64, count=len(chunk))
        lengths.append(counts_of)
        report_parts.append(np.fromiter(map(numbers.__getitem__, chain.from_iterable(report_ids)),
                                        dtype=np.int64, count=int(counts_of.sum())))
    counts = np.concatenate(lengths) if lengths else np.zeros(0, dtype=np.int64)
    reports = (np.concatenate(report_parts) if report_parts else np.zeros(0, dtype=np.int64))
    return Coded.join(ids, chunks, counts, reports, tuple(numbers))


class CodedIncidents(list["IncidentRow"]):
    """A list of incident rows that also carries them as `Coded` arrays, read while they
    were decoded (`open_codings`). Any change to the list drops the arrays, so they
    can never disagree with the rows; `extract` then reads the rows themselves."""

    columns: Coded | None

    def __init__(self, rows: Iterable[IncidentRow] = (), columns: Coded | None = None) -> None:
        super().__init__(rows)
        self.columns = columns if columns is not None and self._matches(columns) else None

    def _matches(self, columns: Coded) -> bool:
        return len(columns) == len(self) and (
            not self or (columns.ids[0] == self[0].id and columns.ids[-1] == self[-1].id))

    def _changed(self) -> None:
        self.columns = None

    def __setitem__(self, *args: Any) -> None:
        self._changed()
        super().__setitem__(*args)

    def __delitem__(self, *args: Any) -> None:
        self._changed()
        super().__delitem__(*args)

    def __iadd__(self, other: Iterable[IncidentRow]) -> Self:  # type: ignore[override, misc]
        self._changed()
        return super().__iadd__(other)

    def __imul__(self, n: SupportsIndex) -> Self:
        self._changed()
        return super().__imul__(n)

    def append(self, row: IncidentRow) -> None:
        self._changed()
        super().append(row)

    def extend(self, rows: Iterable[IncidentRow]) -> None:
        self._changed()
        super().extend(rows)

    def insert(self, i: SupportsIndex, row: IncidentRow) -> None:
        self._changed()
        super().insert(i, row)

    def pop(self, i: SupportsIndex = -1) -> IncidentRow:
        self._changed()
        return super().pop(i)

    def remove(self, row: IncidentRow) -> None:
        self._changed()
        super().remove(row)

    def clear(self) -> None:
        self._changed()
        super().clear()

    def reverse(self) -> None:
        self._changed()
        super().reverse()

    def sort(self, *args: Any, **kwargs: Any) -> None:
        self._changed()
        super().sort(*args, **kwargs)


# ---------------------------------------------------------------------- links and bounding

@dataclass(frozen=True)
class Links:
    """Which reports describe which incidents, as arrays (one entry per link)."""

    n: int                              # incidents
    incident: npt.NDArray[np.int64]     # per link: the incident's position
    report: npt.NDArray[np.int64]       # per link: equal exactly when the report is
    order: npt.NDArray[np.int64]        # per incident: rank of its id; read only for the
    #                                     incidents of reports with more than k links


def link_arrays(ids: Sequence[str], lengths: npt.NDArray[np.int64],
                report: npt.NDArray[np.int64], k: int) -> Links:
    """`Links` from per-incident link counts and per-link report numbers (>= 0, equal
    exactly when the report is); incident ids are only read for reports with more than `k`
    links."""
    n = len(lengths)
    incident = np.repeat(np.arange(n, dtype=np.int64), lengths)
    order = np.zeros(n, dtype=np.int64)
    if len(report):
        heavy = np.bincount(report)[report] > k
        if heavy.any():
            wanted = np.zeros(n, dtype=bool)
            wanted[incident[heavy]] = True
            positions = np.flatnonzero(wanted)
            order[positions] = ranks(_take(ids, positions))
    return Links(n, incident, report, order)


def vouched_links(links: Links, k: int) -> npt.NDArray[np.bool_]:
    """Per link: whether its report vouches for its incident, i.e. the incident is among
    the report's first `k` in the order of their ids. numpy only."""
    vouched = np.ones(len(links.report), dtype=bool)
    if not len(links.report):
        return vouched
    # a report with at most k links vouches for all of them
    heavy = np.bincount(links.report)[links.report] > k
    if heavy.any():
        at = np.flatnonzero(heavy)
        h_incident = links.incident[at]
        h_report = links.report[at]
        # heavy reports' links grouped by report, each group in incident-id order
        order = np.lexsort((links.order[h_incident], h_report))
        reports = h_report[order]
        starts = np.ones(len(order), dtype=bool)
        starts[1:] = reports[1:] != reports[:-1]
        position = np.arange(len(order))
        rank = position - np.maximum.accumulate(np.where(starts, position, 0))
        vouched[at] = False
        vouched[at[order[rank < k]]] = True
    return vouched


def vouch(links: Links, k: int) -> npt.NDArray[np.bool_]:
    """Which incidents at least one of their reports vouches for (`vouched_links`); an
    incident with no report is never counted."""
    counted = np.zeros(links.n, dtype=bool)
    counted[links.incident[vouched_links(links, k)]] = True
    return counted


def _take(items: Sequence[str], positions: npt.NDArray[np.int64]) -> list[str]:
    """`[items[i] for i in positions]`, without a Python loop."""
    if isinstance(items, _Take):
        return items.take(positions)
    return list(map(items.__getitem__, positions.tolist()))


class _Take(Sequence[str]):
    """Some of a sequence's items, by position, without copying them."""

    def __init__(self, items: Sequence[str], positions: npt.NDArray[np.int64]) -> None:
        self.items = items
        self.positions = positions

    def __len__(self) -> int:
        return len(self.positions)

    @overload
    def __getitem__(self, i: int) -> str: ...

    @overload
    def __getitem__(self, i: slice) -> Sequence[str]: ...

    def __getitem__(self, i: int | slice) -> str | Sequence[str]:
        if isinstance(i, slice):
            return [self.items[p] for p in self.positions[i].tolist()]
        return self.items[int(self.positions[i])]

    def __iter__(self) -> Iterator[str]:
        return map(self.items.__getitem__, self.positions.tolist())

    def take(self, positions: npt.NDArray[np.int64]) -> list[str]:
        return _take(self.items, self.positions[positions])


@dataclass(frozen=True)
class Extracted:
    """The incidents dated in a period, read out of their Python objects into arrays, before
    contributions are bounded. Everything after this is numpy (`bound`)."""

    period: ReleasePeriod
    domains: Mapping[Dimension, tuple[str, ...]]
    values: Mapping[Dimension, Index]
    links: Links
    contributions: int


def _region_lookup(values: tuple[str, ...], regions: Regions) -> _Lookup:
    """A node's own region code -> the index of the federation code it counts as in the
    region domain `values`; a code no longer configured (or none) -> "unknown"."""
    lookup = _Lookup((), len(values) - 1)
    index = {v: i for i, v in enumerate(values)}
    for own, counted in region_map(regions).items():
        lookup[own] = index[counted]
    return lookup


def extract(rows: Sequence[IncidentRow] | Coded, period: ReleasePeriod,
            region_codes: Regions, contributions: int,
            dimensions: Sequence[Dimension]) -> Extracted:
    """Dates, periods, links and every dimension's value index of the rows in `period`."""
    c = rows if isinstance(rows, Coded) else coded(rows)
    domains = {d: domain(d, period, region_codes) for d in dimensions}
    first, last = period.month_ordinals
    in_period = (c.month >= first) & (c.month <= last)
    if in_period.all():
        picked = None
        month, lengths, reports, ids = c.month, c.lengths, c.reports, c.ids
    else:
        picked = np.flatnonzero(in_period)
        month, lengths = c.month[picked], c.lengths[picked]
        reports = c.reports[np.repeat(in_period, c.lengths)]
        ids = _Take(c.ids, picked)
    links = link_arrays(ids, lengths, reports, contributions)
    values = _values(c, picked, month, domains, dimensions, first, region_codes)
    return Extracted(period, domains, values, links, contributions)


def _values(c: Coded, picked: npt.NDArray[np.int64] | None, month: Index,
            domains: Mapping[Dimension, tuple[str, ...]], dimensions: Sequence[Dimension],
            first: int, region_codes: Regions) -> dict[Dimension, Index]:
    """Each dimension's value index of the incidents at `picked` (None: all of them);
    `month` is already theirs; a region counts as the federation code it maps to."""
    values: dict[Dimension, Index] = {}
    for dim in dimensions:
        if dim == "month":
            values[dim] = (month - first).astype(np.int32)
            continue
        values_of_dim = domains[dim]
        fallback = len(values_of_dim) - 1 if values_of_dim[-1] == UNKNOWN else -1
        lookup = (_region_lookup(values_of_dim, region_codes) if dim == "region"
                  else _Lookup(values_of_dim, fallback))
        field = _CODING_FIELD[dim]
        table = c.tables[field]
        # one lookup per distinct value, then numpy: the plan's index of every row's value
        index_of = np.fromiter(map(lookup.__getitem__, table), dtype=np.int32,
                               count=len(table))
        codes = c.codes[field] if picked is None else c.codes[field][picked]
        column = index_of[codes] if len(table) else np.zeros(0, dtype=np.int32)
        if (column < 0).any():  # a value outside a closed list: the coding model changed
            raise ValueError(f"{dim}: a coded value is not in the plan's domain")
        values[dim] = column
    return values


def select_columns(c: Coded, period: ReleasePeriod, region_codes: Regions,
                   dimensions: Sequence[Dimension], counted: npt.NDArray[np.bool_],
                   in_period: int) -> IncidentColumns:
    """The columns of the incidents `counted` marks (a mask over `c`'s incidents, chosen by
    `node.statistics.bounding`); `in_period` is how many incidents the period holds."""
    domains = {d: domain(d, period, region_codes) for d in dimensions}
    picked = np.flatnonzero(counted)
    values = _values(c, picked, c.month[picked], domains, dimensions,
                     period.month_ordinals[0], region_codes)
    return IncidentColumns(period, domains, values, in_period, len(picked))


def bound(extracted: Extracted) -> IncidentColumns:
    """Keep the incidents some report vouches for: the records every table counts."""
    counted = vouch(extracted.links, extracted.contributions)
    values = {d: np.ascontiguousarray(v[counted]) for d, v in extracted.values.items()}
    return IncidentColumns(extracted.period, extracted.domains, values, extracted.links.n,
                           int(counted.sum()))


def encode(rows: Sequence[IncidentRow] | Coded, period: ReleasePeriod,
           region_codes: Regions, contributions: int,
           dimensions: Sequence[Dimension]) -> IncidentColumns:
    """Columns of the incidents dated in `period` that are counted when every report
    consents and none has spent anything yet: each report vouches for its first
    `contributions` dated incidents over its lifetime (`node.statistics.bounding`)."""
    from node.statistics.bounding import select  # the bounding module reads this one's arrays

    c = rows if isinstance(rows, Coded) else coded(rows)
    chosen = select(c, period, contributions, None)
    return select_columns(c, period, region_codes, dimensions, chosen.counted,
                          chosen.in_period)


__all__ = ["CHUNK", "CODING_FIELDS", "ChunkCoder", "Coded", "CodedChunk", "CodedIncidents",
           "Extracted", "IncidentColumns", "Links", "bound", "coded", "encode", "extract",
           "link_arrays", "ranks", "select_columns", "vouch", "vouched_links"]
