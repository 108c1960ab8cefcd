"""The archive itself: lists, the people who write to them, threads and messages."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.base import Base, utcnow


class MailingList(Base):
    __tablename__ = "lists"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    address: Mapped[str | None] = mapped_column(String(320))
    title: Mapped[str | None] = mapped_column(String(500))
    visibility: Mapped[str] = mapped_column(String(16), default="public")
    #: PostgreSQL text-search configuration (language) of its messages (postgres backend).
    search_config: Mapped[str] = mapped_column(String(64), default="english")
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    threads: Mapped[list[Thread]] = relationship(back_populates="mailing_list")


class Participant(Base):
    """A person. Several addresses may belong to one participant; merges keep the old row."""

    __tablename__ = "participants"

    id: Mapped[int] = mapped_column(primary_key=True)
    display_name: Mapped[str] = mapped_column(String(500), default="")
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("participants.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    addresses: Mapped[list[ParticipantAddress]] = relationship(back_populates="participant")


class ParticipantAddress(Base):
    __tablename__ = "participant_addresses"

    id: Mapped[int] = mapped_column(primary_key=True)
    participant_id: Mapped[int] = mapped_column(ForeignKey("participants.id"), index=True)
    address: Mapped[str] = mapped_column(String(320), unique=True)

    participant: Mapped[Participant] = relationship(back_populates="addresses")


class Thread(Base):
    """A conversation. `key` is the Message-ID of its root, which may be a ghost (not archived)."""

    __tablename__ = "threads"
    __table_args__ = (UniqueConstraint("list_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    list_id: Mapped[int] = mapped_column(ForeignKey("lists.id"))
    key: Mapped[str] = mapped_column(String(1000))
    subject: Mapped[str] = mapped_column(Text, default="")
    message_count: Mapped[int] = mapped_column(Integer, default=0)
    first_date: Mapped[datetime | None] = mapped_column(DateTime)
    last_date: Mapped[datetime | None] = mapped_column(DateTime, index=True)

    mailing_list: Mapped[MailingList] = relationship(back_populates="threads")
    messages: Mapped[list[Message]] = relationship(back_populates="thread")


class Message(Base):
    """One archived message. Several rows may share a Message-ID when their content differs:
    they are all kept and flagged (`id_conflict`), never silently dropped."""

    __tablename__ = "messages"
    __table_args__ = (
        UniqueConstraint("list_id", "message_id", "content_hash"),
        Index("ix_messages_list_msgid", "list_id", "message_id"),
        Index("ix_messages_list_subject", "list_id", "subject_key"),
        Index("ix_messages_thread_date", "thread_id", "date_utc"),
        Index("ix_messages_list_date", "list_id", "date_utc"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    list_id: Mapped[int] = mapped_column(ForeignKey("lists.id"))
    message_id: Mapped[str] = mapped_column(String(1000))
    synthetic_id: Mapped[bool] = mapped_column(Boolean, default=False)
    id_conflict: Mapped[bool] = mapped_column(Boolean, default=False)
    thread_id: Mapped[int | None] = mapped_column(ForeignKey("threads.id"), index=True)
    parent_message_id: Mapped[str | None] = mapped_column(String(1000))
    parent_via: Mapped[str | None] = mapped_column(String(32))
    in_reply_to: Mapped[str | None] = mapped_column(String(1000))
    references: Mapped[list[str]] = mapped_column(JSON, default=list)

    subject: Mapped[str] = mapped_column(Text, default="")
    subject_key: Mapped[str] = mapped_column(String(500), default="")
    date_utc: Mapped[datetime | None] = mapped_column(DateTime)
    date_offset_minutes: Mapped[int | None] = mapped_column(Integer)
    date_source: Mapped[str | None] = mapped_column(String(16))

    participant_id: Mapped[int | None] = mapped_column(ForeignKey("participants.id"), index=True)
    from_name: Mapped[str] = mapped_column(String(500), default="")
    from_address: Mapped[str] = mapped_column(String(320), default="")

    body: Mapped[str] = mapped_column(Text, default="")
    attachments: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    defects: Mapped[list[str]] = mapped_column(JSON, default=list)
    raw: Mapped[bytes] = mapped_column(LargeBinary)
    content_hash: Mapped[str] = mapped_column(String(64))
    hidden: Mapped[bool] = mapped_column(Boolean, default=False)
    #: Set when an admin purged the content of a hidden message: only a tombstone remains.
    purged: Mapped[bool] = mapped_column(Boolean, default=False)

    source_file: Mapped[str | None] = mapped_column(Text)
    source_offset: Mapped[int | None] = mapped_column(Integer)
    article_url: Mapped[str | None] = mapped_column(Text)
    ingest_run_id: Mapped[int | None] = mapped_column(ForeignKey("ingest_runs.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    thread: Mapped[Thread | None] = relationship(back_populates="messages")
    mailing_list: Mapped[MailingList] = relationship()
    participant: Mapped[Participant | None] = relationship()


class MessageReference(Base):
    """One entry of a message's ancestry (References + In-Reply-To), searchable by the id it
    names, so that a parent arriving late finds the replies already waiting for it."""

    __tablename__ = "message_references"

    message_pk: Mapped[int] = mapped_column(
        ForeignKey("messages.id", ondelete="CASCADE"), primary_key=True
    )
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    ref_message_id: Mapped[str] = mapped_column(String(1000), index=True)
