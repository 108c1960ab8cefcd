"""Exports other tools rely on (schemas in DESIGN.md): JSON-ready dicts, streamed."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.audience import PUBLIC, Audience, announcement, decision_links, participant_names
from app.models import (
    Decision,
    MailingList,
    Message,
    Position,
    PositionOverride,
    Thread,
)


def local_date(message: Message) -> datetime | None:
    """The message's date in the sender's own offset (stored as UTC + offset)."""
    if message.date_utc is None:
        return None
    zone = timezone(timedelta(minutes=message.date_offset_minutes or 0))
    return message.date_utc.replace(tzinfo=UTC).astimezone(zone)


def export_messages(session: Session, list_name: str | None = None) -> Iterator[dict[str, object]]:
    query = (
        select(Message, MailingList.name, Thread.key)
        .join(MailingList, Message.list_id == MailingList.id)
        .outerjoin(Thread, Message.thread_id == Thread.id)
        .where(Message.hidden.is_(False), MailingList.visibility == "public")
        .order_by(MailingList.name, Message.date_utc, Message.message_id, Message.content_hash)
    )
    if list_name:
        query = query.where(MailingList.name == list_name)
    for message, name, thread_key in session.execute(query).yield_per(500):
        yield message_record(message, name, thread_key)


def message_record(message: Message, list_name: str, thread_key: str | None) -> dict[str, Any]:
    """A message in the `export messages` schema (DESIGN.md); the API extends it."""
    date = local_date(message)
    return {
        "message_id": message.message_id,
        "list": list_name,
        "thread_id": thread_key,
        "parent_id": message.parent_message_id,
        "parent_via": message.parent_via,
        "subject": message.subject,
        "date": date.isoformat() if date else None,
        "from_name": message.from_name,
        "from_address": message.from_address,
    }


def export_positions(session: Session, list_name: str | None = None) -> Iterator[dict[str, object]]:
    """One object per message with an author position. A staff correction of the
    participant's position in the thread wins over the machine's (method "staff", never
    unsure); otherwise ``unsure`` says the model abstained and ``stance`` is a guess. The
    participant is named as anyone may see them (app.audience)."""
    names = participant_names(session, PUBLIC)
    query = (
        select(
            Position,
            Message.message_id,
            MailingList.name,
            Thread.key,
            Message.from_address,
            PositionOverride.stance,
            PositionOverride.vote,
        )
        .join(Message, Message.id == Position.message_pk)
        .join(MailingList, Message.list_id == MailingList.id)
        .join(Thread, Message.thread_id == Thread.id)
        .outerjoin(
            PositionOverride,
            (PositionOverride.thread_id == Message.thread_id)
            & (PositionOverride.participant_id == Position.participant_id),
        )
        .where(PUBLIC.lists, PUBLIC.messages)
        .order_by(MailingList.name, Message.date_utc, Message.message_id, Message.content_hash)
    )
    if list_name:
        query = query.where(MailingList.name == list_name)
    for row in session.execute(query).yield_per(500):
        position = row.Position
        corrected = row[5] is not None
        yield {
            "message_id": row.message_id,
            "list": row.name,
            "thread_id": row.key,
            "participant": names.get(position.participant_id or 0) or row.from_address,
            "stance": row[5] if corrected else position.stance,
            "vote": row[6] if corrected else position.vote,
            "evidence": None if corrected else position.evidence,
            "confidence": 1.0 if corrected else round(position.confidence, 3),
            "method": "staff" if corrected else position.method,
            "unsure": False if corrected else position.unsure,
        }


def decision_record(
    session: Session, decision: Decision, audience: Audience = PUBLIC
) -> dict[str, object]:
    """A decision with its links, as `quorum export decisions` and the JSON download give it.

    Only the links and the announcement `audience` may read are in it (app.audience): the
    command line exports what anyone may see."""
    supersedes = session.get(Decision, decision.supersedes_id) if decision.supersedes_id else None
    announced = announcement(session, decision, audience)
    return {
        "slug": decision.slug,
        "title": decision.title,
        "status": decision.status,
        "decided_by": decision.decided_by,
        "decided_on": decision.decided_on.isoformat() if decision.decided_on else None,
        "summary": decision.summary,
        "outcome": decision.outcome,
        "rationale": decision.rationale,
        "tags": sorted(t.name for t in decision.tags),
        "supersedes": supersedes.slug if supersedes else None,
        "announced_by": announced.message_id if announced else None,
        "links": [
            {
                "id": link.id,
                "relation": link.relation,
                "state": link.state,
                "note": link.note,
                "list": list_name,
                "thread_id": thread.key,
                "message_id": message.message_id if message else None,
                "created_at": link.created_at.replace(tzinfo=UTC).isoformat(),
            }
            for link, thread, message, list_name in decision_links(session, decision, audience)
        ],
    }


def export_decisions(session: Session) -> Iterator[dict[str, object]]:
    for decision in session.scalars(select(Decision).order_by(Decision.created_at, Decision.id)):
        yield decision_record(session, decision)
