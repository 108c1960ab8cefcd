"""Which threads a reader comes to see: the "active discussions" of the home and list pages.

On a real archive the newest threads are mostly noise: one-message bot reports ("Weekly Bug
Summary"), announcements, runs of near-identical digests. A reader comes to see what is
being discussed and decided, so among the recently active threads those linked to a
decision come first, then those where several people take part (the more people, counted
in the messages the reader may see, the higher), and threads with a single author last,
the newest first among equals; a run of threads whose subjects differ only in numbers or
punctuation is collapsed into one entry. The plain newest-first listing stays
one click away on both pages.

"Recently active" is the month up to the newest activity in scope, not up to today
(archives are often years old), widened on a quiet list to twice as many threads as entries
shown. Every count and link here is what the audience may read (app.audience).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import cast

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.audience import Audience
from app.models import Decision, DecisionLink, MailingList, Message, Thread
from ingest.subjects import run_key

#: How far back from the newest activity a thread counts as recently active.
WINDOW = timedelta(days=30)
#: A quiet month is widened to this many of the latest threads per entry shown.
CANDIDATES_PER_ENTRY = 2
#: At most this many of the latest threads are ranked (bounds the page's cost).
MAX_CANDIDATES = 500


@dataclass(frozen=True)
class LinkedDecision:
    slug: str
    title: str


@dataclass
class Discussion:
    """One entry of the ranking: a thread, and the threads of its collapsed run."""

    thread: Thread
    list_name: str
    people: int
    decisions: list[LinkedDecision] = field(default_factory=list)
    #: Threads with a near-identical subject (ingest.subjects.run_key), ranked below it.
    similar: list[Discussion] = field(default_factory=list)

    @property
    def is_debate(self) -> bool:
        return self.people >= 2


def people_per_thread(
    session: Session, audience: Audience, thread_ids: Collection[int]
) -> dict[int, int]:
    """How many different senders each thread has among the messages `audience` may read."""
    if not thread_ids:
        return {}
    counts = session.execute(
        select(Message.thread_id, func.count(func.distinct(Message.from_address)))
        .where(Message.thread_id.in_(thread_ids), audience.messages)
        .group_by(Message.thread_id)
    )
    # Each row's thread is one of `thread_ids`: never NULL.
    return {cast(int, thread_id): count for thread_id, count in counts}


def linked_decisions(
    session: Session, audience: Audience, thread_ids: Collection[int]
) -> dict[int, list[LinkedDecision]]:
    """The decisions each thread informed: confirmed links to the thread itself, or to one
    of its messages that `audience` may read (a link to a hidden message does not count)."""
    if not thread_ids:
        return {}
    to_threads = (
        select(DecisionLink.thread_id, Decision.slug, Decision.title)
        .join(Decision, Decision.id == DecisionLink.decision_id)
        .where(DecisionLink.state == "confirmed", DecisionLink.thread_id.in_(thread_ids))
    )
    to_messages = (
        select(Message.thread_id, Decision.slug, Decision.title)
        .join(DecisionLink, DecisionLink.message_pk == Message.id)
        .join(Decision, Decision.id == DecisionLink.decision_id)
        .where(
            DecisionLink.state == "confirmed",
            Message.thread_id.in_(thread_ids),
            audience.messages,
        )
    )
    found: dict[int, list[LinkedDecision]] = {}
    for thread_id, slug, title in session.execute(to_threads.union(to_messages)):
        assert thread_id is not None  # one of `thread_ids`
        decision = LinkedDecision(slug, title)
        if decision not in found.setdefault(thread_id, []):
            found[thread_id].append(decision)
    for decisions in found.values():
        decisions.sort(key=lambda d: d.title.casefold())
    return found


def recent_threads(
    session: Session,
    audience: Audience,
    list_id: int | None,
    limit: int,
    since: datetime | None = None,
) -> list[tuple[Thread, str]]:
    """The `limit` most recently active threads (with their list's name) that `audience`
    may read, of one list or of all, active `since` that moment if given."""
    query = (
        select(Thread, MailingList.name)
        .join(MailingList, Thread.list_id == MailingList.id)
        .where(audience.lists)
        .order_by(Thread.last_date.desc().nulls_last(), Thread.id.desc())
        .limit(limit)
    )
    if list_id is not None:
        query = query.where(Thread.list_id == list_id)
    if since is not None:
        query = query.where(Thread.last_date >= since)
    return [(thread, name) for thread, name in session.execute(query)]


def _recency(thread: Thread) -> tuple[bool, float]:
    """Newest first, and undated threads (mail with no date anywhere) after every dated one,
    as `recent_threads` lists them."""
    if thread.last_date is None:
        return True, 0.0
    return False, -thread.last_date.timestamp()


def active_discussions(
    session: Session, audience: Audience, *, list_id: int | None = None, limit: int = 10
) -> list[Discussion]:
    """The ranking described above: at most `limit` entries, each run collapsed into its
    best-ranked thread."""
    # Filtered by list ids rather than joined, so the database walks the last_date index.
    readable = select(MailingList.id).where(audience.lists)
    dates = (
        select(Thread.last_date)
        .where(Thread.list_id.in_(readable), Thread.last_date.is_not(None))
        .order_by(Thread.last_date.desc())
    )
    if list_id is not None:
        dates = dates.where(Thread.list_id == list_id)
    latest = session.scalar(dates.limit(1))
    if latest is None:
        return []
    # The window, widened to take in the latest CANDIDATES_PER_ENTRY * limit threads
    # whatever their age (all of them when there are fewer).
    last_of_minimum = session.scalar(dates.offset(CANDIDATES_PER_ENTRY * limit - 1).limit(1))
    since = None if last_of_minimum is None else min(latest - WINDOW, last_of_minimum)
    candidates = recent_threads(session, audience, list_id, MAX_CANDIDATES, since)
    ids = [thread.id for thread, _ in candidates]
    people = people_per_thread(session, audience, ids)
    decisions = linked_decisions(session, audience, ids)
    ranked = sorted(
        (
            Discussion(thread, name, people[thread.id], decisions.get(thread.id, []))
            for thread, name in candidates
            if people.get(thread.id)  # every message hidden from this audience: not shown
        ),
        key=lambda d: (
            not d.decisions,
            not d.is_debate,
            -d.people,
            *_recency(d.thread),
            -d.thread.id,
        ),
    )
    entries: dict[str, Discussion] = {}
    for discussion in ranked:
        first = entries.setdefault(run_key(discussion.thread.subject), discussion)
        if first is not discussion:
            first.similar.append(discussion)
    return list(entries.values())[:limit]
