"""Full-text, fielded search over the archive: a Whoosh index derived from the database.

- ``search(index_of(app), "query", …)`` → ``SearchResults``: the page, the API and the CLI.
- ``index_threads`` / ``index_messages`` after the database changed (ingest batches, staff
  hiding a message, correcting a position, tagging, linking a decision); ``rebuild`` for
  ``quorum reindex``.
"""

from __future__ import annotations

from flask import Flask
from sqlalchemy import select

from app.models import MailingList
from app.search.indexing import index_messages, index_threads, rebuild
from app.search.results import Facets, Hit, SearchResults, search
from app.search.searcher import SearchIndex
from app.search.store import SearchIndexError

__all__ = [
    "Facets",
    "Hit",
    "SearchIndex",
    "SearchIndexError",
    "SearchResults",
    "index_messages",
    "index_of",
    "index_threads",
    "rebuild",
    "search",
]


def index_of(app: Flask) -> SearchIndex:
    """The app's SearchIndex, created on first use and kept for the life of the process."""
    index: SearchIndex | None = app.extensions.get("quorum.search")
    if index is None:
        sessions = app.extensions["quorum.sessionmaker"]

        def public_lists() -> set[str]:
            with sessions() as session:
                return set(
                    session.scalars(
                        select(MailingList.name).where(MailingList.visibility == "public")
                    )
                )

        settings = app.config["QUORUM"]
        index = SearchIndex(settings.index_dir, public_lists, settings.search)
        app.extensions["quorum.search"] = index
    return index
