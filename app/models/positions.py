"""What each participant argued: machine-extracted positions and staff corrections."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, utcnow
from ingest.stance import StanceName


class Position(Base):
    """The stance a message's author took, from their own words, with the evidence span."""

    __tablename__ = "positions"

    id: Mapped[int] = mapped_column(primary_key=True)
    message_pk: Mapped[int] = mapped_column(
        ForeignKey("messages.id", ondelete="CASCADE"), unique=True
    )
    participant_id: Mapped[int | None] = mapped_column(ForeignKey("participants.id"), index=True)
    #: Set null when a merge removes the thread; the next derivation sets the new one.
    thread_id: Mapped[int | None] = mapped_column(
        ForeignKey("threads.id", ondelete="SET NULL"), index=True
    )
    stance: Mapped[StanceName] = mapped_column(String(16))
    vote: Mapped[str | None] = mapped_column(String(16))
    evidence: Mapped[str | None] = mapped_column(Text)
    evidence_start: Mapped[int | None] = mapped_column(Integer)
    evidence_end: Mapped[int | None] = mapped_column(Integer)
    confidence: Mapped[float] = mapped_column(Float, default=0.0)
    method: Mapped[str] = mapped_column(String(64), default="")
    #: The model abstained: ``stance`` is its best guess, shown as unsure and left out of
    #: tallies until staff confirm or correct it.
    unsure: Mapped[bool] = mapped_column(Boolean, default=False)
    #: Whom each quoted segment is from (``app.positions.QuotedSource.as_dict``), in order.
    quoted: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    computed_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class PositionOverride(Base):
    """A staff correction of a participant's position on a thread; machines never overwrite it."""

    __tablename__ = "position_overrides"
    __table_args__ = (UniqueConstraint("thread_id", "participant_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    thread_id: Mapped[int] = mapped_column(ForeignKey("threads.id"))
    participant_id: Mapped[int] = mapped_column(ForeignKey("participants.id"))
    stance: Mapped[StanceName] = mapped_column(String(16))
    vote: Mapped[str | None] = mapped_column(String(16))
    note: Mapped[str] = mapped_column(Text, default="")
    #: The message whose machine position staff judged: with ``stance`` it is a training
    #: label (a confirmation is a correction that agrees).
    message_pk: Mapped[int | None] = mapped_column(
        ForeignKey("messages.id", ondelete="SET NULL"), index=True
    )
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
