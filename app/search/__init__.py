"""Full-text, fielded search over the archive, on one of two backends (``[search]
backend``): a Whoosh index derived from the database (one folder beside each app), or
PostgreSQL full-text search in the database itself (``app.search.pg_search``), shared by
every web node.

- ``search(index_of(app), "query", …)`` → ``SearchResults``: the page, the API and the CLI.
- ``index_threads`` / ``index_messages`` after the database changed (ingest batches, staff
  hiding a message, correcting a position, tagging, linking a decision); ``rebuild`` for
  ``quorum reindex`` (Whoosh). On the postgres backend the vectors are written with the
  messages themselves (``app.search.pg_documents``).
"""

from __future__ import annotations

from functools import partial

from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from app.db import make_engine, make_sessionmaker
from app.models import MailingList
from app.search.index_store import SearchIndexError
from app.search.indexing import index_messages, index_threads, rebuild
from app.search.pg_search import PostgresSearch
from app.search.results import Facets, Hit, SearchResults, Sort
from app.search.results import search as whoosh_search
from app.search.searcher import SearchIndex

#: What `index_of` gives and `search` takes: the Whoosh index or the database's search.
SearchBackend = SearchIndex | PostgresSearch

__all__ = [
    "Facets",
    "Hit",
    "PostgresSearch",
    "SearchBackend",
    "SearchIndex",
    "SearchIndexError",
    "SearchResults",
    "index_messages",
    "index_of",
    "index_threads",
    "rebuild",
    "search",
]


def search(
    backend: SearchBackend,
    query: str,
    *,
    page: int = 1,
    per_page: int = 20,
    sort: Sort = "relevance",
    group_by_thread: bool = False,
    visible_lists: set[str] | None = None,
    include_hidden: bool = False,
) -> SearchResults:
    """Search the archive as a given reader may see it, on either backend: see
    ``app.search.results.search`` for the arguments and the results."""
    run = backend.search if isinstance(backend, PostgresSearch) else partial(whoosh_search, backend)
    return run(
        query,
        page=page,
        per_page=per_page,
        sort=sort,
        group_by_thread=group_by_thread,
        visible_lists=visible_lists,
        include_hidden=include_hidden,
    )


def index_of(app: Flask) -> SearchBackend:
    """The app's search backend, created on first use and kept for the life of the
    process."""
    index: SearchBackend | None = app.extensions.get("quorum.search")
    if index is None:
        settings = app.config["QUORUM"]
        sessions = app.extensions["quorum.sessionmaker"]
        if settings.search.backend == "postgres":
            index = PostgresSearch(_read_sessions(app), settings.search)
            app.extensions["quorum.search"] = index
            return index

        def public_lists() -> set[str]:
            with sessions() as session:
                return set(
                    session.scalars(
                        select(MailingList.name).where(MailingList.visibility == "public")
                    )
                )

        index = SearchIndex(settings.index_dir, public_lists, settings.search)
        app.extensions["quorum.search"] = index
    return index


def _read_sessions(app: Flask) -> sessionmaker[Session]:
    """Sessions on the read replica (``[search] read_database_url``), else the app's."""
    url = app.config["QUORUM"].search.read_database_url
    if not url:
        sessions: sessionmaker[Session] = app.extensions["quorum.sessionmaker"]
        return sessions
    # Read-only transactions: a replica refuses writes anyway, and so does this engine.
    engine = make_engine(url).execution_options(postgresql_readonly=True)
    app.extensions["quorum.read_engine"] = engine
    return make_sessionmaker(engine)
