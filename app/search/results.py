"""Running a search: the one function behind the search page, the API and the CLI.

The query is evaluated once over every document (``app.search.evaluate``: which matched,
and their scores); the exact total, the facets (counted over per-document columns), the
order (score, or date) and the grouping by thread all come from those arrays, and only the
hits of the page are read from the index for their stored fields and snippets.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass, field, replace
from typing import Any, Literal, get_args

import numpy as np
from markupsafe import Markup
from whoosh.lang.porter import stem
from whoosh.query import Query

from app.search.highlight import Highlighter
from app.search.index_store import SearchIndexError
from app.search.query import QueryError, bound_expansions, parse_query
from app.search.schema import DEFAULT_FIELDS
from app.search.searcher import SearchIndex, Snapshot

Sort = Literal["relevance", "newest", "oldest"]
SORTS: tuple[Sort, ...] = get_args(Sort)
TOP_SENDERS = 10
MAX_PER_PAGE = 100
_WORD = re.compile(r"(?<![\w:<@.-])([A-Za-z]{3,})(?![\w:*@>.])")
_OPERATORS = {"AND", "OR", "NOT", "ANDNOT", "ANDMAYBE", "REQUIRE"}


@dataclass(frozen=True)
class Hit:
    """One message found (or, grouped by thread, the best message of one thread)."""

    message_id: str
    pk: int
    thread_id: str  # the thread's key: the Message-ID of its root
    thread: int | None  # the thread's database id
    list: str
    date: str | None  # ISO 8601, UTC
    from_name: str
    subject: str
    snippet: Markup  # escaped HTML of the author's own text, matches in <mark>
    score: float | None  # None when sorted by date
    matches: int = 1  # grouped: how many messages of the thread matched
    stance: str | None = None
    vote: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "message_id": self.message_id,
            "thread_id": self.thread_id,
            "list": self.list,
            "date": self.date,
            "from": self.from_name,
            "subject": self.subject,
            "snippet": str(self.snippet),
            "score": self.score,
            "matches": self.matches,
            "stance": self.stance,
            "vote": self.vote,
        }


@dataclass(frozen=True)
class Facets:
    """Counts over every matching message (not only the page): value → count, the most
    frequent first (years in calendar order)."""

    lists: dict[str, int] = field(default_factory=dict)
    years: dict[str, int] = field(default_factory=dict)
    senders: dict[str, int] = field(default_factory=dict)
    stances: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class SearchResults:
    query: str
    total: int = 0  # messages, or threads when grouped
    hits: list[Hit] = field(default_factory=list)
    facets: Facets = field(default_factory=Facets)
    page: int = 1
    per_page: int = 20
    sort: str = "relevance"
    grouped: bool = False
    #: Why there are no results: a query to correct (``error_kind="query"``) or an index to
    #: rebuild (``"index"``). Always a sentence for the user, with an example or a command.
    error: str | None = None
    error_kind: Literal["query", "index"] | None = None
    #: A corrected query to offer ("did you mean …") when nothing matched.
    suggestion: str | None = None

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.per_page))

    @property
    def has_next(self) -> bool:
        return self.page < self.pages

    @property
    def has_previous(self) -> bool:
        return self.page > 1


def search(
    index: SearchIndex,
    query: str,
    *,
    page: int = 1,
    per_page: int = 20,
    sort: Sort = "relevance",
    group_by_thread: bool = False,
    visible_lists: set[str] | None = None,
    include_hidden: bool = False,
) -> SearchResults:
    """Search the archive as a given reader may see it.

    `query` uses the query language of ``app.search.query`` (README, "Search").
    `visible_lists` names the lists this reader may read; None means an anonymous reader,
    who sees the public lists only. Hidden messages are left out unless `include_hidden`
    (staff). Both are applied as filters on every query, whatever the index holds.
    `group_by_thread` returns one hit per thread (its best message) with the number of its
    messages that matched; `total` then counts threads. Hits are ranked by relevance, or
    by date (`sort="newest"`/`"oldest"`). Nothing raises for bad input or a bad index:
    ``error`` explains, ``suggestion`` offers a corrected query when nothing matched.
    """
    empty = blank(query, page, per_page, sort, group_by_thread)
    if sort not in SORTS:
        return failed(empty, f"sort must be one of {', '.join(SORTS)}", "query")
    allowed = index.public_lists() if visible_lists is None else set(visible_lists)
    try:
        with index.snapshot() as snapshot:
            try:
                parsed = bound_expansions(
                    parse_query(snapshot.parser, query), snapshot.searcher.reader(), index.limits
                )
            except QueryError as exc:
                return failed(empty, str(exc), "query")
            return _run(snapshot, parsed, empty, allowed, include_hidden)
    except SearchIndexError as exc:
        return failed(empty, str(exc), "index")


def blank(query: str, page: int, per_page: int, sort: str, grouped: bool) -> SearchResults:
    """The results of a search before it runs, its page and page size brought in range:
    what every backend fills in."""
    page = max(1, page)
    per_page = min(max(1, per_page), MAX_PER_PAGE)
    return SearchResults(query=query, page=page, per_page=per_page, sort=sort, grouped=grouped)


def failed(empty: SearchResults, message: str, kind: Literal["query", "index"]) -> SearchResults:
    return replace(empty, error=message, error_kind=kind)


def _run(
    snapshot: Snapshot,
    query: Query,
    empty: SearchResults,
    allowed: set[str],
    include_hidden: bool,
) -> SearchResults:
    matches = snapshot.evaluator.matches(query)
    hidden = snapshot.hidden_from(allowed, include_hidden)
    docs = np.flatnonzero(matches.found & ~hidden)
    wanted = empty.page * empty.per_page
    per_group: np.ndarray | None = None
    if empty.grouped:
        ranked = _ranked(snapshot, docs, matches.score, empty.sort, None)
        _groups, first = np.unique(snapshot.groups[ranked], return_index=True)
        total = int(first.size)
        chosen = ranked[np.sort(first)[:wanted]]
        per_group = np.bincount(snapshot.groups[docs])
    else:
        total = int(docs.size)
        chosen = _ranked(snapshot, docs, matches.score, empty.sort, wanted)
    highlighter = Highlighter(_matched_terms(snapshot, query))
    relevance = empty.sort == "relevance"
    hits = [
        _hit(
            snapshot,
            docnum,
            float(matches.score[docnum]) if relevance else None,
            highlighter,
            1 if per_group is None else int(per_group[snapshot.groups[docnum]]),
        )
        for docnum in chosen[wanted - empty.per_page : wanted].tolist()
    ]
    return replace(
        empty,
        total=total,
        hits=hits,
        facets=_facets(snapshot, docs),
        suggestion=_suggest(snapshot, empty.query, hidden) if total == 0 else None,
    )


def _ranked(
    snapshot: Snapshot, docs: np.ndarray, score: np.ndarray, sort: str, limit: int | None
) -> np.ndarray:
    """`docs` best first (the highest score, or the newest or oldest date; ties by document
    number, as Whoosh orders them): the first `limit`, or all."""
    if sort == "relevance":
        key = -score[docs]
    else:
        when = snapshot.timestamps[docs]
        key = -when if sort == "newest" else when
    if limit is not None and limit < docs.size:
        # Only documents up to the limit-th key can make the page; ties there all stay in.
        bound = np.partition(key, limit - 1)[limit - 1]
        near = key <= bound
        docs, key = docs[near], key[near]
    return docs[np.lexsort((docs, key))][:limit]


def _facets(snapshot: Snapshot, docs: np.ndarray) -> Facets:
    def count(field: str) -> Counter[str]:
        codes, labels = snapshot.codes(field)
        counts = np.bincount(codes[docs], minlength=len(labels))
        found = Counter({labels[i]: int(counts[i]) for i in np.flatnonzero(counts).tolist()})
        found.pop("", None)
        return found

    return Facets(
        lists=dict(count("list").most_common()),
        years=dict(sorted(count("year").items())),
        senders=dict(count("author").most_common(TOP_SENDERS)),
        stances=dict(count("stance").most_common()),
    )


def _matched_terms(snapshot: Snapshot, query: Query) -> set[str]:
    """The indexed words of the text fields the query searched, prefixes expanded.
    (Whoosh's own ``existing_terms`` loses fields after the first: its loop variable
    shadows its `fieldname` argument.)"""
    reader = snapshot.searcher.reader()
    return {
        text.decode() if isinstance(text, bytes) else text
        for leaf in query.leaves()
        for fieldname, text in leaf.expanded_terms(reader, phrases=True)
        if fieldname in DEFAULT_FIELDS
    }


def _hit(
    snapshot: Snapshot,
    docnum: int,
    score: float | None,
    highlighter: Highlighter,
    matches: int,
) -> Hit:
    stored = snapshot.searcher.stored_fields(docnum)
    thread = stored.get("thread", "")
    return Hit(
        message_id=stored["message_id"],
        pk=int(stored["pk"]),
        thread_id=stored.get("thread_key", ""),
        thread=int(thread) if thread else None,
        list=stored["list"],
        date=stored.get("date"),
        from_name=stored.get("from_name", ""),
        subject=stored.get("title", ""),
        snippet=highlighter.snippet(stored.get("own", "")),
        score=score,
        matches=matches,
        stance=stored.get("stance"),
        vote=stored.get("vote"),
    )


def _suggest(snapshot: Snapshot, query: str, hidden: np.ndarray) -> str | None:
    """The query with its unknown words replaced by the closest subject words, if any.

    Only documents the reader may see count (`hidden` marks the others), both to offer a
    word and to call a typed word known: Whoosh's own corrector draws on every word ever
    indexed, so it offered words of private lists, of hidden messages and of replaced or
    deleted documents, and leaving a word alone told that it exists somewhere. Candidates
    come from the spelling words (unstemmed) and are checked against the subject's postings
    (stemmed): Whoosh files every spelling word under a segment's first document."""
    reader = snapshot.searcher.reader()
    spelling = snapshot.searcher.schema["subject"].spelling_fieldname("subject")

    def seen(field: str, word: str) -> int:
        """In how many documents the reader may see `word` is indexed in `field`."""
        docs = snapshot.evaluator.term(field, word).docs  # never deleted documents
        return int(np.count_nonzero(~hidden[docs]))

    def fix(match: re.Match[str]) -> str:
        word = match.group(1)
        stemmed = stem(word.lower())
        if word in _OPERATORS or any(seen(f, stemmed) for f in DEFAULT_FIELDS):
            return word
        # One edit away first: the common typo, and cheaper than searching two away. Only
        # words with the same first letter are tried: Whoosh compares the typo with every
        # candidate in Python (100 ms over all subject words, under 10 ms over one letter's).
        for distance in (1, 2):
            counted: list[tuple[int, str]] = [
                (-seen("subject", stem(candidate)), candidate)
                for candidate in reader.terms_within(spelling, word.lower(), distance, prefix=1)
                if candidate != word.lower()
            ]
            best = min((c for c in counted if c[0] < 0), default=None)
            if best is not None:
                return best[1]
        return word

    corrected = _WORD.sub(fix, query)
    return corrected if corrected != query else None
