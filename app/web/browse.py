"""Pages for community members: the lists, a list's threads, a thread."""

from __future__ import annotations

from flask import Blueprint, abort, render_template
from sqlalchemy import func, select

from app.models import MailingList, Message, Thread
from app.web import db_session

bp = Blueprint("browse", __name__)


def _public_list(name: str) -> MailingList:
    mailing_list = db_session().scalar(select(MailingList).where(MailingList.name == name))
    if mailing_list is None or mailing_list.visibility != "public":
        abort(404)
    return mailing_list


@bp.get("/")
def home() -> str:
    session = db_session()
    rows = session.execute(
        select(MailingList, func.count(Message.id), func.max(Message.date_utc))
        .outerjoin(Message, (Message.list_id == MailingList.id) & Message.hidden.is_(False))
        .where(MailingList.visibility == "public")
        .group_by(MailingList.id)
        .order_by(MailingList.name)
    ).all()
    return render_template("home.html", lists=rows)


@bp.get("/lists/<name>")
def list_page(name: str) -> str:
    mailing_list = _public_list(name)
    threads = (
        db_session()
        .scalars(
            select(Thread)
            .where(Thread.list_id == mailing_list.id)
            .order_by(Thread.last_date.desc(), Thread.id.desc())
            .limit(200)
        )
        .all()
    )
    return render_template("list.html", mailing_list=mailing_list, threads=threads)


@bp.get("/lists/<name>/threads/<int:thread_id>")
def thread_page(name: str, thread_id: int) -> str:
    mailing_list = _public_list(name)
    session = db_session()
    thread = session.get(Thread, thread_id)
    if thread is None or thread.list_id != mailing_list.id:
        abort(404)
    messages = session.scalars(
        select(Message)
        .where(Message.thread_id == thread.id, Message.hidden.is_(False))
        .order_by(Message.date_utc, Message.id)
    ).all()
    return render_template(
        "thread.html", mailing_list=mailing_list, thread=thread, entries=reply_order(messages)
    )


def reply_order(messages: list[Message]) -> list[tuple[Message, int]]:
    """Messages depth-first in reply order, each with its depth; siblings by date. A message
    whose parent is not archived starts a branch at depth 0."""
    by_id = {m.message_id: m for m in messages}
    children: dict[str | None, list[Message]] = {}
    for message in messages:
        parent = message.parent_message_id if message.parent_message_id in by_id else None
        if parent == message.message_id:
            parent = None
        children.setdefault(parent, []).append(message)
    ordered: list[tuple[Message, int]] = []
    seen: set[int] = set()
    stack = [(m, 0) for m in reversed(children.get(None, []))]
    while stack:
        message, depth = stack.pop()
        if message.id in seen:
            continue
        seen.add(message.id)
        ordered.append((message, depth))
        stack.extend((c, depth + 1) for c in reversed(children.get(message.message_id, [])))
    # Anything caught in a reference loop still shows, at the end.
    ordered.extend((m, 0) for m in messages if m.id not in seen)
    return ordered
