"""Who a page, an API answer or an export is for: the lists and messages they may read, and
whether staff are named to them.

Side doors leak what the front door guards: a decision's history naming a private thread, a
participant's page showing the name they used on a private list. So what is shown around
the archive (decisions, participants' names) is decided here, once, for an audience that
the web and the API build from the signed-in reader (``app.access.reader``) and that
exports take as PUBLIC.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Row, func, select, true
from sqlalchemy.orm import Session

from app.models import (
    Decision,
    DecisionEvent,
    DecisionLink,
    MailingList,
    Message,
    Participant,
    Thread,
    User,
)

#: The change of a decision that names a message (the announcement).
_ANNOUNCEMENT = "announced_by_message_pk"


@dataclass(frozen=True)
class Audience:
    #: A condition on MailingList: the lists they may read.
    lists: ColumnElement[bool]
    #: A condition on Message: the messages they may read in those lists (hidden ones are
    #: for staff who may hide and restore them).
    messages: ColumnElement[bool]
    #: Whether staff appear by login name (to staff) or by role (to everyone else).
    names_staff: bool = False


#: Anyone at all: public lists, no hidden message, staff by role. What exports give.
PUBLIC = Audience(MailingList.visibility == "public", Message.hidden.is_(False))
#: Everything, for code that works on the archive itself rather than for a reader.
EVERYTHING = Audience(true(), true(), names_staff=True)


def participant_names(
    session: Session, audience: Audience, ids: Collection[int] | None = None
) -> dict[int, str]:
    """Each participant's name as `audience` may see it (all participants when `ids` is
    None): the name they are known by (the one they were first seen with) if they used it
    in a message the audience may read, else the name of their first such message. A name
    used only where the audience may not look is never returned; a participant with no
    named message the audience may read is left out."""
    query = (
        select(Message.participant_id, Message.from_name, Participant.display_name)
        .join(MailingList, Message.list_id == MailingList.id)
        .join(Participant, Participant.id == Message.participant_id)
        .where(Message.from_name != "", audience.lists, audience.messages)
        .group_by(Message.participant_id, Message.from_name, Participant.display_name)
        .order_by(Message.participant_id, func.min(Message.id))
    )
    if ids is not None:
        query = query.where(Message.participant_id.in_(ids))
    names: dict[int, str] = {}
    for participant_id, name, known_as in session.execute(query):
        assert participant_id is not None  # joined to its participant
        if name == known_as or participant_id not in names:
            names[participant_id] = name
    return names


def decision_links(
    session: Session, decision: Decision, audience: Audience
) -> Sequence[Row[DecisionLink, Thread, Message | None, str]]:
    """The decision's links `audience` may follow, oldest first, each with its thread, its
    message (None for a thread link) and the thread's list: a link to a thread of a list
    they may not read, or to a message they may not read, is left out whole (its note, its
    id, its place in any count)."""
    return session.execute(
        select(DecisionLink, Thread, Message, MailingList.name)
        .outerjoin(Message, DecisionLink.message_pk == Message.id)
        .join(Thread, (Thread.id == DecisionLink.thread_id) | (Thread.id == Message.thread_id))
        .join(MailingList, Thread.list_id == MailingList.id)
        .where(
            DecisionLink.decision_id == decision.id,
            audience.lists,
            Message.id.is_(None) | audience.messages,
        )
        .order_by(DecisionLink.created_at, DecisionLink.id)
    ).all()


def readable_messages(session: Session, audience: Audience, pks: Collection[int]) -> set[int]:
    """Which of the messages `pks` (database ids) `audience` may read."""
    if not pks:
        return set()
    return set(
        session.scalars(
            select(Message.id)
            .join(MailingList, Message.list_id == MailingList.id)
            .where(Message.id.in_(pks), audience.lists, audience.messages)
        )
    )


def announcement(session: Session, decision: Decision, audience: Audience) -> Message | None:
    """The message that announced the decision, if `audience` may read it."""
    pk = decision.announced_by_message_pk
    if pk is None or pk not in readable_messages(session, audience, [pk]):
        return None
    return session.get(Message, pk)


@dataclass(frozen=True)
class HistoryEntry:
    at: datetime
    who: str  # a login name (to staff), a role (to others), or "system"
    kind: str
    changes: dict[str, Any]


def decision_history(
    session: Session, decision: Decision, audience: Audience
) -> list[HistoryEntry]:
    """The decision's events, oldest first, as `audience` may see them. An event about a
    link they may not follow (added, confirmed, removed…) is left out; a change that names
    a message they may not read (the announcement) loses that field, and an update left with
    nothing to show is left out. Staff are named by login to staff, by role to others."""
    rows = session.execute(
        select(DecisionEvent, User.name, User.role)
        .outerjoin(User, User.id == DecisionEvent.user_id)
        .where(DecisionEvent.decision_id == decision.id)
        .order_by(DecisionEvent.created_at, DecisionEvent.id)
    ).all()
    # A link's target is recorded by the events that add, suggest or remove it; the events
    # that confirm or dismiss it name the link only.
    targets: dict[int | None, tuple[int | None, int | None]] = {}
    named: set[int] = set()
    for event, _name, _role in rows:
        if event.subject_type == "link" and "thread_id" in event.changes:
            target = (event.changes["thread_id"], event.changes.get("message_pk"))
            targets.setdefault(event.subject_id, target)
        named.update(pk for pk in _announced(event) if pk is not None)
    thread_ids = {thread for thread, _pk in targets.values() if thread is not None}
    readable_threads = set(
        session.scalars(
            select(Thread.id)
            .join(MailingList, Thread.list_id == MailingList.id)
            .where(Thread.id.in_(thread_ids), audience.lists)
        )
    )
    message_pks = named | {pk for _thread, pk in targets.values() if pk is not None}
    readable = readable_messages(session, audience, message_pks)
    entries = []
    for event, name, role in rows:
        changes = dict(event.changes)
        if event.subject_type == "link":
            thread, pk = targets.get(event.subject_id, (None, None))
            if thread not in readable_threads and pk not in readable:
                continue
        if any(pk is not None and pk not in readable for pk in _announced(event)):
            del changes[_ANNOUNCEMENT]
            if not changes and event.kind == "decision.updated":
                continue
        who = "system" if event.user_id is None else (name if audience.names_staff else role)
        entries.append(HistoryEntry(event.created_at, who or "staff", event.kind, changes))
    return entries


def _announced(event: DecisionEvent) -> list[int | None]:
    """The announcement message ids an event records: the value a decision was created
    with, or an update's old and new values."""
    value = event.changes.get(_ANNOUNCEMENT)
    return value if isinstance(value, list) else [value]
