"""Running a search in PostgreSQL: the postgres backend's ``search``, with the results of
the Whoosh backend's (``app.search.results``) for the page, the API and the CLI.

One statement finds the matching messages the reader may see (the visibility rules of
``app.audience`` are part of its WHERE clause), materialises them once, and returns from
them the total, the facets (GROUP BY) and the page of hits in its order; a second reads
the page's messages for their fields and snippets. Nothing is cached between searches:
every web node sees every commit at once.
"""

from __future__ import annotations

import logging
import threading
from datetime import UTC
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Float,
    Integer,
    Select,
    String,
    cast,
    func,
    literal,
    null,
    or_,
    select,
    tuple_,
    union_all,
)
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from app.audience import PUBLIC
from app.models import MailingList, Message, SearchDocument, Thread
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

#: The facets, in the order of the grouping sets that count them.
FACETS = ("lists", "years", "senders", "stances")
#: What grouping() says of the set that counts every match (each facet's column left
#: out: one bit each, the first facet's the highest), and of each facet's own set.
_TOTAL = 2 ** len(FACETS) - 1
_FACET_OF = {_TOTAL ^ 1 << (len(FACETS) - 1 - i): name for i, name in enumerate(FACETS)}
_SENDERS = next(kind for kind, name in _FACET_OF.items() if name == "senders")
#: The kind of the rows that are the page's hits.
_HIT = -1


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
                configs = list(session.scalars(select(MailingList.search_config).distinct()))
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
    matched = matched.cte("matched").prefix_with("MATERIALIZED")
    rows = session.execute(union_all(*_summary(matched, empty.grouped), _page(matched, empty)))
    total = 0
    counts: dict[str, list[tuple[int, int, str]]] = {name: [] for name in FACETS}
    page: list[tuple[float, int, float, int]] = []
    for kind, label, n, pk, key, first in rows:
        if kind == _HIT:
            page.append((key if empty.sort == "oldest" else -key, pk, key, n))
        elif kind == _TOTAL:
            total = n
        elif label:  # a message without a date has no year, one without a position no stance
            counts[_FACET_OF[kind]].append((-n, first, label))
    page.sort()
    highlighter = Highlighter(compiled.stems, compiled.prefixes)
    details = _details(session, [pk for _order, pk, _key, _n in page])
    hits = [
        _hit(details[pk], key if relevance else None, n, highlighter)
        for _order, pk, key, n in page
        if pk in details
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


def _summary(matched: Any, grouped: bool) -> list[Select[Any]]:
    """The total (messages, or threads when grouped) and each facet's counts, counted in
    one pass over the matches (GROUPING SETS), as rows of (kind, label, count, NULL, NULL,
    first): values of equal counts come in the order of their first message (`first`),
    as the Whoosh backend orders them, and it is by that order too that the senders facet
    keeps its top ones."""
    labelled = select(
        matched.c.pk,
        matched.c.list,
        func.to_char(matched.c.date, "YYYY").label("year"),
        matched.c.author,
        matched.c.stance,
    ).subquery()
    labels = [labelled.c.list, labelled.c.year, labelled.c.author, labelled.c.stance]
    kind = func.grouping(*labels)
    counts = select(
        kind.label("kind"),
        func.coalesce(*labels).label("label"),
        func.count().label("n"),
        func.min(labelled.c.pk).label("first"),
    ).group_by(func.grouping_sets(tuple_(), *(tuple_(label) for label in labels)))
    if grouped:
        counts = counts.having(kind != _TOTAL)
    counted = counts.subquery()
    place = func.row_number().over(
        partition_by=counted.c.kind, order_by=[counted.c.n.desc(), counted.c.first]
    )
    placed = select(counted, place.label("place")).subquery()
    no_int, no_float = cast(null(), Integer), cast(null(), Float)
    facets = select(
        placed.c.kind, placed.c.label, placed.c.n, no_int, no_float, placed.c.first
    ).where(or_(placed.c.kind != _SENDERS, placed.c.place <= TOP_SENDERS))
    if not grouped:
        return [facets]
    threads = select(
        literal(_TOTAL), cast(null(), String), func.count(matched.c.grp.distinct()), no_int,
        no_float, no_int,
    ).select_from(matched)  # fmt: skip
    return [facets, threads]


def _page(matched: Any, empty: SearchResults) -> Select[Any]:
    """The page's hits as rows of (_HIT, NULL, matches in the thread, pk, key, NULL):
    the best first by the chosen order (`key`: the score, or the date as a timestamp),
    ties by database id; grouped, each thread's best message only."""
    key = "ts" if empty.sort in ("newest", "oldest") else "score"

    def order(key: ColumnElement[Any], pk: ColumnElement[int]) -> list[ColumnElement[Any]]:
        return [key.asc() if empty.sort == "oldest" else key.desc(), pk.asc()]

    if empty.grouped:
        ranked = select(
            matched.c.pk,
            matched.c[key].label("key"),
            func.count().over(partition_by=matched.c.grp).label("n"),
            func.row_number()
            .over(partition_by=matched.c.grp, order_by=order(matched.c[key], matched.c.pk))
            .label("r"),
        ).subquery()
        candidates = select(ranked.c.pk, ranked.c.key, ranked.c.n).where(ranked.c.r == 1)
    else:
        candidates = select(matched.c.pk, matched.c[key].label("key"), literal(1).label("n"))
    chosen = candidates.subquery()
    placed = (
        select(chosen)
        .order_by(*order(chosen.c.key, chosen.c.pk))
        .limit(empty.per_page)
        .offset((empty.page - 1) * empty.per_page)
        .subquery()
    )
    return select(
        literal(_HIT), cast(null(), String), placed.c.n, placed.c.pk,
        cast(placed.c.key, Float), cast(null(), Integer),
    )  # fmt: skip


def _most_common(counts: list[tuple[int, int, str]]) -> dict[str, int]:
    """(-count, first message, value) rows as value → count, the most frequent first."""
    return {label: -n for n, _first, label in sorted(counts)}


def _details(session: Session, pks: list[int]) -> dict[int, Any]:
    """What a hit shows of each message, by database id."""
    if not pks:
        return {}
    rows = session.execute(
        select(
            Message.id,
            Message.message_id,
            Thread.key,
            Message.thread_id,
            MailingList.name,
            Message.date_utc,
            Message.from_name,
            Message.from_address,
            Message.subject,
            Message.body,
            SearchDocument.stance,
            SearchDocument.vote,
        )
        .join(SearchDocument, SearchDocument.message_pk == Message.id)
        .join(MailingList, MailingList.id == Message.list_id)
        .outerjoin(Thread, Thread.id == Message.thread_id)
        .where(Message.id.in_(pks))
    )
    return {row[0]: row for row in rows}


def _hit(row: Any, score: float | None, matches: int, highlighter: Highlighter) -> Hit:
    (pk, message_id, thread_key, thread_id, list_name, date_utc, from_name, from_address,
     subject, body, stance, vote) = row  # fmt: skip
    _subject, own, _quoted = searched_texts(subject or "", body or "")
    return Hit(
        message_id=message_id,
        pk=pk,
        thread_id=thread_key or "",
        thread=thread_id,
        list=list_name,
        date=date_utc.replace(tzinfo=UTC).isoformat() if date_utc is not None else None,
        from_name=from_name or from_address or "",
        subject=subject or "",
        snippet=highlighter.snippet(own),
        score=score,
        matches=matches,
        stance=stance,
        vote=vote or None,
    )
