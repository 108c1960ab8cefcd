"""Threading over the database: parents from headers, ghosts for missing ones, and thread
membership that does not depend on the order in which messages arrive.

A message's parent comes from its own headers only (References, else In-Reply-To), so it
never changes once stored. The one exception is the subject fallback for replies that carry
no reference at all; it is recomputed whenever a better candidate arrives. A thread is keyed
by the Message-ID of its root, which may be a *ghost*: an id that replies name but that is
not (yet) archived. When a message arrives, every thread that was waiting on it is
recomputed, so ingesting the same mail in any order gives the same threads.

A thread is read in reply order (`readable_entries`), the same for its page and the API.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from app.access import visible_messages
from app.models import (
    DecisionLink,
    Message,
    MessageReference,
    Position,
    PositionOverride,
    Thread,
    thread_tags,
)
from ingest.subjects import is_reply, strip_list_tag

#: What stands in for the subject of a message hidden on request.
HIDDEN_SUBJECT = "(message hidden)"


def ancestry(
    references: list[str], in_reply_to: str | None, parent_id: str | None, parent_via: str | None
) -> list[str]:
    """Ancestors from farthest to nearest, as JWZ threading reads them; without headers, the
    parent a pipermail thread index gave (the subject fallback is not ancestry: it is
    recomputed as messages arrive)."""
    if references:
        return references
    if in_reply_to:
        return [in_reply_to]
    return [parent_id] if parent_id and parent_via == "pipermail-thread" else []


def message_ancestry(message: Message) -> list[str]:
    return ancestry(
        message.references, message.in_reply_to, message.parent_message_id, message.parent_via
    )


def header_parent(references: list[str], in_reply_to: str | None) -> tuple[str | None, str | None]:
    """(parent id, how it was found) from the message's own headers."""
    if references:
        return references[-1], "references"
    if in_reply_to:
        return in_reply_to, "in-reply-to"
    return None, None


@dataclass(slots=True)
class _Node:
    message_id: str
    chain: list[str]
    parent_id: str | None
    parent_via: str | None


class Threader:
    """Threads one list's newly stored messages (and whatever they affect) in a session."""

    def __init__(self, session: Session, list_id: int, subject_window_days: int) -> None:
        self.session = session
        self.list_id = list_id
        self.window = timedelta(days=subject_window_days)
        self._nodes: dict[str, _Node | None] = {}

    def thread(self, new_messages: list[Message]) -> set[int]:
        """Thread the new messages; returns the ids of every thread that changed."""
        if not new_messages:
            return set()
        affected = self._subject_fallback(new_messages)
        new_ids = {m.message_id for m in new_messages}
        waiting = self.session.scalars(
            select(Message)
            .join(MessageReference, MessageReference.message_pk == Message.id)
            .where(Message.list_id == self.list_id, MessageReference.ref_message_id.in_(new_ids))
        ).all()
        # Threads of messages re-threaded (a better copy replaced them) may lose them.
        touched_threads = {m.thread_id for m in [*new_messages, *waiting, *affected] if m.thread_id}
        touched_threads |= set(
            self.session.scalars(
                select(Thread.id).where(Thread.list_id == self.list_id, Thread.key.in_(new_ids))
            )
        )
        members: dict[int, Message] = {m.id: m for m in new_messages}
        if touched_threads:
            for message in self.session.scalars(
                select(Message).where(Message.thread_id.in_(touched_threads))
            ):
                members.setdefault(message.id, message)
        for message in [*waiting, *affected]:
            members.setdefault(message.id, message)
        return self._assign(list(members.values()), touched_threads)

    # -- subject fallback -------------------------------------------------------------------

    def _subject_fallback(self, new_messages: list[Message]) -> list[Message]:
        """Set subject parents of new reference-less replies, and re-check older ones that a
        new message may now serve better. Returns the older messages whose parent changed."""
        dated = [
            (m.subject_key, m.date_utc)
            for m in new_messages
            if m.subject_key and m.date_utc is not None
        ]
        if not dated:
            return []
        keys = {key for key, _ in dated}
        # Only messages within a window of the new ones can gain or serve as subject parents:
        # new replies look back one window, older replies a window after a new message may
        # now choose it. Everything either side needs is loaded, and nothing more.
        low = min(date for _, date in dated)
        high = max(date for _, date in dated)
        same_subject = {
            m.id: m
            for m in self.session.scalars(
                select(Message).where(
                    Message.list_id == self.list_id,
                    Message.subject_key.in_(keys),
                    Message.date_utc >= low - self.window,
                    Message.date_utc <= high + self.window,
                )
            )
        }
        for m in new_messages:
            same_subject.setdefault(m.id, m)
        by_key: dict[str, list[Message]] = {}
        for m in same_subject.values():
            by_key.setdefault(m.subject_key, []).append(m)
        changed: list[Message] = []
        new_pks = {m.id for m in new_messages}
        for group in by_key.values():
            for message in group:
                if message.parent_via not in (None, "subject") or not is_reply(message.subject):
                    continue
                if message.id not in new_pks and not (
                    message.date_utc is not None and low < message.date_utc <= high + self.window
                ):
                    continue
                parent = self._subject_candidate(message, group)
                parent_id = parent.message_id if parent else None
                if parent_id != message.parent_message_id:
                    message.parent_message_id = parent_id
                    message.parent_via = "subject" if parent else None
                    if message.id not in new_pks:
                        changed.append(message)
        return changed

    def _subject_candidate(self, message: Message, group: list[Message]) -> Message | None:
        """The earliest earlier message on the same topic within the window, originals first."""
        if message.date_utc is None:
            return None
        earliest = message.date_utc - self.window
        candidates = [
            m
            for m in group
            if m.date_utc is not None
            and earliest <= m.date_utc < message.date_utc
            and m.message_id != message.message_id
        ]
        if not candidates:
            return None
        return min(candidates, key=lambda m: (is_reply(m.subject), m.date_utc, m.message_id))

    # -- roots ------------------------------------------------------------------------------

    def _load_nodes(self, ids: Iterable[str]) -> None:
        missing = {i for i in ids if i not in self._nodes}
        if not missing:
            return
        rows = self.session.execute(
            select(
                Message.message_id,
                Message.references,
                Message.in_reply_to,
                Message.parent_message_id,
                Message.parent_via,
                Message.content_hash,
            ).where(Message.list_id == self.list_id, Message.message_id.in_(missing))
        ).all()
        # Copies of one id with different content: the smallest hash speaks for them all.
        for row in sorted(rows, key=lambda r: r.content_hash, reverse=True):
            self._nodes[row.message_id] = _Node(
                row.message_id,
                ancestry(row.references, row.in_reply_to, row.parent_message_id, row.parent_via),
                row.parent_message_id,
                row.parent_via,
            )
        for i in missing:
            self._nodes.setdefault(i, None)

    def _remember(self, message: Message) -> None:
        node = self._nodes.get(message.message_id)
        if node is None:
            self._nodes[message.message_id] = _Node(
                message.message_id,
                message_ancestry(message),
                message.parent_message_id,
                message.parent_via,
            )

    def root_of(self, message_id: str) -> str:
        """The thread key: climb stored ancestors; past the last stored one, the farthest
        ghost that its References name is the root."""
        path: list[str] = []
        current = message_id
        while True:
            if current in path:  # a reference loop: any member may lead, choose stably
                return min(path[path.index(current) :])
            path.append(current)
            node = self._nodes.get(current)
            if node is None:
                return current
            if node.parent_via == "subject" and node.parent_id:
                current = node.parent_id
                self._load_nodes([current])
                continue
            self._load_nodes(node.chain)
            stored = next((a for a in reversed(node.chain) if self._nodes.get(a)), None)
            if stored is not None:
                current = stored
                continue
            return node.chain[0] if node.chain else current

    def _assign(self, messages: list[Message], old_threads: set[int]) -> set[int]:
        for message in messages:
            self._remember(message)
        keys = {m.id: self.root_of(m.message_id) for m in messages}
        existing = {
            t.key: t
            for t in self.session.scalars(
                select(Thread).where(
                    Thread.list_id == self.list_id, Thread.key.in_(set(keys.values()))
                )
            )
        }
        for key in set(keys.values()) - set(existing):
            thread = Thread(list_id=self.list_id, key=key)
            self.session.add(thread)
            existing[key] = thread
        self.session.flush()
        # Where each thread's messages went, for the rows that refer to a thread left empty.
        moved_to: dict[int, int] = {}
        for message in messages:
            new_thread = existing[keys[message.id]].id
            if message.thread_id is not None and message.thread_id != new_thread:
                moved_to[message.thread_id] = min(
                    new_thread, moved_to.get(message.thread_id, new_thread)
                )
            message.thread_id = new_thread
        self.session.flush()
        touched = old_threads | {t.id for t in existing.values()}
        return touched - refresh_thread_stats(self.session, touched, moved_to)


def refresh_thread_stats(
    session: Session, thread_ids: set[int], moved_to: dict[int, int] | None = None
) -> set[int]:
    """Counts, date span and subject of the given threads; threads left empty are removed
    (their ids are returned), after what refers to them follows their messages (`moved_to`:
    old thread id → the thread that received its messages)."""
    if not thread_ids:
        return set()
    stats = {
        row.thread_id: row
        for row in session.execute(
            select(
                Message.thread_id,
                # Readers are told how many messages they can read: hidden ones don't count.
                func.count(Message.id).filter(Message.hidden.is_(False)).label("n"),
                func.min(Message.date_utc).label("first"),
                func.max(Message.date_utc).label("last"),
            )
            .where(Message.thread_id.in_(thread_ids))
            .group_by(Message.thread_id)
        )
    }
    empty = thread_ids - set(stats)
    if empty:
        for old in empty:
            if moved_to and old in moved_to:
                move_thread_references(session, old, moved_to[old])
        session.execute(delete(Thread).where(Thread.id.in_(empty)))
    threads = list(session.scalars(select(Thread).where(Thread.id.in_(set(stats)))))
    subjects = _thread_subjects(session, threads)
    for thread in threads:
        row = stats[thread.id]
        thread.message_count = row.n
        thread.first_date = row.first
        thread.last_date = row.last
        thread.subject = subjects.get(thread.id, "")
    return empty


def move_thread_references(session: Session, old: int, new: int) -> None:
    """Point every row that refers to thread `old` at thread `new` (threads merged).

    A staff correction of a participant's position that both threads hold stays the
    receiving thread's: the merged thread keeps the one made on its own root.
    """
    session.execute(update(Position).where(Position.thread_id == old).values(thread_id=new))
    session.execute(update(DecisionLink).where(DecisionLink.thread_id == old).values(thread_id=new))
    overridden = select(PositionOverride.participant_id).where(PositionOverride.thread_id == new)
    session.execute(
        delete(PositionOverride).where(
            PositionOverride.thread_id == old, PositionOverride.participant_id.in_(overridden)
        )
    )
    session.execute(
        update(PositionOverride).where(PositionOverride.thread_id == old).values(thread_id=new)
    )
    tagged = select(thread_tags.c.tag_id).where(thread_tags.c.thread_id == new)
    session.execute(
        update(thread_tags)
        .where(thread_tags.c.thread_id == old, thread_tags.c.tag_id.not_in(tagged))
        .values(thread_id=new)
    )
    session.execute(delete(thread_tags).where(thread_tags.c.thread_id == old))


def shown_subject(subject: str, hidden: bool) -> str:
    """A thread's title is shown wherever the thread is (lists, feeds, the API, its
    replies' pages): a message hidden on request must not lend it its subject."""
    return HIDDEN_SUBJECT if hidden else strip_list_tag(subject or "")


def _thread_subjects(session: Session, threads: list[Thread]) -> dict[int, str]:
    """Each thread's subject: its root's, else its earliest message's (a ghost root has
    none); a visible copy of the root speaks before a hidden one, and a hidden message gives
    the placeholder. Two queries for all threads, whatever their number."""
    if not threads:
        return {}
    by_key = {(t.list_id, t.key): t.id for t in threads}
    subjects: dict[int, str] = {}
    for list_id, key, subject, hidden in session.execute(
        select(Message.list_id, Message.message_id, Message.subject, Message.hidden)
        .where(
            Message.thread_id.in_(set(by_key.values())),
            Message.message_id.in_({key for _, key in by_key}),
        )
        .order_by(Message.hidden, Message.content_hash)
    ):
        subjects.setdefault(by_key[(list_id, key)], shown_subject(subject, hidden))
    ghost_rooted = {t.id for t in threads} - set(subjects)
    if ghost_rooted:
        earliest = (
            select(
                Message.thread_id,
                Message.subject,
                Message.hidden,
                func.row_number()
                .over(
                    partition_by=Message.thread_id,
                    order_by=(
                        Message.hidden,
                        Message.date_utc.is_(None),
                        Message.date_utc,
                        Message.message_id,
                    ),
                )
                .label("rank"),
            )
            .where(Message.thread_id.in_(ghost_rooted))
            .subquery()
        )
        for thread_id, subject, hidden in session.execute(
            select(earliest.c.thread_id, earliest.c.subject, earliest.c.hidden).where(
                earliest.c.rank == 1
            )
        ):
            subjects[thread_id] = shown_subject(subject, hidden)
    return subjects


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


def readable_entries(session: Session, thread_id: int) -> list[Entry]:
    """The thread's messages this reader may see, in reply order (page and API alike)."""
    messages = session.scalars(
        select(Message)
        .where(Message.thread_id == thread_id, visible_messages())
        .order_by(Message.date_utc, Message.id)
    ).all()
    return reply_order(list(messages))
