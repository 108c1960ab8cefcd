"""Pages for community members: the lists, a list by thread and by month, a thread."""

from __future__ import annotations

import calendar
from collections.abc import Sequence
from datetime import MAXYEAR, MINYEAR, datetime

from flask import Blueprint, abort, redirect, render_template, request, url_for
from sqlalchemy import extract, func, select
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response

from app.access import can, readable_list, readable_list_filter, reader, visible_messages
from app.db import db_session
from app.discussions import Discussion, active_discussions, people_per_thread, recent_threads
from app.models import (
    Decision,
    DecisionLink,
    MailingList,
    Message,
    MessageReference,
    Tag,
    Thread,
    thread_tags,
)
from app.numbers import query_number
from app.positions import tally, thread_positions
from app.threads import readable_entries, reply_order
from app.web.charts import bars, timeline
from app.web.forms import CorrectionForm, link_form
from app.web.page_cache import cached_page
from ingest.message_ids import bracketed, url_key

bp = Blueprint("browse", __name__)

THREADS_PER_PAGE = 50
#: Entries of the "active discussions" ranking on the home page and on a list's page.
HOME_DISCUSSIONS = 10
LIST_DISCUSSIONS = 30


def listing_view() -> str:
    """Which listing of threads a page shows: the ranked "active discussions" (the default)
    or the plain newest-first listing (`?view=newest`)."""
    return "newest" if request.args.get("view") == "newest" else "active"


def month_counts(session: Session, list_ids: list[int]) -> dict[int, dict[tuple[int, int], int]]:
    """Messages per (year, month) for each list, in one grouped query."""
    year = extract("year", Message.date_utc)
    month = extract("month", Message.date_utc)
    rows = session.execute(
        select(Message.list_id, year, month, func.count())
        .where(Message.list_id.in_(list_ids), visible_messages(), Message.date_utc.is_not(None))
        .group_by(Message.list_id, year, month)
    ).all()
    counts: dict[int, dict[tuple[int, int], int]] = {}
    for list_id, y, m, n in rows:
        counts.setdefault(list_id, {})[(int(y), int(m))] = n
    return counts


def last_twelve(counts: dict[tuple[int, int], int]) -> tuple[list[int], list[str]]:
    """The twelve months up to the list's latest activity (archives are often old)."""
    if not counts:
        return [], []
    year, month = max(counts)
    months = []
    for _ in range(12):
        months.append((year, month))
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    months.reverse()
    return [counts.get(m, 0) for m in months], [f"{y}-{m:02d}" for y, m in months]


@bp.get("/")
@cached_page
def home() -> str:
    session = db_session()
    lists = session.scalars(
        select(MailingList).where(readable_list_filter()).order_by(MailingList.name)
    ).all()
    counts = month_counts(session, [lst.id for lst in lists])
    rows = []
    for lst in lists:
        values, labels = last_twelve(counts.get(lst.id, {}))
        rows.append(
            {
                "list": lst,
                "messages": sum(counts.get(lst.id, {}).values()),
                "sparkline": bars(values, labels, title=f"{lst.name}: messages per month"),
            }
        )
    view = listing_view()
    if view == "newest":
        recent, discussions = recent_threads(session, reader(), None, HOME_DISCUSSIONS), []
    else:
        recent, discussions = [], active_discussions(session, reader(), limit=HOME_DISCUSSIONS)
    decisions = session.scalars(
        select(Decision).order_by(Decision.updated_at.desc()).limit(5)
    ).all()
    return render_template(
        "home.html",
        lists=rows,
        view=view,
        recent=recent,
        discussions=discussions,
        decisions=decisions,
    )


@bp.get("/lists/<name>")
@cached_page
def list_page(name: str) -> str:
    session = db_session()
    mailing_list = readable_list(session, name)
    view = listing_view()
    page = query_number("page", 1) or 1
    threads: Sequence[Thread] = []
    discussions: list[Discussion] = []
    participants: dict[int, int] = {}
    pages = 1
    if view == "newest":
        total = session.scalar(select(func.count()).where(Thread.list_id == mailing_list.id)) or 0
        pages = max((total + THREADS_PER_PAGE - 1) // THREADS_PER_PAGE, 1)
        threads = session.scalars(
            select(Thread)
            .where(Thread.list_id == mailing_list.id)
            .order_by(Thread.last_date.desc().nulls_last(), Thread.id.desc())
            .offset((page - 1) * THREADS_PER_PAGE)
            .limit(THREADS_PER_PAGE)
        ).all()
        participants = people_per_thread(session, reader(), [t.id for t in threads])
    else:
        discussions = active_discussions(
            session, reader(), list_id=mailing_list.id, limit=LIST_DISCUSSIONS
        )
    months = sorted(
        month_counts(session, [mailing_list.id]).get(mailing_list.id, {}).items(), reverse=True
    )
    return render_template(
        "list.html",
        mailing_list=mailing_list,
        view=view,
        threads=threads,
        discussions=discussions,
        participants=participants,
        months=months,
        page=page,
        pages=pages,
        month_name=calendar.month_name,
    )


MONTH_ORDERS = {"thread", "date", "author"}


# The year stops short of the calendar's last so that the month's end is a date too.
@bp.get(f"/lists/<name>/<int(min={MINYEAR}, max={MAXYEAR - 1}):year>-<int(min=1, max=12):month>")
@cached_page
def month_page(name: str, year: int, month: int) -> str:
    """One month of a list, ordered by thread, date or author, as pipermail readers expect."""
    session = db_session()
    mailing_list = readable_list(session, name)
    order = request.args.get("order", "thread")
    if order not in MONTH_ORDERS:
        order = "thread"
    start = datetime(year, month, 1)
    end = datetime(year + (month == 12), month % 12 + 1, 1)
    messages = session.scalars(
        select(Message)
        .where(
            Message.list_id == mailing_list.id,
            visible_messages(),
            Message.date_utc >= start,
            Message.date_utc < end,
        )
        .order_by(Message.date_utc, Message.id)
    ).all()
    if not messages:
        abort(404)
    entries = reply_order(list(messages))
    if order == "thread":
        # Threads in the order they started this month, each kept in reply order.
        thread_start: dict[int | None, datetime] = {}
        for entry in entries:
            tid, when = entry.message.thread_id, entry.message.date_utc or start
            thread_start[tid] = min(thread_start.get(tid, when), when)
        entries.sort(key=lambda e: (thread_start[e.message.thread_id], e.message.thread_id or 0))
    elif order == "author":
        entries.sort(
            key=lambda e: (
                (e.message.from_name or e.message.from_address).casefold(),
                e.message.date_utc or start,
            )
        )
    else:
        entries.sort(key=lambda e: (e.message.date_utc or start, e.message.id))
    return render_template(
        "month.html",
        mailing_list=mailing_list,
        year=year,
        month=month,
        month_name=calendar.month_name[month],
        entries=entries,
        order=order,
        threads={
            t.id: t
            for t in session.scalars(
                select(Thread).where(Thread.id.in_({e.message.thread_id for e in entries}))
            )
        },
    )


def find_thread(session: Session, mailing_list: MailingList, key: str) -> Thread | None:
    return session.scalar(
        select(Thread).where(Thread.list_id == mailing_list.id, Thread.key == bracketed(key))
    )


def readable_thread(session: Session, name: str, key: str) -> tuple[MailingList, Thread]:
    """The list and thread a URL names, or 404 (unknown, or not readable by this reader)."""
    mailing_list = readable_list(session, name)
    thread = find_thread(session, mailing_list, key)
    if thread is None:
        abort(404)
    return mailing_list, thread


def moved_thread(session: Session, mailing_list: MailingList, key: str) -> Thread | None:
    """Where a thread went after its root changed (a late parent merged it into another):
    the thread of the message with that id, or of a reply that names it."""
    message_id = bracketed(key)
    thread_id = session.scalar(
        select(Message.thread_id)
        .where(Message.list_id == mailing_list.id, Message.message_id == message_id)
        .limit(1)
    ) or session.scalar(
        select(Message.thread_id)
        .join(MessageReference, MessageReference.message_pk == Message.id)
        .where(Message.list_id == mailing_list.id, MessageReference.ref_message_id == message_id)
        .limit(1)
    )
    return session.get(Thread, thread_id) if thread_id else None


@bp.get("/lists/<name>/threads/<path:key>")
@cached_page
def thread_page(name: str, key: str) -> str | Response:
    session = db_session()
    mailing_list = readable_list(session, name)
    thread = find_thread(session, mailing_list, key)
    if thread is None:
        moved = moved_thread(session, mailing_list, key)
        if moved is None:
            abort(404)
        return redirect(url_for("browse.thread_page", name=name, key=url_key(moved.key)), 301)
    entries = readable_entries(session, thread.id)
    if not entries:
        abort(410)
    messages = [entry.message for entry in entries]
    links = session.scalars(
        select(DecisionLink).where(
            (DecisionLink.thread_id == thread.id)
            | DecisionLink.message_pk.in_([m.id for m in messages]),
            DecisionLink.state == "confirmed",
        )
    ).all()
    positions = thread_positions(session, thread.id, reader())
    tags = sorted(
        session.scalars(
            select(Tag.name)
            .join(thread_tags, thread_tags.c.tag_id == Tag.id)
            .where(thread_tags.c.thread_id == thread.id)
        )
    )
    staff_forms = {}
    if can("link_discussions"):
        staff_forms = {"link_form": link_form(), "correction_form": CorrectionForm()}
    return render_template(
        "thread.html",
        mailing_list=mailing_list,
        thread=thread,
        entries=entries,
        timeline=timeline([m.date_utc for m in messages], "Messages per day", bar_width=6),
        decision_links=links,
        positions=positions,
        tally=tally(positions),
        tags=tags,
        key=url_key(thread.key),
        **staff_forms,
    )
