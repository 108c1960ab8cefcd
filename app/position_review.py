"""The editors' review queue: machine positions worth a person's look, most useful first.

A position needs review when the model abstained (unsure) or claimed it with a confidence
below ``LOW_CONFIDENCE``, and no staff member has confirmed or corrected it yet. Threads
linked to a decision come first (their positions are what a decision page shows), then the
most recently active. Only a participant's *current* position is listed: an earlier
message that a later decisive one replaced changes nothing a reader sees.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import and_, case, exists, or_, select
from sqlalchemy.orm import Session

from app.audience import Audience
from app.models import DecisionLink, MailingList, Message, Position, PositionOverride, Thread
from app.positions import ParticipantPosition, thread_positions

#: Machine positions claimed with less confidence than this are queued for review even
#: when the model did not abstain: below it, cross-validation finds most calls wrong.
LOW_CONFIDENCE = 0.6
#: Queue rows per page.
PAGE_SIZE = 50
#: Threads read per query while filling a page (each is then summarised in Python).
_THREAD_BATCH = 100


@dataclass(frozen=True, slots=True)
class QueueItem:
    position: ParticipantPosition
    thread: Thread
    list_name: str
    linked: bool  # the thread, or one of its messages, is linked to a decision


def needs_review(entry: ParticipantPosition) -> bool:
    """A machine position a person should confirm or correct. A "none" is only queued
    when unsure: a confident-enough nobody-said-anything is not worth an editor's time."""
    if entry.source != "machine" or entry.message_pk is None:
        return False
    low = entry.confidence is not None and entry.confidence < LOW_CONFIDENCE
    return entry.unsure or (low and entry.stance != "none")


def review_queue(
    session: Session, audience: Audience, page: int = 1, per_page: int = PAGE_SIZE
) -> tuple[list[QueueItem], bool]:
    """One page of the queue as ``audience`` may see it, and whether another follows.

    SQL narrows the threads to those holding a candidate row (unsure or low-confidence,
    of a participant without a staff position, readable by the audience) in queue order;
    which row is a participant's current position is then decided by ``thread_positions``,
    the same rule every page uses."""
    linked = or_(
        exists().where(DecisionLink.thread_id == Thread.id, DecisionLink.state == "confirmed"),
        exists()
        .where(
            DecisionLink.state == "confirmed",
            Message.id == DecisionLink.message_pk,
            Message.thread_id == Thread.id,
        )
        .correlate(Thread),
    )
    candidate = (
        exists()
        .where(
            Position.thread_id == Thread.id,
            Position.participant_id.is_not(None),
            Message.id == Position.message_pk,
            audience.messages,
            or_(
                Position.unsure.is_(True),
                and_(Position.confidence < LOW_CONFIDENCE, Position.stance != "none"),
            ),
            ~exists().where(
                PositionOverride.thread_id == Position.thread_id,
                PositionOverride.participant_id == Position.participant_id,
            ),
        )
        .correlate(Thread)
    )
    query = (
        select(Thread, MailingList.name, linked)
        .join(MailingList, MailingList.id == Thread.list_id)
        .where(audience.lists, candidate)
        .order_by(case((linked, 0), else_=1), Thread.last_date.desc().nulls_last(), Thread.id)
    )
    wanted = page * per_page + 1
    items: list[QueueItem] = []
    offset = 0
    while len(items) < wanted:
        batch = session.execute(query.offset(offset).limit(_THREAD_BATCH)).all()
        for thread, list_name, is_linked in batch:
            items.extend(
                QueueItem(entry, thread, list_name, bool(is_linked))
                for entry in thread_positions(session, thread.id, audience)
                if needs_review(entry)
            )
        if len(batch) < _THREAD_BATCH:
            break
        offset += _THREAD_BATCH
    start = (page - 1) * per_page
    return items[start : start + per_page], len(items) > start + per_page
