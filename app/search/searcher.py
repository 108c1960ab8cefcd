"""The per-process view of the index: one searcher kept open and replaced only when the
index changes (new segments after an ingest batch, a new generation after a reindex),
instead of being reopened for every request.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from whoosh.qparser import MultifieldParser
from whoosh.searching import Searcher

from app.search.evaluate import Evaluator
from app.search.index_store import (
    IndexCorrupt,
    SearchIndexError,
    current_generation,
    open_generation,
)
from app.search.query import make_parser
from app.settings import SearchSettings


class Snapshot:
    """One consistent state of the index with what is derived from it: the parser (open
    date ranges end at the years it holds), the evaluator with its cached postings, the
    sortable fields as arrays for ordering, grouping and facets, and the documents hidden
    from each kind of reader."""

    def __init__(self, folder: Path, searcher: Searcher) -> None:
        self.folder = folder
        self.searcher = searcher
        self.evaluator = Evaluator(searcher)
        years = sorted(int(y) for y in searcher.reader().field_terms("year") if y.isdigit())
        now = datetime.now(UTC).year
        self.parser: MultifieldParser = make_parser(
            searcher.schema, (years[0], years[-1]) if years else (now, now)
        )
        self._codes: dict[str, tuple[np.ndarray, list[str]]] = {}
        self._timestamps: np.ndarray | None = None
        self._groups: np.ndarray | None = None
        self._masks: dict[tuple[frozenset[str], bool], np.ndarray] = {}

    def _column(self, field: str, default: Any, translate: bool = True) -> list[Any]:
        """The value of a sortable field for every document number (segment by segment, so
        a segment written without that column still lines up). Untranslated values are the
        stored bytes, read in half the time."""
        values: list[Any] = []
        for reader, _offset in self.searcher.reader().leaf_readers():
            count = reader.doc_count_all()
            if reader.has_column(field):
                segment = list(reader.column_reader(field, translate=translate))
                values.extend(segment[:count] + [default] * (count - len(segment)))
            else:
                values.extend([default] * count)
        return values

    def codes(self, field: str) -> tuple[np.ndarray, list[str]]:
        """A string field as a code per document and the value each code stands for."""
        found = self._codes.get(field)
        if found is None:
            numbering: dict[bytes, int] = {}
            codes = [
                numbering.setdefault(value, len(numbering))
                for value in self._column(field, b"", translate=False)
            ]
            found = (np.array(codes, dtype=np.int32), [value.decode() for value in numbering])
            self._codes[field] = found
        return found

    @property
    def timestamps(self) -> np.ndarray:
        """Each document's date, UTC seconds (0 when unknown)."""
        if self._timestamps is None:
            self._timestamps = np.array(self._column("ts", 0), dtype=np.int64)
        return self._timestamps

    @property
    def groups(self) -> np.ndarray:
        """Each document's thread as a number; a message without a thread is a group alone."""
        if self._groups is None:
            codes, labels = self.codes("thread")
            alone = codes == (labels.index("") if "" in labels else -1)
            self._groups = np.where(alone, np.arange(codes.size) + len(labels), codes)
        return self._groups

    def hidden_from(self, allowed_lists: set[str], include_hidden: bool) -> np.ndarray:
        """Documents this reader must not see (True): lists they may not read and, unless
        they may see them, hidden messages. Shared between searches: callers must not
        change it."""
        excluded = frozenset(set(self.searcher.reader().field_terms("list")) - allowed_lists)
        key = (excluded, include_hidden)
        masked = self._masks.get(key)
        if masked is None:
            masked = np.zeros(self.evaluator.size, dtype=bool)
            terms = [("list", name) for name in excluded]
            if not include_hidden:
                terms.append(("hidden", "yes"))
            for field, text in terms:
                masked[self.evaluator.term(field, text).docs] = True
            self._masks[key] = masked
        return masked


class SearchIndex:
    """The index a process searches. `public_lists` names the lists anonymous readers may
    see; it is asked on every search, so making a list private takes effect at once.
    `limits` bound what one search may cost."""

    def __init__(
        self,
        index_dir: Path,
        public_lists: Callable[[], set[str]],
        limits: SearchSettings | None = None,
    ) -> None:
        self.index_dir = index_dir
        self.public_lists = public_lists
        self.limits = limits or SearchSettings()
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
