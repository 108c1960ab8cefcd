"""A message by its Message-ID: the permalink, its raw source, a thread as an mbox, and the
old pipermail article URLs that must keep working."""

from __future__ import annotations

import re
from datetime import UTC

from flask import Blueprint, abort, redirect, render_template, request, url_for
from sqlalchemy import select
from werkzeug.wrappers import Response

from app.access import can, readable_list, readable_list_filter
from app.db import db_session
from app.message_store import decompress
from app.models import DecisionLink, MailingList, Message, Thread
from app.web.browse import readable_thread
from app.web.forms import link_form
from app.web.page_cache import cached_page
from ingest.message_ids import bracketed, url_key

bp = Blueprint("messages", __name__)

_ARTICLE = re.compile(r"^\d{4}-[A-Za-z]+$")
_ESCAPE_FROM = re.compile(rb"^(>*From )", re.MULTILINE)


def readable_copies(message_id: str, list_name: str | None = None) -> list[Message]:
    """Every copy of a Message-ID this reader's lists hold (a cross-post, an `id_conflict`
    variant), hidden ones included, in one stable order that pages and staff actions share."""
    query = (
        select(Message)
        .join(MailingList, Message.list_id == MailingList.id)
        .where(Message.message_id == bracketed(message_id), readable_list_filter())
        .order_by(MailingList.name, Message.content_hash)
    )
    if list_name is not None:
        query = query.where(MailingList.name == list_name)
    return list(db_session().scalars(query))


def _shown_copies(message_id: str, list_name: str | None = None) -> list[Message]:
    """The copies this reader may read, or 404 if the id has no copy in a readable list, or
    410 if every copy was hidden on request."""
    copies = readable_copies(message_id, list_name)
    if not copies:
        abort(404)
    shown = _visible(copies)
    if not shown:
        abort(410)
    return shown


def _visible(copies: list[Message]) -> list[Message]:
    """Copies hidden on request are for staff only."""
    return [m for m in copies if not m.hidden or can("hide_messages")]


def _one(shown: list[Message]) -> Message:
    """The copy `?copy=<database id>` names (staff compare copies this way), else the first;
    only ever one the reader may read."""
    wanted = request.args.get("copy", type=int)
    if wanted is None:
        return shown[0]
    chosen = next((m for m in shown if m.id == wanted), None)
    if chosen is None:
        abort(404)
    return chosen


def _render(message: Message) -> str:
    session = db_session()
    thread = session.get(Thread, message.thread_id) if message.thread_id else None
    links = session.scalars(
        select(DecisionLink).where(
            DecisionLink.state == "confirmed",
            (DecisionLink.message_pk == message.id)
            | ((DecisionLink.thread_id == message.thread_id) & DecisionLink.message_pk.is_(None)),
        )
    ).all()
    copies = _visible(readable_copies(message.message_id))
    other_lists = sorted({m.mailing_list.name for m in copies if m.list_id != message.list_id})
    staff_forms = {}
    if can("link_discussions"):
        staff_forms = {"link_form": link_form()}
    return render_template(
        "message.html",
        **staff_forms,
        message=message,
        mailing_list=message.mailing_list,
        thread=thread,
        thread_key=url_key(thread.key) if thread else None,
        decision_links=links,
        other_lists=other_lists,
        copies=copies,
    )


@bp.get("/m/<path:message_id>")
@cached_page
def permalink(message_id: str) -> str:
    return _render(_one(_shown_copies(message_id)))


@bp.get("/lists/<name>/m/<path:message_id>")
@cached_page
def list_permalink(name: str, message_id: str) -> str:
    readable_list(db_session(), name)
    return _render(_one(_shown_copies(message_id, name)))


@bp.get("/raw/<path:message_id>")
def raw(message_id: str) -> Response:
    """The message exactly as archived, as a download (never rendered by the browser); 410
    once purged, for staff too: nothing of it is left."""
    message = _one(_shown_copies(message_id))
    if message.purged:
        abort(410)
    response = Response(decompress(message.raw), mimetype="message/rfc822")
    response.headers["Content-Disposition"] = 'attachment; filename="message.eml"'
    return response


def mbox_entry(message: Message) -> bytes:
    """One mboxrd entry: an envelope line, the raw bytes with "From " lines escaped."""
    when = message.date_utc.replace(tzinfo=UTC) if message.date_utc else None
    stamp = when.strftime("%a %b %d %H:%M:%S %Y") if when else "Thu Jan  1 00:00:00 1970"
    sender = message.from_address or "MAILER-DAEMON"
    body = _ESCAPE_FROM.sub(rb">\1", decompress(message.raw))
    if not body.endswith(b"\n"):
        body += b"\n"
    return f"From {sender} {stamp}\n".encode() + body + b"\n"


@bp.get("/lists/<name>/mbox/<path:key>")
def thread_mbox(name: str, key: str) -> Response:
    session = db_session()
    _, thread = readable_thread(session, name, key)
    messages = session.scalars(
        select(Message)
        .where(Message.thread_id == thread.id, Message.hidden.is_(False))
        .order_by(Message.date_utc, Message.id)
    ).all()
    response = Response(b"".join(mbox_entry(m) for m in messages), mimetype="application/mbox")
    response.headers["Content-Disposition"] = 'attachment; filename="thread.mbox"'
    return response


@bp.get("/pipermail/<name>/<month>/<int:number>.html")
def pipermail_article(name: str, month: str, number: int) -> Response:
    """Old archive links keep working: redirect to the message the article holds."""
    if not _ARTICLE.match(month):
        abort(404)
    session = db_session()
    mailing_list = readable_list(session, name)
    suffix = f"{month}/{number:06d}.html"
    message = session.scalar(
        select(Message)
        .where(Message.list_id == mailing_list.id, Message.article_url.like(f"%{suffix}"))
        .limit(1)
    )
    if message is None:
        abort(404)
    return redirect(url_for("messages.permalink", message_id=url_key(message.message_id)), 301)
