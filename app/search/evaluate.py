"""Evaluating a parsed query over one state of the index, with arrays.

Whoosh matches and scores documents one at a time in Python: a common word's twenty
thousand postings cost tens of milliseconds in every search that names it. Here a term's
postings are read once per state of the index into two arrays (document numbers and their
BM25F scores, computed as Whoosh computes them) and kept in a cache bounded in bytes; a
query's boolean structure is then worked out with whole-array operations over every
document at once, which costs microseconds. Phrases are checked against word positions
only in the documents that hold all their words. A query type not handled here falls back
to Whoosh's own matching, unscored.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from functools import reduce
from typing import NamedTuple

import numpy as np
from whoosh.query import (
    And,
    AndMaybe,
    AndNot,
    Every,
    Not,
    NullQuery,
    Or,
    Phrase,
    Query,
    Require,
    Term,
)
from whoosh.searching import Searcher

#: Whoosh's BM25F defaults (``whoosh.scoring.BM25F``): the ranking stays the one Whoosh
#: would give.
K1 = 1.2
B = 0.75
#: Bytes of per-term arrays kept per state of the index (a term costs 8 bytes a posting:
#: the commonest words of a 33,000-message archive take about 160 KB each).
CACHE_BYTES = 64 * 1024 * 1024


class Postings(NamedTuple):
    """The documents holding a term (or phrase), ascending, with the score each gets."""

    docs: np.ndarray  # int32
    scores: np.ndarray  # float32

    @property
    def nbytes(self) -> int:
        return int(self.docs.nbytes + self.scores.nbytes)


@dataclass(frozen=True)
class Matches:
    """A query's result over every document of the index: whether each matched, and its
    score (0 where it did not)."""

    found: np.ndarray  # bool, one per document
    score: np.ndarray  # float32, one per document


class Evaluator:
    """Evaluates queries against one searcher (one state of the index), caching postings."""

    def __init__(self, searcher: Searcher, budget: int = CACHE_BYTES) -> None:
        self.searcher = searcher
        self.reader = searcher.reader()
        self.size = self.reader.doc_count_all()
        self.budget = budget
        self.live = np.zeros(self.size, dtype=bool)
        self.live[np.fromiter(self.reader.all_doc_ids(), dtype=np.int64)] = True
        self._lengths: dict[str, np.ndarray] = {}
        self._cache: OrderedDict[tuple[object, ...], Postings] = OrderedDict()
        self._cached_bytes = 0

    def matches(self, query: Query) -> Matches:
        """Which documents `query` matches, and their scores. Deleted documents never match."""
        if isinstance(query, Term):
            return self._dense(self.term(query.fieldname, query.text), query.boost)
        if isinstance(query, Phrase):
            return self._dense(self.phrase(query.fieldname, query.words, query.slop), query.boost)
        if query is NullQuery:
            return self._dense(self._empty(), 1.0)
        if isinstance(query, Every):
            return Matches(self.live.copy(), np.zeros(self.size, dtype=np.float32))
        if isinstance(query, Not):  # Whoosh scores what a negation lets through as 1
            found = self.live & ~self.matches(query.query).found
            return Matches(found, np.where(found, np.float32(query.boost), np.float32(0)))
        if isinstance(query, And):
            parts = [self.matches(q) for q in query.subqueries]
            found = reduce(np.logical_and, (p.found for p in parts), self.live)
            score = sum(p.score for p in parts) * np.float32(query.boost)
            return Matches(found, np.where(found, score, np.float32(0)))
        if isinstance(query, Or):
            parts = [self.matches(q) for q in query.subqueries]
            found = reduce(np.logical_or, (p.found for p in parts))
            return Matches(
                found, reduce(np.add, (p.score for p in parts)) * np.float32(query.boost)
            )
        if isinstance(query, AndNot):
            kept, dropped = self.matches(query.a), self.matches(query.b)
            found = kept.found & ~dropped.found
            return Matches(found, np.where(found, kept.score, np.float32(0)))
        if isinstance(query, Require):
            scored, required = self.matches(query.a), self.matches(query.b)
            found = scored.found & required.found
            return Matches(found, np.where(found, scored.score, np.float32(0)))
        if isinstance(query, AndMaybe):
            required, optional = self.matches(query.a), self.matches(query.b)
            extra = np.where(required.found, optional.score, np.float32(0))
            return Matches(required.found, required.score + extra)
        # Anything else (a numeric range, a phrase with another analyzer…): Whoosh finds it.
        found = np.zeros(self.size, dtype=bool)
        found[np.fromiter(self.searcher.docs_for_query(query), dtype=np.int64)] = True
        return Matches(found & self.live, np.zeros(self.size, dtype=np.float32))

    def _dense(self, postings: Postings, boost: float) -> Matches:
        found = np.zeros(self.size, dtype=bool)
        found[postings.docs] = True
        score = np.zeros(self.size, dtype=np.float32)
        score[postings.docs] = postings.scores * np.float32(boost)
        return Matches(found, score)

    def _empty(self) -> Postings:
        return Postings(np.zeros(0, dtype=np.int32), np.zeros(0, dtype=np.float32))

    def term(self, field: str, text: str | bytes) -> Postings:
        """A term's postings, read once per state of the index."""
        word = text.decode() if isinstance(text, bytes) else text
        return self._cached(("term", field, word), lambda: self._read_term(field, word))

    def phrase(self, field: str, words: list[str], slop: int) -> Postings:
        """The documents where `words` occur in order, each within `slop` positions of the
        one before; scored as the sum of their words' scores."""
        key = ("phrase", field, tuple(words), slop)
        return self._cached(key, lambda: self._read_phrase(field, list(words), slop))

    def _cached(self, key: tuple[object, ...], read: Callable[[], Postings]) -> Postings:
        found = self._cache.get(key)
        if found is not None:
            self._cache.move_to_end(key)
            return found
        found = read()
        self._cache[key] = found
        self._cached_bytes += found.nbytes
        while self._cached_bytes > self.budget and len(self._cache) > 1:
            _key, old = self._cache.popitem(last=False)
            self._cached_bytes -= old.nbytes
        return found

    def _read_term(self, field: str, word: str) -> Postings:
        if field not in self.searcher.schema:
            return self._empty()
        docs: list[int] = []
        weights: list[float] = []
        for leaf, offset in self.reader.leaf_readers():
            if (field, word) not in leaf:
                continue
            matcher = leaf.postings(field, word)  # leaves out deleted documents
            while matcher.is_active():
                docs.append(matcher.id() + offset)
                weights.append(matcher.weight())
                matcher.next()
        ids = np.array(docs, dtype=np.int32)
        tf = np.array(weights, dtype=np.float32)
        if not self.searcher.schema[field].scorable:  # names, keywords: Whoosh scores the weight
            return Postings(ids, tf)
        idf = np.float32(self.searcher.idf(field, word))
        average = np.float32(self.searcher.avg_field_length(field) or 1.0)
        length = self._field_lengths(field)[ids]
        scores = idf * (tf * (K1 + 1)) / (tf + K1 * ((1 - B) + B * length / average))
        return Postings(ids, scores.astype(np.float32))

    def _field_lengths(self, field: str) -> np.ndarray:
        """Every document's length in `field` (in words, as Whoosh stores it)."""
        lengths = self._lengths.get(field)
        if lengths is None:
            lengths = np.fromiter(
                (
                    leaf.doc_field_length(docnum, field)
                    for leaf, _offset in self.reader.leaf_readers()
                    for docnum in range(leaf.doc_count_all())
                ),
                dtype=np.float32,
                count=self.size,
            )
            self._lengths[field] = lengths
        return lengths

    def _read_phrase(self, field: str, words: list[str], slop: int) -> Postings:
        parts = [self.term(field, word) for word in words]
        candidates = reduce(np.intersect1d, (p.docs for p in parts))
        kept: list[int] = []
        for leaf, offset in self.reader.leaf_readers():
            inside = (candidates >= offset) & (candidates < offset + leaf.doc_count_all())
            local = candidates[inside]
            if not local.size:
                continue
            matchers = [leaf.postings(field, word) for word in words]
            for docnum in (local - offset).tolist():
                positions = []
                for matcher in matchers:
                    matcher.skip_to(docnum)
                    positions.append(matcher.value_as("positions"))
                if in_sequence(positions, slop):
                    kept.append(docnum + offset)
        docs = np.array(kept, dtype=np.int32)
        scores = sum(p.scores[np.searchsorted(p.docs, docs)] for p in parts)
        return Postings(docs, np.asarray(scores, dtype=np.float32))


def in_sequence(positions: list[list[int]], slop: int) -> bool:
    """Whether some chain takes one position from each list in order, each at most `slop`
    after the one before (slop 1: consecutive words)."""
    ends = set(positions[0])
    for following in positions[1:]:
        ends = {p for p in following if any(p - gap in ends for gap in range(1, slop + 1))}
        if not ends:
            return False
    return True
