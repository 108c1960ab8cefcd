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
    select,
    true,
    union_all,
)
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from app.audience import PUBLIC, Audience
from app.models import MailingList, Message, SearchDocument, Thread
from app.search.documents import searched_texts
from app.search.highlight import Highlighter
from app.search.pg_query import STANCE, VOTE, Compiled, Compiler, make_pg_parser, with_positions
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

#: Who wrote a message, as the senders facet counts them (the Whoosh index's `author`).
AUTHOR = func.coalesce(
    func.nullif(Message.from_name, ""), func.nullif(Message.from_address, ""), "(unknown)"
)
#: Facet name → the matched column it counts, and how many values it keeps (None: all).
FACETS = {"lists": ("list", None), "years": ("year", None), "senders": ("author", TOP_SENDERS),
          "stances": ("stance", None)}  # fmt: skip


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
        audience = Audience(
            lists=PUBLIC.lists if visible_lists is None else MailingList.name.in_(visible_lists),
            messages=true() if include_hidden else PUBLIC.messages,
        )
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
                return _run(session, compiled, compiler, empty, audience)
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
    audience: Audience,
) -> SearchResults:
    relevance = empty.sort == "relevance"
    selected = with_positions(
        select(
            Message.id.label("pk"),
            func.coalesce(Message.thread_id, -Message.id).label("grp"),
            # Ranking reads every matching vector again: only when the order needs it.
            compiler.rank(compiled.ranking if relevance else {}).label("score"),
            func.coalesce(func.extract("epoch", Message.date_utc), 0).label("ts"),
            MailingList.name.label("list"),
            func.to_char(Message.date_utc, "YYYY").label("year"),
            AUTHOR.label("author"),
            STANCE.label("stance"),
        )
        .select_from(SearchDocument)
        .join(Message, Message.id == SearchDocument.message_pk)
        .join(MailingList, MailingList.id == Message.list_id)
        .outerjoin(Thread, Thread.id == Message.thread_id)
    )
    matched = (
        selected.where(audience.lists, audience.messages, compiled.condition)
        .cte("matched")
        .prefix_with("MATERIALIZED")
    )
    rows = session.execute(union_all(*_summary(matched, empty.grouped), _page(matched, empty)))
    total = 0
    counts: dict[str, list[tuple[int, int, str]]] = {name: [] for name in FACETS}
    page: list[tuple[int, int, float, int]] = []
    for kind, label, n, pk, score, order in rows:
        if kind == "total":
            total = int(n)
        elif kind == "hit":
            page.append((int(order), int(pk), float(score), int(n)))
        else:
            counts[kind].append((-int(n), int(order), label))
    page.sort()
    highlighter = Highlighter(compiled.stems, compiled.prefixes)
    details = _details(session, [pk for _order, pk, _score, _n in page])
    hits = [
        _hit(details[pk], score if relevance else None, n, highlighter)
        for _order, pk, score, n in page
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


def _summary(matched: Any, grouped: bool) -> list[Select[*tuple[Any, ...]]]:
    """The total (messages, or threads when grouped) and each facet's counts, as rows of
    (kind, label, count, NULL, NULL, first): values of equal counts come in the order
    of their first message (`first`), as the Whoosh backend orders them, and it is by that
    order too that the senders facet keeps its top ones."""
    no_int, no_float = cast(null(), Integer), cast(null(), Float)
    counted = func.count(matched.c.grp.distinct()) if grouped else func.count()
    parts = [
        select(
            literal("total"), cast(null(), String), counted, no_int, no_float, no_int
        ).select_from(matched)
    ]
    for name, (column_name, keep) in FACETS.items():
        column = matched.c[column_name]
        counts = (
            select(
                column.label("label"),
                func.count().label("n"),
                func.min(matched.c.pk).label("first"),
            )
            .where(column.is_not(None), column != "")
            .group_by(column)
        )
        if keep is not None:
            counts = counts.order_by(func.count().desc(), func.min(matched.c.pk)).limit(keep)
        facet = counts.subquery()
        parts.append(
            select(literal(name), facet.c.label, facet.c.n, no_int, no_float, facet.c.first)
        )
    return parts


def _page(matched: Any, empty: SearchResults) -> Select[*tuple[Any, ...]]:
    """The page's hits as rows of ("hit", NULL, matches in the thread, pk, score, place):
    the best first by the chosen order, ties by database id; grouped, each thread's best
    message only."""

    def order(columns: Any) -> list[ColumnElement[Any]]:
        key = {
            "relevance": columns.score.desc(),
            "newest": columns.ts.desc(),
            "oldest": columns.ts.asc(),
        }[empty.sort]
        return [key, columns.pk.asc()]

    offset = (empty.page - 1) * empty.per_page
    if empty.grouped:
        ranked = select(
            matched.c.pk,
            matched.c.score,
            matched.c.ts,
            func.count().over(partition_by=matched.c.grp).label("n"),
            func.row_number()
            .over(partition_by=matched.c.grp, order_by=order(matched.c))
            .label("r"),
        ).subquery()
        candidates = select(ranked.c.pk, ranked.c.score, ranked.c.ts, ranked.c.n).where(
            ranked.c.r == 1
        )
    else:
        candidates = select(matched.c.pk, matched.c.score, matched.c.ts, literal(1).label("n"))
    chosen = candidates.subquery()
    placed = (
        select(
            chosen.c.pk,
            chosen.c.score,
            chosen.c.n,
            func.row_number().over(order_by=order(chosen.c)).label("place"),
        )
        .order_by(*order(chosen.c))
        .limit(empty.per_page)
        .offset(offset)
        .subquery()
    )
    return select(
        literal("hit"),
        cast(null(), String),
        placed.c.n,
        placed.c.pk,
        placed.c.score,
        placed.c.place,
    )


def _most_common(counts: list[tuple[int, int, str]]) -> dict[str, int]:
    """(-count, first message, value) rows as value → count, the most frequent first."""
    return {label: -n for n, _first, label in sorted(counts)}


def _details(session: Session, pks: list[int]) -> dict[int, Any]:
    """What a hit shows of each message, by database id."""
    if not pks:
        return {}
    rows = session.execute(
        with_positions(
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
                STANCE,
                VOTE,
            )
            .join(MailingList, MailingList.id == Message.list_id)
            .outerjoin(Thread, Thread.id == Message.thread_id)
        ).where(Message.id.in_(pks))
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
