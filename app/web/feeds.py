"""Atom feeds: new threads of a list, new messages of a thread."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import Blueprint, render_template, request, url_for
from sqlalchemy import select
from werkzeug.wrappers import Response

from app.models import Message, Thread
from app.web import db_session
from app.web.access import readable_list, visible_messages
from app.web.browse import readable_thread, url_key
from app.web.page_cache import cached_page

bp = Blueprint("feeds", __name__)

FEED_SIZE = 50


def rfc3339(value: datetime | None) -> str:
    return (value or datetime(1970, 1, 1)).replace(tzinfo=UTC).isoformat()


def atom_response(**context: object) -> Response:
    body = render_template("feed.xml", **context)
    return Response(body, mimetype="application/atom+xml")


@bp.get("/lists/<name>/feed.atom")
@cached_page
def list_feed(name: str) -> Response:
    session = db_session()
    mailing_list = readable_list(session, name)
    threads = session.scalars(
        select(Thread)
        .where(Thread.list_id == mailing_list.id)
        .order_by(Thread.first_date.desc().nulls_last(), Thread.id.desc())
        .limit(FEED_SIZE)
    ).all()
    entries = [
        {
            "id": f"{request.url_root}lists/{name}/threads/{url_key(t.key)}",
            "title": t.subject or "(no subject)",
            "link": url_for("browse.thread_page", name=name, key=url_key(t.key), _external=True),
            "updated": rfc3339(t.first_date),
            "author": None,
            "summary": f"{t.message_count} messages",
        }
        for t in threads
    ]
    return atom_response(
        feed_id=url_for("feeds.list_feed", name=name, _external=True),
        title=f"New threads on {mailing_list.title or mailing_list.name}",
        link=url_for("browse.list_page", name=name, _external=True),
        updated=rfc3339(max((t.first_date for t in threads if t.first_date), default=None)),
        entries=entries,
    )


@bp.get("/lists/<name>/thread-feed/<path:key>")
@cached_page
def thread_feed(name: str, key: str) -> Response:
    session = db_session()
    _, thread = readable_thread(session, name, key)
    messages = session.scalars(
        select(Message)
        .where(Message.thread_id == thread.id, visible_messages())
        .order_by(Message.date_utc.desc().nulls_last(), Message.id.desc())
        .limit(FEED_SIZE)
    ).all()
    entries = [
        {
            "id": f"{request.url_root}m/{url_key(m.message_id)}",
            "title": m.subject or "(no subject)",
            "link": url_for("messages.permalink", message_id=url_key(m.message_id), _external=True),
            "updated": rfc3339(m.date_utc),
            "author": m.from_name or "unknown",
            "summary": m.body[:500],
        }
        for m in messages
    ]
    return atom_response(
        feed_id=url_for("feeds.thread_feed", name=name, key=key, _external=True),
        title=f"New messages in “{thread.subject}”",
        link=url_for("browse.thread_page", name=name, key=url_key(thread.key), _external=True),
        updated=rfc3339(thread.last_date),
        entries=entries,
    )
