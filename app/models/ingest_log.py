"""The account of every ingest: what was read, and what became of each message."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, DateTime, ForeignKey, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, utcnow


class IngestRun(Base):
    __tablename__ = "ingest_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    started_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime)
    #: When the search index last caught up with everything this run stored. Null after a
    #: killed run: the next ingest indexes that run's threads first.
    indexed_at: Mapped[datetime | None] = mapped_column(DateTime)
    paths: Mapped[list[str]] = mapped_column(JSON, default=list)
    list_name: Mapped[str | None] = mapped_column(String(200))
    read: Mapped[int] = mapped_column(Integer, default=0)
    stored: Mapped[int] = mapped_column(Integer, default=0)
    duplicate: Mapped[int] = mapped_column(Integer, default=0)
    skipped: Mapped[int] = mapped_column(Integer, default=0)
    rejected: Mapped[int] = mapped_column(Integer, default=0)
    per_file: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class Rejection(Base):
    """A quarantined message: its raw bytes and why it could not be stored."""

    __tablename__ = "rejections"

    id: Mapped[int] = mapped_column(primary_key=True)
    ingest_run_id: Mapped[int | None] = mapped_column(ForeignKey("ingest_runs.id"))
    reason: Mapped[str] = mapped_column(Text)
    source_file: Mapped[str | None] = mapped_column(Text)
    source_offset: Mapped[int | None] = mapped_column(Integer)
    raw: Mapped[bytes] = mapped_column(LargeBinary)
    raw_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
