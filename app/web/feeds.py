"""Atom feeds: new threads of a list, new messages of a thread.

Feeds are the pages that carry absolute URLs, and they are cached and shared by every
reader, so those URLs come from the configured public base URL and never from the Host
header of the request that happened to fill the cache.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, current_app, render_template, request, url_for
from sqlalchemy import select
from werkzeug.wrappers import Response

from app.access import readable_list, visible_messages
from app.db import db_session
from app.models import Message, Thread
from app.settings import settings_of
from app.web.browse import readable_thread
from app.web.page_cache import cached_page
from ingest.message_ids import url_key

bp = Blueprint("feeds", __name__)

FEED_SIZE = 50


#: What XML 1.0 cannot hold even escaped: C0 controls but tab and newlines, surrogates and
#: U+FFFE/U+FFFF. Mail carries them (a stray \x01 in a subject) and one makes a feed unreadable.
XML_ILLEGAL = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def rfc3339(value: datetime | None) -> str:
    return (value or datetime(1970, 1, 1)).replace(tzinfo=UTC).isoformat()


def absolute_url_for(endpoint: str, **values: Any) -> str:
    """The URL of a page as readers reach it: the public base URL and the page's path
    within the app."""
    path = url_for(endpoint, **values)[len(request.script_root) :]
    return settings_of(current_app).base_url + path


def atom_response(**context: object) -> Response:
    body = XML_ILLEGAL.sub("", render_template("feed.xml", **context))
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
            "id": absolute_url_for("browse.thread_page", name=name, key=url_key(t.key)),
            "title": t.subject or "(no subject)",
            "link": absolute_url_for("browse.thread_page", name=name, key=url_key(t.key)),
            "updated": rfc3339(t.first_date),
            "author": None,
            "summary": f"{t.message_count} messages",
        }
        for t in threads
    ]
    return atom_response(
        feed_id=absolute_url_for("feeds.list_feed", name=name),
        title=f"New threads on {mailing_list.title or mailing_list.name}",
        link=absolute_url_for("browse.list_page", name=name),
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
            "id": absolute_url_for("messages.permalink", message_id=url_key(m.message_id)),
            "title": m.subject or "(no subject)",
            "link": absolute_url_for("messages.permalink", message_id=url_key(m.message_id)),
            "updated": rfc3339(m.date_utc),
            "author": m.from_name or "unknown",
            "summary": m.body[:500],
        }
        for m in messages
    ]
    return atom_response(
        feed_id=absolute_url_for("feeds.thread_feed", name=name, key=key),
        title=f"New messages in “{thread.subject}”",
        link=absolute_url_for("browse.thread_page", name=name, key=url_key(thread.key)),
        updated=rfc3339(thread.last_date),
        entries=entries,
    )
