"""Exports other tools rely on (schemas in DESIGN.md): JSON-ready dicts, streamed."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import (
    Decision,
    DecisionLink,
    MailingList,
    Message,
    Participant,
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
    participant's position in the thread wins over the machine's (method "staff")."""
    query = (
        select(
            Position,
            Message.message_id,
            MailingList.name,
            Thread.key,
            Participant.display_name,
            Message.from_address,
            PositionOverride.stance,
            PositionOverride.vote,
        )
        .join(Message, Message.id == Position.message_pk)
        .join(MailingList, Message.list_id == MailingList.id)
        .join(Thread, Message.thread_id == Thread.id)
        .outerjoin(Participant, Participant.id == Position.participant_id)
        .outerjoin(
            PositionOverride,
            (PositionOverride.thread_id == Message.thread_id)
            & (PositionOverride.participant_id == Position.participant_id),
        )
        .where(Message.hidden.is_(False), MailingList.visibility == "public")
        .order_by(MailingList.name, Message.date_utc, Message.message_id, Message.content_hash)
    )
    if list_name:
        query = query.where(MailingList.name == list_name)
    for row in session.execute(query).yield_per(500):
        position = row.Position
        corrected = row[6] is not None
        yield {
            "message_id": row.message_id,
            "list": row.name,
            "thread_id": row.key,
            "participant": row.display_name or row.from_address,
            "stance": row[6] if corrected else position.stance,
            "vote": row[7] if corrected else position.vote,
            "evidence": None if corrected else position.evidence,
            "confidence": 1.0 if corrected else round(position.confidence, 3),
            "method": "staff" if corrected else position.method,
        }


def decision_record(
    session: Session, decision: Decision, list_filter: Any = None
) -> dict[str, object]:
    """A decision with its links, as `quorum export decisions` and the JSON download give it.

    `list_filter` (a condition on MailingList) keeps links to lists the reader may not see
    out; the command line exports public lists only. Messages hidden on request are left
    out too, as links and as the announcement."""
    condition = MailingList.visibility == "public" if list_filter is None else list_filter
    shown = Message.id.is_(None) | Message.hidden.is_(False)
    links = session.execute(
        select(DecisionLink, Thread.key, MailingList.name, Message.message_id)
        .outerjoin(Message, DecisionLink.message_pk == Message.id)
        .join(Thread, (Thread.id == DecisionLink.thread_id) | (Thread.id == Message.thread_id))
        .join(MailingList, Thread.list_id == MailingList.id)
        .where(DecisionLink.decision_id == decision.id, condition, shown)
        .order_by(DecisionLink.created_at, DecisionLink.id)
    ).all()
    supersedes = session.get(Decision, decision.supersedes_id) if decision.supersedes_id else None
    announced = session.scalar(
        select(Message.message_id)
        .join(MailingList, Message.list_id == MailingList.id)
        .where(Message.id == decision.announced_by_message_pk, condition, shown)
    )
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
        "announced_by": announced,
        "links": [
            {
                "id": link.id,
                "relation": link.relation,
                "state": link.state,
                "note": link.note,
                "list": list_name,
                "thread_id": thread_key,
                "message_id": message_id,
                "created_at": link.created_at.replace(tzinfo=UTC).isoformat(),
            }
            for link, thread_key, list_name, message_id in links
        ],
    }


def export_decisions(session: Session) -> Iterator[dict[str, object]]:
    for decision in session.scalars(select(Decision).order_by(Decision.created_at, Decision.id)):
        yield decision_record(session, decision)
