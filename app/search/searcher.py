"""The per-process view of the index: one searcher kept open and replaced only when the
index changes (new segments after an ingest batch, a new generation after a reindex),
instead of being reopened for every request.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from whoosh.qparser import MultifieldParser
from whoosh.query import And, AndNot, Not, Or, Query, Term
from whoosh.searching import Searcher

from app.search.query import make_parser
from app.search.store import IndexCorrupt, SearchIndexError, current_generation, open_generation

#: Document sets of this many terms are kept per state of the index (each at most one int
#: per document: a few MB for the commonest words of a large archive).
TERM_CACHE = 512


class Snapshot:
    """One consistent state of the index with what is derived from it: the parser (open
    date ranges end at the years it holds), per-document columns for facets and grouping,
    and the documents masked for each kind of reader."""

    def __init__(self, folder: Path, searcher: Searcher) -> None:
        self.folder = folder
        self.searcher = searcher
        years = sorted(int(y) for y in searcher.reader().field_terms("year") if y.isdigit())
        now = datetime.now(UTC).year
        self.parser: MultifieldParser = make_parser(
            searcher.schema, (years[0], years[-1]) if years else (now, now)
        )
        self._columns: dict[str, list[Any]] = {}
        self._term_docs: OrderedDict[tuple[str, str], frozenset[int]] = OrderedDict()
        self._masks: dict[tuple[frozenset[str], bool], set[int]] = {}

    def column(self, field: str) -> list[Any]:
        """The value of a sortable field for every document number (segment by segment, so
        a segment written without that column still lines up)."""
        values = self._columns.get(field)
        if values is None:
            default = 0 if field == "ts" else ""  # never used while documents carry all
            values = []
            for reader, _offset in self.searcher.reader().leaf_readers():
                count = reader.doc_count_all()
                if reader.has_column(field):
                    segment = list(reader.column_reader(field))
                    values.extend(segment[:count] + [default] * (count - len(segment)))
                else:
                    values.extend([default] * count)
            self._columns[field] = values
        return values

    def docs(self, query: Query) -> set[int] | frozenset[int]:
        """The documents matching `query`, unscored. Boolean structure is worked out with
        set operations over per-term document sets (cached for this state of the index:
        common words recur across queries); Whoosh's union and intersection matchers step
        through postings one document at a time in Python, which costs far more."""
        if isinstance(query, Term):
            return self._docs_of_term(query.fieldname, query.text)
        if isinstance(query, Or):
            return set().union(*(self.docs(q) for q in query.subqueries))
        if isinstance(query, And):
            wanted = [q for q in query.subqueries if not isinstance(q, Not)]
            unwanted = [q.query for q in query.subqueries if isinstance(q, Not)]
            if wanted:
                found = set.intersection(*sorted((set(self.docs(q)) for q in wanted), key=len))
                return found.difference(*(self.docs(q) for q in unwanted))
        if isinstance(query, AndNot):
            return set(self.docs(query.a)) - self.docs(query.b)
        return set(self.searcher.docs_for_query(query))

    def _docs_of_term(self, field: str, text: str | bytes) -> frozenset[int]:
        key = (field, text.decode() if isinstance(text, bytes) else text)
        found = self._term_docs.get(key)
        if found is None:
            found = frozenset(self.searcher.docs_for_query(Term(*key)))
            self._term_docs[key] = found
            if len(self._term_docs) > TERM_CACHE:
                self._term_docs.popitem(last=False)
        else:
            self._term_docs.move_to_end(key)
        return found

    def mask(self, allowed_lists: set[str], include_hidden: bool) -> set[int]:
        """Documents this reader must not see: lists they may not read and, unless they may
        see them, hidden messages. Shared between searches: callers must not change it."""
        excluded = frozenset(set(self.searcher.reader().field_terms("list")) - allowed_lists)
        key = (excluded, include_hidden)
        masked = self._masks.get(key)
        if masked is None:
            terms = [Term("list", name) for name in excluded]
            if not include_hidden:
                terms.append(Term("hidden", "yes"))
            masked = {d for t in terms for d in self.searcher.docs_for_query(t)}
            self._masks[key] = masked
        return masked


class SearchIndex:
    """The index a process searches. `public_lists` names the lists anonymous readers may
    see; it is asked on every search, so making a list private takes effect at once."""

    def __init__(self, index_dir: Path, public_lists: Callable[[], set[str]]) -> None:
        self.index_dir = index_dir
        self.public_lists = public_lists
        self._lock = threading.Lock()
        self._snapshot: Snapshot | None = None

    @contextmanager
    def snapshot(self) -> Iterator[Snapshot]:
        """The newest state of the index, held for one search. Raises SearchIndexError
        (missing or corrupt index) with the command that fixes it."""
        with self._lock:
            yield self._refresh()

    def _refresh(self) -> Snapshot:
        folder = current_generation(self.index_dir)
        current = self._snapshot
        try:
            if current is not None and current.folder == folder and current.searcher.up_to_date():
                return current
            # Not Searcher.refresh(): it reuses the readers of segments whose names did not
            # change, with their old deletion sets, so replaced documents would show twice.
            fresh = Snapshot(folder, open_generation(folder).searcher())
        except SearchIndexError:
            raise
        except Exception as exc:  # Whoosh reports damaged files with many exception types
            raise IndexCorrupt(
                f"the search index in {folder} cannot be read ({type(exc).__name__}: {exc}):"
                " run `quorum reindex` to rebuild it from the database"
            ) from exc
        if current is not None:
            current.searcher.close()  # searches hold the lock: none is using it any more
        self._snapshot = fresh
        return fresh
