"""Running a search in PostgreSQL: the postgres backend's ``search``, with the results of
the Whoosh backend's (``app.search.results``) for the page, the API and the CLI.

One statement finds the matching messages the reader may see (the visibility rules of
``app.audience`` are part of its WHERE clause), from the search documents alone (their
vectors and facts, ``app.models.search``), materialises them once, and returns from them
the total, the facets (one GROUPING SETS pass) and the page of hits in its order, with
what the page shows of each. Nothing is cached between searches: every web node sees every
commit at once.
"""

from __future__ import annotations

import functools
import logging
import threading
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    ColumnElement,
    Float,
    Integer,
    String,
    TextualSelect,
    column,
    func,
    select,
    text,
)
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from app.audience import PUBLIC
from app.models import MailingList, SearchDocument
from app.search.documents import searched_texts
from app.search.highlight import Highlighter
from app.search.pg_query import Compiled, Compiler, make_pg_parser
from app.search.query import QueryError, parse_query
from app.search.results import (
    SORTS,
    TOP_SENDERS,
    Facets,
    Hit,
    SearchResults,
    Sort,
    blank,
    failed,
)
from app.settings import SearchSettings

log = logging.getLogger(__name__)

#: The facets as grouping() names their sets: one bit per facet column (lists, years,
#: senders, stances; the first the highest), set when the set leaves the column out. The
#: set that leaves them all out counts every match: the total.
_FACETS = {0b0111: "lists", 0b1011: "years", 0b1101: "senders", 0b1110: "stances"}
_SENDERS = 0b1101
_TOTAL = 0b1111
#: The kind of the rows that are the page's hits.
_HIT = -1

#: Each facet's counts and the total, in one pass over the matches, as rows of (kind,
#: label, count, NULL, NULL, first, NULL): values of equal counts come in the order of their
#: first message (`first`), as the Whoosh backend orders them, and it is by that order too
#: that the senders facet keeps its top ones. Grouped by thread, the total counts threads.
_COUNTS = f"""
SELECT kind, label, n, NULL::integer, NULL::float, first, NULL::json FROM (
    SELECT *, row_number() OVER (PARTITION BY kind ORDER BY n DESC, first) AS place FROM (
        SELECT grouping(list, year, author, stance) AS kind,
               coalesce(list, year, author, stance) AS label, count(*) AS n, min(pk) AS first
        FROM (SELECT pk, list, to_char(date, 'YYYY') AS year, author, stance FROM matched) m
        GROUP BY GROUPING SETS ((), (list), (year), (author), (stance))
        {{having}}
    ) counted
) placed
WHERE kind <> {_SENDERS} OR place <= {TOP_SENDERS}
"""
_THREADS = f"""
SELECT {_TOTAL}, NULL, count(DISTINCT grp), NULL::integer, NULL::float, NULL::integer,
       NULL::json
FROM matched
"""
#: The page's hits as rows of (_HIT, NULL, matches in the thread, pk, key, NULL, hit): the
#: best first by the chosen order (`key`: the score, or the date as a timestamp), ties by
#: database id; grouped, each thread's best message only; `hit`, what the page shows of it.
_PAGE = f"""
SELECT {_HIT}, NULL, page.n, page.pk, page.key::float, NULL,
       json_build_object(
           'message_id', m.message_id, 'thread_key', t.key, 'thread', m.thread_id,
           'list', l.name, 'date', m.date_utc, 'from_name', m.from_name,
           'from_address', m.from_address, 'subject', m.subject, 'body', m.body,
           'stance', d.stance, 'vote', d.vote
       )
FROM (
    SELECT pk, key, n FROM ({{chosen}}) chosen
    ORDER BY key {{direction}}, pk LIMIT :per_page OFFSET :offset
) page
JOIN messages m ON m.id = page.pk
JOIN lists l ON l.id = m.list_id
JOIN search_documents d ON d.message_pk = page.pk
LEFT JOIN threads t ON t.id = m.thread_id
"""
_EACH = "SELECT pk, {key} AS key, 1 AS n FROM matched"
_BEST_OF_THREAD = """
SELECT pk, key, n FROM (
    SELECT pk, {key} AS key, count(*) OVER (PARTITION BY grp) AS n,
           row_number() OVER (PARTITION BY grp ORDER BY {key} {direction}, pk) AS r
    FROM matched
) ranked WHERE r = 1
"""


@functools.cache
def _statement(grouped: bool, sort: Sort) -> TextualSelect:
    """What one search asks of its matches (the ``matched`` CTE each search adds), for
    each grouping and order: written out once, so that a search builds only its matches
    and the statement's compiled form is cached with them."""
    key = "score" if sort == "relevance" else "ts"
    direction = "ASC" if sort == "oldest" else "DESC"
    chosen = (_BEST_OF_THREAD if grouped else _EACH).format(key=key, direction=direction)
    having = f"HAVING grouping(list, year, author, stance) <> {_TOTAL}" if grouped else ""
    parts = [_COUNTS.format(having=having)]
    if grouped:
        parts.append(_THREADS)
    parts.append(_PAGE.format(chosen=chosen, direction=direction))
    return text(" UNION ALL ".join(parts)).columns(
        column("kind", Integer),
        column("label", String),
        column("n", Integer),
        column("pk", Integer),
        column("key", Float),
        column("first", Integer),
        column("hit", JSON),
    )


#: The text-search configurations the documents were built with, read in the statement
#: that turns off JIT compilation for the rest of the search's transaction (one round trip).
#: Compiling a plan to machine code pays off for long reports, not for a search: over a
#: million messages it adds about 100 ms to one that matches a few percent of them.
_CONFIGS = text(
    "SELECT set_config('jit', 'off', true),"
    " array(SELECT DISTINCT search_config FROM lists ORDER BY search_config)"
)


class PostgresSearch:
    """Search over the database `sessions` open (the main database or a read replica).
    `limits` bound what one query may cost."""

    def __init__(self, sessions: sessionmaker[Session], limits: SearchSettings) -> None:
        self.sessions = sessions
        self.limits = limits
        self._parser = make_pg_parser()
        self._parsing = threading.Lock()  # Whoosh's parser keeps state while it parses

    def search(
        self,
        query: str,
        *,
        page: int = 1,
        per_page: int = 20,
        sort: Sort = "relevance",
        group_by_thread: bool = False,
        visible_lists: set[str] | None = None,
        include_hidden: bool = False,
    ) -> SearchResults:
        """As ``app.search.results.search``, for the same arguments."""
        empty = blank(query, page, per_page, sort, group_by_thread)
        if sort not in SORTS:
            return failed(empty, f"sort must be one of {', '.join(SORTS)}", "query")
        lists = PUBLIC.lists if visible_lists is None else MailingList.name.in_(visible_lists)
        with self.sessions() as session:
            try:
                configs = list(session.execute(_CONFIGS).one()[1])
                try:
                    with self._parsing:
                        parsed = parse_query(self._parser, query)
                    compiler = Compiler(configs, self.limits)
                    compiled = compiler.compile(parsed)
                except QueryError as exc:
                    return failed(empty, str(exc), "query")
                return _run(session, compiled, compiler, empty, lists, include_hidden)
            except DBAPIError:
                log.exception("search %r failed in the database", query)
                return failed(
                    empty,
                    "The search could not run in the database just now; try again in a"
                    " minute. If it keeps failing, the operator should check the server log.",
                    "index",
                )


def _run(
    session: Session,
    compiled: Compiled,
    compiler: Compiler,
    empty: SearchResults,
    lists: ColumnElement[bool],
    include_hidden: bool,
) -> SearchResults:
    relevance = empty.sort == "relevance"
    matched = (
        select(
            SearchDocument.message_pk.label("pk"),
            func.coalesce(SearchDocument.thread_id, -SearchDocument.message_pk).label("grp"),
            # Ranking reads every matching vector again: only when the order needs it.
            compiler.rank(compiled.ranking if relevance else {}).label("score"),
            func.coalesce(func.extract("epoch", SearchDocument.date_utc), 0).label("ts"),
            MailingList.name.label("list"),
            SearchDocument.date_utc.label("date"),
            SearchDocument.author.label("author"),
            SearchDocument.stance.label("stance"),
        )
        .join(MailingList, MailingList.id == SearchDocument.list_id)
        .where(lists, compiled.condition)
    )
    if not include_hidden:
        matched = matched.where(SearchDocument.hidden.is_(False))
    rows = session.execute(
        _statement(empty.grouped, empty.sort).add_cte(
            matched.cte("matched").prefix_with("MATERIALIZED")
        ),
        {"per_page": empty.per_page, "offset": (empty.page - 1) * empty.per_page},
    )
    total = 0
    counts: dict[str, list[tuple[int, int, str]]] = {name: [] for name in _FACETS.values()}
    page: list[tuple[float, int, float, int, dict[str, Any]]] = []
    for kind, label, n, pk, key, first, hit in rows:
        if kind == _HIT:
            page.append((key if empty.sort == "oldest" else -key, pk, key, n, hit))
        elif kind == _TOTAL:
            total = n
        elif label:  # a message without a date has no year, one without a position no stance
            counts[_FACETS[kind]].append((-n, first, label))
    page.sort(key=lambda row: row[:2])
    highlighter = Highlighter(compiled.stems, compiled.prefixes)
    hits = [
        _hit(pk, shown, key if relevance else None, n, highlighter)
        for _order, pk, key, n, shown in page
    ]
    return SearchResults(
        query=empty.query,
        total=total,
        hits=hits,
        facets=Facets(
            lists=_most_common(counts["lists"]),
            years=dict(sorted((label, -n) for n, _first, label in counts["years"])),
            senders=_most_common(counts["senders"]),
            stances=_most_common(counts["stances"]),
        ),
        page=empty.page,
        per_page=empty.per_page,
        sort=empty.sort,
        grouped=empty.grouped,
    )


def _most_common(counts: list[tuple[int, int, str]]) -> dict[str, int]:
    """(-count, first message, value) rows as value → count, the most frequent first."""
    return {label: -n for n, _first, label in sorted(counts)}


def _hit(
    pk: int, shown: dict[str, Any], score: float | None, matches: int, highlighter: Highlighter
) -> Hit:
    date, subject = shown["date"], shown["subject"] or ""
    _subject, own, _quoted = searched_texts(subject, shown["body"] or "")
    return Hit(
        message_id=shown["message_id"],
        pk=pk,
        thread_id=shown["thread_key"] or "",
        thread=shown["thread"],
        list=shown["list"],
        date=datetime.fromisoformat(date).replace(tzinfo=UTC).isoformat() if date else None,
        from_name=shown["from_name"] or shown["from_address"] or "",
        subject=subject,
        snippet=highlighter.snippet(own),
        score=score,
        matches=matches,
        stance=shown["stance"],
        vote=shown["vote"] or None,
    )
