"""Stored messages → index documents: the message, its own and quoted text, its author's
position (a staff override wins over the machine's), the thread's tags and the decisions
the message or its thread informed.

Documents are read with plain column queries in chunks (never the raw bytes), so a full
rebuild streams the archive with bounded memory.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC
from typing import Any

from sqlalchemy import Row, Select, and_, func, select
from sqlalchemy.orm import Session

from app.models import (
    Decision,
    DecisionLink,
    MailingList,
    Message,
    Position,
    PositionOverride,
    Tag,
    Thread,
    thread_tags,
)
from ingest.segments import own_text, quoted_text, segment_body
from ingest.subjects import strip_list_tag

Document = dict[str, Any]
#: Sortable fields, present in every document (see app.search.schema).
COLUMNS = frozenset({"list", "thread", "author", "year", "stance", "ts"})
CHUNK = 500


def _message_rows() -> Select[*tuple[Any, ...]]:
    return (
        select(
            Message.id,
            Message.message_id,
            Message.thread_id,
            Thread.key,
            MailingList.name,
            Message.subject,
            Message.body,
            Message.from_name,
            Message.from_address,
            Message.date_utc,
            Message.attachments,
            Message.hidden,
            func.coalesce(PositionOverride.stance, Position.stance),
            func.coalesce(PositionOverride.vote, Position.vote),
        )
        .join(MailingList, MailingList.id == Message.list_id)
        .outerjoin(Thread, Thread.id == Message.thread_id)
        .outerjoin(Position, Position.message_pk == Message.id)
        .outerjoin(
            PositionOverride,
            and_(
                PositionOverride.thread_id == Message.thread_id,
                PositionOverride.participant_id == Message.participant_id,
            ),
        )
    )


def last_message_pk(session: Session) -> int:
    """The newest stored message's id (0 when there is none): a rebuild's snapshot."""
    return session.scalar(select(func.max(Message.id))) or 0


def all_documents(session: Session, upto: int) -> Iterator[Document]:
    """Every stored message up to id `upto`, in primary-key order, chunk by chunk.

    The bound makes a rebuild a snapshot: an ingest storing while it runs would otherwise
    keep it reading the rows it adds (stored faster than indexed), and then replace every
    one of them again in its own index update of their threads."""
    last = 0
    while True:
        rows = session.execute(
            _message_rows()
            .where(Message.id > last, Message.id <= upto)
            .order_by(Message.id)
            .limit(CHUNK)
        ).all()
        if not rows:
            return
        yield from _documents(session, rows)
        last = rows[-1][0]


def count_documents(session: Session, upto: int) -> int:
    """How many documents `all_documents` yields (one per stored message up to `upto`)."""
    return session.scalar(select(func.count(Message.id)).where(Message.id <= upto)) or 0


def thread_documents(session: Session, thread_ids: Iterable[int]) -> Iterator[Document]:
    """The messages of these threads (threading may have moved any of them)."""
    ids = sorted(set(thread_ids))
    for start in range(0, len(ids), CHUNK):
        rows = session.execute(
            _message_rows().where(Message.thread_id.in_(ids[start : start + CHUNK]))
        ).all()
        yield from _documents(session, rows)


def message_documents(session: Session, message_pks: Iterable[int]) -> Iterator[Document]:
    """These messages (e.g. after staff hid one or corrected a position)."""
    pks = sorted(set(message_pks))
    for start in range(0, len(pks), CHUNK):
        rows = session.execute(_message_rows().where(Message.id.in_(pks[start : start + CHUNK])))
        yield from _documents(session, rows.all())


def _documents(session: Session, rows: Sequence[Row[*tuple[Any, ...]]]) -> Iterator[Document]:
    thread_ids = {row[2] for row in rows if row[2] is not None}
    tags = _tags_by_thread(session, thread_ids)
    decisions = _decisions(session, thread_ids, {row[0] for row in rows})
    for row in rows:
        yield to_document(row, tags, decisions)


def searched_texts(subject: str, body: str) -> tuple[str, str, str]:
    """What search reads of a message, on either backend: its subject without the list tag
    ("[Twisted-Python]" would make "twisted" match every message of that list), the
    author's own text, and what they quoted."""
    segments = segment_body(body)
    return strip_list_tag(subject), own_text(segments), quoted_text(segments)


def to_document(
    row: Any, tags: dict[int, list[str]], decisions: dict[tuple[str, int], list[str]]
) -> Document:
    """One message row (as `_message_rows` selects it) as an index document."""
    (pk, message_id, thread_id, thread_key, list_name, subject, body, from_name,
     from_address, date_utc, attachments, hidden, stance, vote) = row  # fmt: skip
    searched_subject, own, quoted = searched_texts(subject or "", body or "")
    slugs = decisions.get(("message", pk), []) + decisions.get(("thread", thread_id or 0), [])
    doc: Document = {
        "pk": str(pk),
        "ts": 0,
        "year": "",
        "message_id": message_id,
        "thread": str(thread_id or ""),
        "thread_key": thread_key or "",
        "list": list_name,
        "title": subject or "",
        "subject": searched_subject,
        "text": f"{searched_subject}\n{searched_subject}\n{own}",
        "own": own,
        "quoted": quoted,
        "sender": f"{from_name} {from_address}",
        "from_name": from_name or from_address,
        "author": from_name or from_address or "(unknown)",
        "stance": stance or "",
        "vote": vote or "",
        "tag": ",".join(tags.get(thread_id or 0, [])),
        "decision": ",".join(sorted(set(slugs))),
        "has": "attachment" if attachments else "",
        "hidden": "yes" if hidden else "no",
    }
    if date_utc is not None:
        doc |= {
            "date": date_utc.replace(tzinfo=UTC).isoformat(),
            "ts": int(date_utc.replace(tzinfo=UTC).timestamp()),
            "year": f"{date_utc.year:04d}",
            "month": f"{date_utc.year:04d}-{date_utc.month:02d}",
            "day": date_utc.date().isoformat(),
        }
    return {key: value for key, value in doc.items() if value != "" or key in COLUMNS}


def _tags_by_thread(session: Session, thread_ids: set[int]) -> dict[int, list[str]]:
    found: dict[int, list[str]] = defaultdict(list)
    if thread_ids:
        for thread_id, name in session.execute(
            select(thread_tags.c.thread_id, Tag.name)
            .join(Tag, Tag.id == thread_tags.c.tag_id)
            .where(thread_tags.c.thread_id.in_(thread_ids))
        ):
            found[thread_id].append(name)
    return found


def _decisions(
    session: Session, thread_ids: set[int], message_pks: set[int]
) -> dict[tuple[str, int], list[str]]:
    """Confirmed decision links, keyed by ("thread", id) or ("message", pk)."""
    found: dict[tuple[str, int], list[str]] = defaultdict(list)
    if not thread_ids and not message_pks:
        return found
    for thread_id, message_pk, slug in session.execute(
        select(DecisionLink.thread_id, DecisionLink.message_pk, Decision.slug)
        .join(Decision, Decision.id == DecisionLink.decision_id)
        .where(
            DecisionLink.state == "confirmed",
            DecisionLink.thread_id.in_(thread_ids) | DecisionLink.message_pk.in_(message_pks),
        )
    ):
        if message_pk is not None:
            found[("message", message_pk)].append(slug)
        if thread_id is not None:
            found[("thread", thread_id)].append(slug)
    return found
