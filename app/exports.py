"""Exports other tools rely on (schemas in DESIGN.md): JSON-ready dicts, streamed."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import MailingList, Message, Thread


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
        date = local_date(message)
        yield {
            "message_id": message.message_id,
            "list": name,
            "thread_id": thread_key,
            "parent_id": message.parent_message_id,
            "parent_via": message.parent_via,
            "subject": message.subject,
            "date": date.isoformat() if date else None,
            "from_name": message.from_name,
            "from_address": message.from_address,
        }
