"""The postgres backend's derived text: the ``tsvector``s of each message, written in
the transaction that stores or changes the message, so a message is searchable exactly
when that transaction commits, on every web node at once. The same statement copies the
message's search facts (``app.models.search``) beside them; triggers keep those in step
afterwards.

The split into own and quoted text is Python (``ingest.segments``), so the vectors are
written by the app, not by a database trigger: listeners on the app's sessionmaker write,
as a transaction commits, the vector of every message it inserted or whose text it
changed (a better copy, a purge). ``rebuild`` recomputes them all (``quorum reindex``),
chunk by chunk with a commit after each, so searches keep running while it goes.

Words are split as the Whoosh index splits them (``\\w+``, so "reactor.run()" is found by
"reactor"; PostgreSQL's own parser would keep "reactor.run" as one host name), then each
list's text-search configuration stems them and drops its stop words.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import event, inspect, select, text, update
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session, UOWTransaction, sessionmaker

from app.models import MailingList, Message
from app.search.documents import searched_texts
from app.settings import ListSettings

_WORD = re.compile(r"\w+")
#: Characters of each part that are indexed. A tsvector holds at most 1 MB: a hostile
#: message of unique words must not make its own storage fail. Whoosh indexes everything,
#: so words past these limits are a (documented) difference between the backends.
LIMITS = {"subject": 2_000, "own": 200_000, "quoted": 100_000, "sender": 1_000}
#: Messages read and written per statement (and per commit during a rebuild).
CHUNK = 500
#: Where a session keeps the vectors to write when it commits (by message id).
_PENDING = "quorum.pending_vectors"
#: The message columns a vector is derived from: a change to one of them rewrites it.
TEXT_COLUMNS = ("subject", "body", "from_name", "from_address")

#: The facts a search reads beside the vectors (``app.models.search``), copied from the
#: ``search_facts`` view that defines them.
FACTS = ("list_id", "hidden", "date_utc", "thread_id", "author", "attached", "stance", "vote")

_UPSERT = text(
    f"""
    INSERT INTO search_documents (message_pk, config, document, quoted, sender, {", ".join(FACTS)})
    SELECT :pk, l.search_config,
           setweight(to_tsvector(l.search_config::regconfig, :subject), 'A')
        || setweight(to_tsvector(l.search_config::regconfig, :own), 'B'),
           setweight(to_tsvector(l.search_config::regconfig, :quoted), 'C'),
           to_tsvector(l.search_config::regconfig, :sender),
           {", ".join(f"f.{name}" for name in FACTS)}
    FROM search_facts f JOIN lists l ON l.id = f.list_id WHERE f.message_pk = :pk
    ON CONFLICT (message_pk) DO UPDATE
        SET config = excluded.config, document = excluded.document,
            quoted = excluded.quoted, sender = excluded.sender,
            {", ".join(f"{name} = excluded.{name}" for name in FACTS)}
    """
)


def words(value: str, limit: int) -> str:
    """`value`'s words (at most `limit` characters of it), separated by spaces."""
    return " ".join(_WORD.findall(value[:limit]))


def vector_row(
    pk: int, subject: str, body: str, from_name: str, from_address: str
) -> dict[str, Any]:
    """The parameters of one message's upsert."""
    searched_subject, own, quoted = searched_texts(subject or "", body or "")
    return {
        "pk": pk,
        "subject": words(searched_subject, LIMITS["subject"]),
        "own": words(own, LIMITS["own"]),
        "quoted": words(quoted, LIMITS["quoted"]),
        "sender": words(f"{from_name or ''} {from_address or ''}", LIMITS["sender"]),
    }


def write_vectors(connection: Connection, rows: Iterable[dict[str, Any]]) -> int:
    """Insert or replace these messages' vectors and facts; returns how many."""
    batch = list(rows)
    for start in range(0, len(batch), CHUNK):
        connection.execute(_UPSERT, batch[start : start + CHUNK])
    return len(batch)


def keep_vectors_in_step(sessions: sessionmaker[Session]) -> None:
    """Write the vectors of the messages a transaction inserts or re-texts when it
    commits, in it. Every writer (ingest, delivery, sync, a purge) goes through these
    sessions, so none has to remember it.

    Each flush notes what it inserted or re-texted; the vectors and facts are written
    once, just before the commit. Written at the first flush instead, a batch's documents
    would be rewritten at once by its next flush, which threads the messages (the facts
    triggers follow the thread): a second copy of each row, its index entries included."""

    @event.listens_for(sessions, "after_flush")
    def _note(session: Session, _flush: UOWTransaction) -> None:
        pending = session.info.setdefault(_PENDING, {})
        for obj in (*session.new, *session.dirty):
            if isinstance(obj, Message) and (obj in session.new or _text_changed(obj)):
                pending[obj.id] = vector_row(
                    obj.id, obj.subject, obj.body, obj.from_name, obj.from_address
                )

    @event.listens_for(sessions, "before_commit")
    def _write(session: Session) -> None:
        session.flush()
        pending = session.info.pop(_PENDING, None)
        if pending:
            write_vectors(session.connection(), pending.values())

    @event.listens_for(sessions, "after_rollback")
    def _forget(session: Session) -> None:
        session.info.pop(_PENDING, None)


def _text_changed(message: Message) -> bool:
    state = inspect(message)
    return any(state.attrs[column].history.has_changes() for column in TEXT_COLUMNS)


def rebuild(session: Session, declared: Mapping[str, ListSettings]) -> int:
    """Recompute every message's vector, online: each chunk commits on its own, and
    searches see the old vector of a message until its new one commits. Lists declared
    in the settings take their ``search_config`` first, so this is how a changed language
    is applied. Returns the number of messages written."""
    for name, settings in declared.items():
        session.execute(
            update(MailingList)
            .where(MailingList.name == name, MailingList.search_config != settings.search_config)
            .values(search_config=settings.search_config)
        )
    session.commit()
    last = count = 0
    while True:
        rows = session.execute(
            select(
                Message.id,
                Message.subject,
                Message.body,
                Message.from_name,
                Message.from_address,
            )
            .where(Message.id > last)
            .order_by(Message.id)
            .limit(CHUNK)
        ).all()
        if not rows:
            # Fresh statistics: after a bulk (re)build the planner otherwise keeps guessing
            # that few rows match and walks the messages instead of the GIN index.
            session.execute(text("ANALYZE search_documents"))
            session.commit()
            return count
        count += write_vectors(session.connection(), (vector_row(*row) for row in rows))
        session.commit()
        last = rows[-1][0]
