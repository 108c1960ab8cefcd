"""How a thread is laid out for reading: reply order with depth, and its activity over time."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import Message
from app.web.access import visible_messages


@dataclass(frozen=True, slots=True)
class Entry:
    message: Message
    depth: int


def reply_order(messages: list[Message]) -> list[Entry]:
    """Messages depth-first in reply order, siblings by date. A message whose parent is not
    archived (or hidden) starts a branch at depth 0; one caught in a reference loop still
    shows, at the end."""
    by_id = {m.message_id: m for m in messages}
    children: dict[str | None, list[Message]] = {}
    for message in messages:
        parent = message.parent_message_id
        if parent not in by_id or parent == message.message_id:
            parent = None
        children.setdefault(parent, []).append(message)
    ordered: list[Entry] = []
    seen: set[int] = set()
    stack = [(m, 0) for m in reversed(children.get(None, []))]
    while stack:
        message, depth = stack.pop()
        if message.id in seen:
            continue
        seen.add(message.id)
        ordered.append(Entry(message, depth))
        stack.extend((c, depth + 1) for c in reversed(children.get(message.message_id, [])))
    ordered.extend(Entry(m, 0) for m in messages if m.id not in seen)
    return ordered


def daily_counts(dates: list[datetime | None]) -> list[tuple[date, int]]:
    """Messages per day from the first to the last day, empty days included."""
    days = sorted(d.date() for d in dates if d is not None)
    if not days:
        return []
    counts: dict[date, int] = {}
    for day in days:
        counts[day] = counts.get(day, 0) + 1
    span = (days[-1] - days[0]).days + 1
    return [(days[0] + timedelta(n), counts.get(days[0] + timedelta(n), 0)) for n in range(span)]


def readable_entries(session: Session, thread_id: int) -> list[Entry]:
    """The thread's messages this reader may see, in reply order (page and API alike)."""
    messages = session.scalars(
        select(Message)
        .where(Message.thread_id == thread_id, visible_messages())
        .order_by(Message.date_utc, Message.id)
    ).all()
    return reply_order(list(messages))
