"""Search across the cases a person may read, built in memory after they unlock, never
written anywhere (issue 3). Lowercased word prefixes; all query words must match."""

from __future__ import annotations

import bisect
import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable

_WORD = re.compile(r"\w+", re.UNICODE)


def words(text: str) -> list[str]:
    folded = unicodedata.normalize("NFKC", text).casefold()
    return _WORD.findall(folded)


class SearchIndex:
    def __init__(self, documents: Iterable[tuple[str, str]], generation: int = 0) -> None:
        postings: dict[str, set[str]] = defaultdict(set)
        for doc_id, text in documents:
            for w in words(text):
                postings[w].add(doc_id)
        self._postings = dict(postings)
        self._vocabulary = sorted(self._postings)
        self.generation = generation

    def _prefix(self, prefix: str) -> set[str]:
        if len(prefix) < 3:  # a one- or two-letter prefix would match most of the index
            return set(self._postings.get(prefix, ()))
        out: set[str] = set()
        i = bisect.bisect_left(self._vocabulary, prefix)
        while i < len(self._vocabulary) and self._vocabulary[i].startswith(prefix):
            out |= self._postings[self._vocabulary[i]]
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
        return result
