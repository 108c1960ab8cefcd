"""What the postgres search backend matches messages by: ``tsvector``s per message,
derived from it (``app.search.pg_documents``) and rebuilt by ``quorum reindex``.

Only the text lives here. Everything staff change (hidden, tags, positions, decisions)
and every filter (list, date, thread) is read from the live tables by each search, so a
change is visible to search as soon as its transaction commits. On SQLite the table exists
(the migrations build one schema on both databases) but stays empty: SQLite searches with
Whoosh.
"""

from __future__ import annotations

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.dialects.postgresql import TSVECTOR
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base

_VECTOR = Text().with_variant(TSVECTOR(), "postgresql")


class SearchDocument(Base):
    __tablename__ = "search_documents"
    __table_args__ = (
        # GIN over each vector: every text condition of a search is answered from them.
        Index("ix_search_documents_document", "document", postgresql_using="gin"),
        Index("ix_search_documents_quoted", "quoted", postgresql_using="gin"),
        Index("ix_search_documents_sender", "sender", postgresql_using="gin"),
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
