"""Threading over the database: parents from headers, ghosts for missing ones, and thread
membership that does not depend on the order in which messages arrive.

A message's parent comes from its own headers only (References, else In-Reply-To), so it
never changes once stored. The one exception is the subject fallback for replies that carry
no reference at all; it is recomputed whenever a better candidate arrives. A thread is keyed
by the Message-ID of its root, which may be a *ghost*: an id that replies name but that is
not (yet) archived. When a message arrives, every thread that was waiting on it is
recomputed, so ingesting the same mail in any order gives the same threads.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from app.models import Message, MessageReference, Thread
from ingest.subjects import is_reply, strip_list_tag


def ancestry(references: list[str], in_reply_to: str | None) -> list[str]:
    """Ancestors from farthest to nearest, as JWZ threading reads them."""
    if references:
        return references
    return [in_reply_to] if in_reply_to else []


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
        touched_threads = {m.thread_id for m in [*waiting, *affected] if m.thread_id}
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
        keys = {m.subject_key for m in new_messages if m.subject_key}
        if not keys:
            return []
        same_subject = {
            m.id: m
            for m in self.session.scalars(
                select(Message).where(
                    Message.list_id == self.list_id, Message.subject_key.in_(keys)
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
                ancestry(row.references, row.in_reply_to),
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
                ancestry(message.references, message.in_reply_to),
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
        for message in messages:
            message.thread_id = existing[keys[message.id]].id
        self.session.flush()
        touched = old_threads | {t.id for t in existing.values()}
        return touched - refresh_thread_stats(self.session, touched)


def refresh_thread_stats(session: Session, thread_ids: set[int]) -> set[int]:
    """Counts, date span and subject of the given threads; threads left empty are removed
    (their ids are returned)."""
    if not thread_ids:
        return set()
    stats = {
        row.thread_id: row
        for row in session.execute(
            select(
                Message.thread_id,
                func.count(Message.id).label("n"),
                func.min(Message.date_utc).label("first"),
                func.max(Message.date_utc).label("last"),
            )
            .where(Message.thread_id.in_(thread_ids))
            .group_by(Message.thread_id)
        )
    }
    empty = thread_ids - set(stats)
    if empty:
        session.execute(delete(Thread).where(Thread.id.in_(empty)))
    for thread in session.scalars(select(Thread).where(Thread.id.in_(set(stats)))):
        row = stats[thread.id]
        thread.message_count = row.n
        thread.first_date = row.first
        thread.last_date = row.last
        thread.subject = _thread_subject(session, thread)
    return empty


def _thread_subject(session: Session, thread: Thread) -> str:
    """The root's subject, else the earliest message's (a ghost root has none)."""
    root_subject = session.scalar(
        select(Message.subject)
        .where(Message.list_id == thread.list_id, Message.message_id == thread.key)
        .limit(1)
    )
    if root_subject is None:
        root_subject = session.scalar(
            select(Message.subject)
            .where(Message.thread_id == thread.id)
            .order_by(Message.date_utc.is_(None), Message.date_utc, Message.message_id)
            .limit(1)
        )
    return strip_list_tag(root_subject or "")
