"""Search across the cases a person may read, built in memory after they unlock, never
written anywhere (issue 3). Lowercased word prefixes; all query words must match.

What is searched (issue 15): each report's narrative, place, perpetrators, time words and
region (code and name), its case number (with or without its dash), and every note and
message on the case.

`SearchIndex` is the word index itself; `CaseIndex` is one person's: the word index and
what their list pages show of each case; `index_for` builds (or brings up to date) a
person's index from the cases they may read, decrypted with the keys they hold."""

from __future__ import annotations

import bisect
import re
import string
import unicodedata
from array import array
from collections.abc import Iterable, Mapping, Set
from typing import TYPE_CHECKING, Final

from node.backoffice import case_numbers
from node.backoffice.access import Action, require
from node.backoffice.case_listing import CaseFacts, facts_of

if TYPE_CHECKING:
    from crypto.keys import DataKey
    from node.accounts import UnlockedStaff
    from node.backoffice.cases import CaseReader
    from node.intake.service import ReportView

_WORD = re.compile(r"\w+", re.UNICODE)
# For ASCII text, NFKC changes nothing, casefold is lower() and \w is [A-Za-z0-9_]: mapping
# every other ASCII character to a space and splitting gives exactly the words the regex
# finds, about three times faster.
_ASCII_WORD = frozenset(string.ascii_letters + string.digits + "_")
_ASCII_SPLIT = str.maketrans({chr(c): " " for c in range(128) if chr(c) not in _ASCII_WORD})
_POSTING: Final = "I"  # document numbers: unsigned C ints (`array` and `memoryview` agree)


def words(text: str) -> list[str]:
    if text.isascii():
        return text.lower().translate(_ASCII_SPLIT).split()
    folded = unicodedata.normalize("NFKC", text).casefold()
    return _WORD.findall(folded)


class SearchIndex:
    """Postings from each word to the documents that contain it.

    Documents are numbered in the order they are added and a word's postings are those
    numbers packed as 4-byte integers: for 10,000 cases of about 1 KB this holds 8 MB
    instead of the 64 MB of a set of ids per word, and builds twice as fast
    (bench/bench_backoffice.py). Packed in `bytes`, not kept as `array`s: since Python 3.10
    an array is tracked by the cyclic garbage collector and bytes are not, and every full
    collection walked each signed-in person's tens of thousands of postings -- pauses of
    hundreds of milliseconds that were the slowest searches. A document's text is given
    once: `add` skips ids already indexed (a report's searchable text never changes after
    it is submitted)."""

    def __init__(self, documents: Iterable[tuple[str, str]] = ()) -> None:
        self._postings: dict[str, bytes] = {}
        self._numbers: dict[str, int] = {}
        self._ids: list[str] = []
        self._vocabulary: list[str] = []
        self.add(documents)

    @property
    def ids(self) -> Set[str]:
        """The documents in the index (a live view)."""
        return self._numbers.keys()

    def add(self, documents: Iterable[tuple[str, str]]) -> None:
        added: dict[str, array[int]] = {}
        for doc_id, text in documents:
            if doc_id in self._numbers:
                continue
            n = self._numbers[doc_id] = len(self._ids)
            self._ids.append(doc_id)
            for w in set(words(text)):
                found = added.get(w)
                if found is None:
                    added[w] = array(_POSTING, (n,))
                else:
                    found.append(n)
        postings = self._postings
        known = len(postings)
        for w, numbers in added.items():
            postings[w] = postings.get(w, b"") + numbers.tobytes()
        if len(postings) != known or not self._vocabulary:
            self._vocabulary = sorted(postings)

    def _prefix(self, prefix: str) -> set[int]:
        if len(prefix) < 3:  # a one- or two-letter prefix would match most of the index
            return set(_unpacked(self._postings.get(prefix, b"")))
        out: set[int] = set()
        i = bisect.bisect_left(self._vocabulary, prefix)
        while i < len(self._vocabulary) and self._vocabulary[i].startswith(prefix):
            out.update(_unpacked(self._postings[self._vocabulary[i]]))
            i += 1
        return out

    def search(self, query: str) -> set[str]:
        terms = words(query)
        if not terms:
            return set()
        result = self._prefix(terms[0])
        for term in terms[1:]:
            if not result:
                break
            result &= self._prefix(term)
        return {self._ids[n] for n in result}


def _unpacked(postings: bytes) -> memoryview:
    """A word's document numbers, read in place."""
    return memoryview(postings).cast(_POSTING)


class CaseIndex:
    """One person's index, in memory only: the words of the cases they may read (each
    report, and each note and message on it, a document of its own: they are written
    after the report, one at a time, and never change) and, for their list pages, what
    each case's row shows (`case_listing.CaseFacts`)."""

    def __init__(self) -> None:
        self.words = SearchIndex()
        self.facts: dict[str, CaseFacts] = {}
        # What the owner built this index from (`index_for`: the listing of documents it
        # holds, when known exactly), to tell cheaply that it is still up to date.
        self.source: str | None = None

    @property
    def ids(self) -> Set[str]:
        """The documents in the index: case ids and ``case/kind/entry`` (a live view)."""
        return self.words.ids

    def search(self, query: str) -> set[str]:
        """The cases whose report, notes or messages hold every word of `query` (as word
        prefixes), or whose case number `query` is, however it was written down."""
        found = {doc.partition("/")[0] for doc in self.words.search(query)}
        prefix = case_numbers.id_prefix(query)
        if prefix is not None:
            found.update(i for i in self.facts if i.startswith(prefix))
        return found


def index_for(cases: CaseReader, staff: UnlockedStaff, current: CaseIndex | None = None,
              region_names: Mapping[str, str] | None = None) -> CaseIndex:
    """An index of every case this person may read (built in memory, never stored).

    `current` is this person's index from before: only the cases, notes and messages it
    lacks are decrypted and added (none of them changes once written). If it holds
    something they may no longer read (deleted, unassigned), a new index is built from
    scratch, so that nothing of that case stays in it. `region_names` (code -> name, from
    `node.toml`) lets a region be found by its name as well as its code."""
    require(staff.member, Action.SEARCH)
    listing = cases.readable_listing(staff)
    if current is not None and current.source == listing:
        return current
    readable = set(listing.split())
    names = region_names or {}
    if current is not None and current.ids <= readable:
        index = current
        missing = readable - set(current.ids)
        missing_cases = {d for d in missing if "/" not in d}
        opened = cases.readable(staff, missing_cases | {d.partition("/")[0] for d in missing})
        new_cases = [(v, k) for v, k in opened if v.id in missing_cases]
        _add_cases(index, new_cases, names)
        index.words.add(cases.entry_texts({v.id: k for v, k in opened}, missing - missing_cases))
    else:
        index = CaseIndex()
        opened = cases.readable(staff)
        _add_cases(index, opened, names)
        index.words.add(cases.entry_texts({v.id: k for v, k in opened}))
    # Cases may have come or gone while they were read: `source` says the index holds
    # exactly `listing` only if it does.
    index.source = listing if index.ids == readable else None
    return index


def _add_cases(index: CaseIndex, opened: list[tuple[ReportView, DataKey]],
               region_names: Mapping[str, str]) -> None:
    docs = []
    for view, _ in opened:
        r = view.record
        number = case_numbers.number_of(view.id)
        region = r.get("region")
        text = " ".join(str(v) for v in (
            r.get("narrative"), r.get("place"), r.get("perpetrators"),
            r.get("incident_when"), region, region_names.get(region) if region else None,
            number, number.replace("-", "")) if v)
        docs.append((view.id, text))
        index.facts[view.id] = facts_of(r)
    index.words.add(docs)
