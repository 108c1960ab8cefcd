"""What the postgres search backend reads: per message, the ``tsvector``s it matches by,
derived from the message (``app.search.pg_documents``) and rebuilt by ``quorum reindex``,
and the facts a search filters, counts and orders by.

The facts (list, hidden, date, thread, author, attachments, stance and vote) are copies of
the live tables, kept here so that a search reads one narrow set of rows instead of joining
messages, positions and staff corrections for every match. They are never stale: the
``search_facts`` view defines them (migration 0005), the vectors' writer copies them from
it, and triggers on messages, positions and position_overrides rewrite them in the
transaction of every change (a staff hide, correction or merge, a position derived after
the ingest stored its message), so a change is visible to search as soon as it commits.
The list's visibility is read from the lists table by each search. On SQLite the table
exists (the migrations build one schema on both databases) but stays empty: SQLite
searches with Whoosh.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, DateTime, ForeignKey, Index, Integer, String, Text
from sqlalchemy.dialects.postgresql import TSVECTOR
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base

_VECTOR = Text().with_variant(TSVECTOR(), "postgresql")
#: What the facts index holds beside the date it is ordered by.
_BESIDE_THE_DATE = ("message_pk", "list_id", "hidden", "thread_id", "author", "attached",
                    "stance", "vote")  # fmt: skip


class SearchDocument(Base):
    __tablename__ = "search_documents"
    __table_args__ = (
        # GIN over each vector: every text condition of a search is answered from them.
        Index("ix_search_documents_document", "document", postgresql_using="gin"),
        Index("ix_search_documents_quoted", "quoted", postgresql_using="gin"),
        Index("ix_search_documents_sender", "sender", postgresql_using="gin"),
        # The facts by date, all of them in the index: a date range is a range of it, and
        # a search without words (has:attachment, stance:support) reads it alone instead
        # of every row with its vectors (an index-only scan, about a tenth of the pages).
        Index(
            "ix_search_documents_facts",
            "date_utc",
            postgresql_include=list(_BESIDE_THE_DATE),
        ),
    )

    message_pk: Mapped[int] = mapped_column(
        ForeignKey("messages.id", ondelete="CASCADE"), primary_key=True
    )
    #: The text-search configuration the vector was built with (the list's, at the time):
    #: a query is parsed with the same one.
    config: Mapped[str] = mapped_column(String(64))
    #: The subject (weight A) and the author's own text (B): what a plain word searches,
    #: and what ranks. Quoted text and the sender have vectors of their own, so that
    #: ``quoted:``/``from:`` are exact index lookups (a weight is checked row by row) and
    #: ranking never reads what was quoted.
    document: Mapped[str] = mapped_column(_VECTOR)
    quoted: Mapped[str] = mapped_column(_VECTOR)
    sender: Mapped[str] = mapped_column(_VECTOR)

    # The facts.
    list_id: Mapped[int] = mapped_column(Integer)
    hidden: Mapped[bool] = mapped_column(Boolean)
    date_utc: Mapped[datetime | None] = mapped_column(DateTime)
    thread_id: Mapped[int | None] = mapped_column(Integer)
    #: Who wrote it, as the senders facet counts them: the name, else the address.
    author: Mapped[str] = mapped_column(String(500))
    #: The message has attachments (``has:attachment``).
    attached: Mapped[bool] = mapped_column(Boolean)
    #: The author's stance and vote ("" when none): a staff correction wins.
    stance: Mapped[str] = mapped_column(String(16))
    vote: Mapped[str] = mapped_column(String(16))
