"""Search across the cases a person may read, built in memory after they unlock, never
written anywhere (issue 3). Lowercased word prefixes; all query words must match.

`SearchIndex` is the index itself; `index_for` builds (or brings up to date) a person's
index from the cases they may read, decrypted with the keys they hold."""

from __future__ import annotations

import bisect
import re
import string
import unicodedata
from array import array
from collections.abc import Iterable, Set
from typing import TYPE_CHECKING

from node.backoffice.access import Action, require

if TYPE_CHECKING:
    from node.accounts import UnlockedStaff
    from node.backoffice.cases import CaseReader

_WORD = re.compile(r"\w+", re.UNICODE)
# For ASCII text, NFKC changes nothing, casefold is lower() and \w is [A-Za-z0-9_]: mapping
# every other ASCII character to a space and splitting gives exactly the words the regex
# finds, about three times faster.
_ASCII_WORD = frozenset(string.ascii_letters + string.digits + "_")
_ASCII_SPLIT = str.maketrans({chr(c): " " for c in range(128) if chr(c) not in _ASCII_WORD})


def words(text: str) -> list[str]:
    if text.isascii():
        return text.lower().translate(_ASCII_SPLIT).split()
    folded = unicodedata.normalize("NFKC", text).casefold()
    return _WORD.findall(folded)


class SearchIndex:
    """Postings from each word to the documents that contain it.

    Documents are numbered in the order they are added and postings are arrays of those
    numbers: for 10,000 cases of about 1 KB this holds 8 MB instead of the 64 MB of a set
    of ids per word, and builds twice as fast (bench/bench_backoffice.py). A document's
    text is given once: `add` skips ids already indexed (a report's searchable text never
    changes after it is submitted)."""

    def __init__(self, documents: Iterable[tuple[str, str]] = ()) -> None:
        self._postings: dict[str, array[int]] = {}
        self._numbers: dict[str, int] = {}
        self._ids: list[str] = []
        self._vocabulary: list[str] = []
        # What the owner built this index from (`index_for`: the list of case ids it
        # holds, when known exactly), to tell cheaply that it is still up to date.
        self.source: str | None = None
        self.add(documents)

    @property
    def ids(self) -> Set[str]:
        """The documents in the index (a live view)."""
        return self._numbers.keys()

    def add(self, documents: Iterable[tuple[str, str]]) -> None:
        postings = self._postings
        known = len(postings)
        for doc_id, text in documents:
            if doc_id in self._numbers:
                continue
            n = self._numbers[doc_id] = len(self._ids)
            self._ids.append(doc_id)
            for w in set(words(text)):
                found = postings.get(w)
                if found is None:
                    postings[w] = array("I", (n,))
                else:
                    found.append(n)
        if len(postings) != known or not self._vocabulary:
            self._vocabulary = sorted(postings)

    def _prefix(self, prefix: str) -> set[int]:
        if len(prefix) < 3:  # a one- or two-letter prefix would match most of the index
            return set(self._postings.get(prefix, ()))
        out: set[int] = set()
        i = bisect.bisect_left(self._vocabulary, prefix)
        while i < len(self._vocabulary) and self._vocabulary[i].startswith(prefix):
            out.update(self._postings[self._vocabulary[i]])
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


def index_for(cases: CaseReader, staff: UnlockedStaff, current: SearchIndex | None = None
              ) -> SearchIndex:
    """An index of every case this person may read (built in memory, never stored).

    `current` is this person's index from before: only the cases it lacks are
    decrypted and added (a report's searchable text never changes once submitted). If
    it holds a case they may no longer read (deleted, unassigned), a new index is built
    from scratch, so that nothing of that case stays in it."""
    require(staff.member, Action.SEARCH)
    listing = cases.readable_listing(staff)
    if current is not None and current.source == listing:
        return current
    readable = set(listing.split())
    if current is not None and current.ids <= readable:
        index = current
        index.add(_documents(cases, staff, readable - set(current.ids)))
    else:
        index = SearchIndex(_documents(cases, staff, None))
    # Cases may have come or gone while they were read: `source` says the index holds
    # exactly `listing` only if it does.
    index.source = listing if index.ids == readable else None
    return index


def _documents(cases: CaseReader, staff: UnlockedStaff, only: set[str] | None
               ) -> list[tuple[str, str]]:
    docs = []
    for entry in cases.readable(staff, only):
        r = entry.record
        text = " ".join(str(v) for v in (
            r.get("narrative"), r.get("place"), r.get("perpetrators"),
            r.get("incident_when"), r.get("region")) if v)
        docs.append((entry.id, text))
    return docs
