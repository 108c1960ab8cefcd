"""The archive as JSON: lists, threads (with their messages in reply order), messages (with
body, segments and raw source) and participants, filtered by list, date and participant."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import Response, jsonify, request
from sqlalchemy import Select, exists, func, select
from sqlalchemy.orm import Session, selectinload

from app.access import readable_list, readable_list_filter, reader, visible_messages
from app.api import params
from app.api import serializers as out
from app.api.blueprint import bp
from app.api.pagination import Key, Page, keyset_page
from app.api.problems import Problem
from app.audience import participant_names
from app.db import db_session
from app.models import MailingList, Message, Participant, Tag, Thread, thread_tags
from app.threads import readable_entries
from ingest.message_ids import bracketed

#: Stands in for a missing date in sort keys, which must never be null.
NO_DATE = datetime(1, 1, 1)


def listing(page: Page, items: list[dict[str, Any]]) -> Response:
    response = jsonify({"items": items, "next_cursor": page.next_cursor})
    response.headers.update(page.links_header(request.endpoint or ""))
    return response


def not_found(what: str) -> Problem:
    return Problem(404, f"No {what} here, or not one you may read.")


def readable_list_id(session: Session, name: str) -> int:
    """The list's id, or 404 (as a problem) when the caller may not read it."""
    return readable_list(session, params.path_text(name)).id


def _list_stats(session: Session, list_ids: list[int]) -> dict[int, tuple[int, int, Any, Any]]:
    """Threads, visible messages and the first and last message dates of each list."""
    messages = dict(
        (row[0], row[1:])
        for row in session.execute(
            select(
                Message.list_id,
                func.count(),
                func.min(Message.date_utc),
                func.max(Message.date_utc),
            )
            .where(Message.list_id.in_(list_ids), visible_messages())
            .group_by(Message.list_id)
        )
    )
    threads = dict(
        session.execute(
            select(Thread.list_id, func.count())
            .where(Thread.list_id.in_(list_ids))
            .group_by(Thread.list_id)
        ).all()
    )
    stats = {}
    for list_id in list_ids:
        count, first, last = messages.get(list_id, (0, None, None))
        stats[list_id] = (threads.get(list_id, 0), count, first, last)
    return stats


@bp.get("/lists")
def list_lists() -> Response:
    session = db_session()
    page = keyset_page(
        session,
        "lists",
        select(MailingList).where(readable_list_filter()),
        [Key(MailingList.name, str)],
    )
    stats = _list_stats(session, [row.id for row in page.rows])
    return listing(page, [out.mailing_list(r, stats[r.id]) for r in page.rows])


@bp.get("/lists/<name>")
def get_list(name: str) -> Response:
    session = db_session()
    found = readable_list(session, params.path_text(name))
    return jsonify(out.mailing_list(found, _list_stats(session, [found.id])[found.id]))


def thread_tags_of(session: Session, thread_ids: list[int]) -> dict[int, list[str]]:
    tags: dict[int, list[str]] = {}
    for thread_id, name in session.execute(
        select(thread_tags.c.thread_id, Tag.name)
        .join(Tag, Tag.id == thread_tags.c.tag_id)
        .where(thread_tags.c.thread_id.in_(thread_ids))
        .order_by(Tag.name)
    ):
        tags.setdefault(thread_id, []).append(name)
    return tags


def _has_visible_message(*conditions: Any) -> Any:
    return exists().where(Message.thread_id == Thread.id, visible_messages(), *conditions)


def _readable_threads() -> Select[*tuple[Any, ...]]:
    return (
        select(Thread, MailingList.name)
        .join(MailingList, Thread.list_id == MailingList.id)
        .where(readable_list_filter(), _has_visible_message())
    )


@bp.get("/threads")
def list_threads() -> Response:
    """Threads, most recently active first; filters: list, participant, tag, and a date range
    the thread's activity overlaps."""
    session = db_session()
    query = _readable_threads()
    list_name = params.text("list", max_length=200)
    if list_name is not None:
        query = query.where(MailingList.id == readable_list_id(session, list_name))
    participant_id = params.integer("participant")
    if participant_id is not None:
        query = query.where(_has_visible_message(Message.participant_id == participant_id))
    tag = params.text("tag", max_length=100)
    if tag is not None:
        query = query.where(
            exists().where(
                thread_tags.c.thread_id == Thread.id,
                thread_tags.c.tag_id == Tag.id,
                Tag.name == tag,
            )
        )
    since, until = params.date_range()
    if since is not None:
        query = query.where(Thread.last_date >= since)
    if until is not None:
        query = query.where(Thread.first_date <= until)
    page = keyset_page(
        session,
        "threads",
        query,
        [
            Key(func.coalesce(Thread.last_date, NO_DATE), datetime, descending=True),
            Key(Thread.id, int, descending=True),
        ],
    )
    tags = thread_tags_of(session, [t.id for t, _ in page.rows])
    items = [out.thread(t, name, tags.get(t.id, [])) for t, name in page.rows]
    return listing(page, items)


def readable_thread(session: Session, thread_id: int) -> tuple[Thread, str]:
    row = session.execute(_readable_threads().where(Thread.id == thread_id)).first()
    if row is None:
        raise not_found("thread with that id")
    return row[0], row[1]


@bp.get("/threads/<id:thread_id>")
def get_thread(thread_id: int) -> Response:
    """A thread with all its readable messages in reply order, each with its depth."""
    session = db_session()
    found, list_name = readable_thread(session, thread_id)
    body = out.thread(found, list_name, thread_tags_of(session, [found.id]).get(found.id, []))
    body["messages"] = [
        out.message(entry.message, list_name, found.key) | {"depth": entry.depth}
        for entry in readable_entries(session, found.id)
    ]
    return jsonify(body)


def _readable_messages() -> Select[*tuple[Any, ...]]:
    return (
        select(Message, MailingList.name, Thread.key)
        .join(MailingList, Message.list_id == MailingList.id)
        .outerjoin(Thread, Message.thread_id == Thread.id)
        .where(readable_list_filter(), visible_messages())
    )


@bp.get("/messages")
def list_messages() -> Response:
    """Messages in date order; filters: list, thread, participant, since, until."""
    session = db_session()
    query = _readable_messages()
    list_name = params.text("list", max_length=200)
    if list_name is not None:
        query = query.where(Message.list_id == readable_list_id(session, list_name))
    thread_id = params.integer("thread")
    if thread_id is not None:
        query = query.where(Message.thread_id == thread_id)
    participant_id = params.integer("participant")
    if participant_id is not None:
        query = query.where(Message.participant_id == participant_id)
    since, until = params.date_range()
    if since is not None:
        query = query.where(Message.date_utc >= since)
    if until is not None:
        query = query.where(Message.date_utc <= until)
    page = keyset_page(
        session,
        "messages",
        query,
        [Key(func.coalesce(Message.date_utc, NO_DATE), datetime), Key(Message.id, int)],
    )
    items = [out.message(m, name, key) for m, name, key in page.rows]
    return listing(page, items)


@bp.get("/messages/<path:message_id>")
def get_message(message_id: str) -> Response:
    """One message by Message-ID (angle brackets optional). The same Message-ID may be
    archived in several lists: `list` picks one, else the first readable copy is given.
    410 when every readable copy was hidden on request."""
    session = db_session()
    query = (
        select(Message, MailingList.name, Thread.key)
        .join(MailingList, Message.list_id == MailingList.id)
        .outerjoin(Thread, Message.thread_id == Thread.id)
        .where(
            Message.message_id == bracketed(params.path_text(message_id)),
            readable_list_filter(),
        )
        .order_by(MailingList.name, Message.content_hash)
    )
    list_name = params.text("list", max_length=200)
    if list_name is not None:
        query = query.where(MailingList.name == list_name)
    copies = session.execute(query).all()
    if not copies:
        raise not_found("message with that Message-ID")
    shown = session.execute(query.where(visible_messages()).limit(1)).first()
    if shown is None:
        raise Problem(410, "This message was removed from the archive on request.")
    return jsonify(out.message_detail(*shown))


def _participant_lists(session: Session, ids: list[int]) -> dict[int, dict[str, int]]:
    lists: dict[int, dict[str, int]] = {}
    for participant_id, name, count in session.execute(
        select(Message.participant_id, MailingList.name, func.count())
        .join(MailingList, Message.list_id == MailingList.id)
        .where(Message.participant_id.in_(ids), readable_list_filter(), visible_messages())
        .group_by(Message.participant_id, MailingList.name)
    ):
        assert participant_id is not None  # one of `ids`
        lists.setdefault(participant_id, {})[name] = count
    return lists


def _readable_participants(*conditions: Any) -> Select[*tuple[Any, ...]]:
    """Participants with at least one message the reader may see (as the people pages)."""
    wrote = (
        select(Message.id)
        .join(MailingList, Message.list_id == MailingList.id)
        .where(
            Message.participant_id == Participant.id,
            readable_list_filter(),
            visible_messages(),
            *conditions,
        )
        .exists()
    )
    return select(Participant).options(selectinload(Participant.addresses)).where(wrote)


@bp.get("/participants")
def list_participants() -> Response:
    """Participants by id; filters: list (wrote to it), q (part of the name)."""
    session = db_session()
    conditions = []
    list_name = params.text("list", max_length=200)
    if list_name is not None:
        conditions.append(Message.list_id == readable_list_id(session, list_name))
    name = params.text("q", max_length=200)
    if name is not None:  # the names they wrote under where the reader may look
        conditions.append(func.lower(Message.from_name).contains(name.lower(), autoescape=True))
    query = _readable_participants(*conditions)
    page = keyset_page(session, "participants", query, [Key(Participant.id, int)])
    ids = [p.id for p in page.rows]
    lists = _participant_lists(session, ids)
    names = participant_names(session, reader(), ids)
    items = [out.participant(p, names.get(p.id, ""), lists.get(p.id, {})) for p in page.rows]
    return listing(page, items)


@bp.get("/participants/<id:participant_id>")
def get_participant(participant_id: int) -> Response:
    session = db_session()
    found = session.scalar(_readable_participants().where(Participant.id == participant_id))
    if found is None:
        raise not_found("participant with that id")
    name = participant_names(session, reader(), [found.id]).get(found.id, "")
    return jsonify(out.participant(found, name, _participant_lists(session, [found.id])[found.id]))
