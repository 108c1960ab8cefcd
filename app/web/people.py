"""A participant's page: what they wrote, where, when, and the positions they took."""

from __future__ import annotations

from flask import Blueprint, abort, render_template
from sqlalchemy import extract, func, select

from app.access import readable_list_filter, reader, visible_messages
from app.audience import participant_names
from app.db import db_session
from app.models import MailingList, Message, Participant, Position, Thread
from app.web.browse import last_twelve
from app.web.charts import bars
from app.web.page_cache import cached_page

bp = Blueprint("people", __name__)


@bp.get("/people/<int:participant_id>")
@cached_page
def participant(participant_id: int) -> str:
    session = db_session()
    person = session.get(Participant, participant_id)
    if person is None:
        abort(404)
    readable = (Message.participant_id == person.id) & visible_messages()
    lists = session.execute(
        select(MailingList.name, func.count(Message.id))
        .join(Message, Message.list_id == MailingList.id)
        .where(readable, readable_list_filter())
        .group_by(MailingList.name)
        .order_by(func.count(Message.id).desc())
    ).all()
    if not lists:
        abort(404)
    name = participant_names(session, reader(), [person.id]).get(person.id, "")
    year = extract("year", Message.date_utc)
    month = extract("month", Message.date_utc)
    per_month = {
        (int(y), int(m)): n
        for y, m, n in session.execute(
            select(year, month, func.count())
            .join(MailingList, Message.list_id == MailingList.id)
            .where(readable, readable_list_filter(), Message.date_utc.is_not(None))
            .group_by(year, month)
        )
    }
    values, labels = last_twelve(per_month)
    threads = session.execute(
        select(Thread, MailingList.name, func.count(Message.id))
        .join(Message, Message.thread_id == Thread.id)
        .join(MailingList, Thread.list_id == MailingList.id)
        .where(readable, readable_list_filter())
        .group_by(Thread.id, MailingList.name)
        .order_by(Thread.last_date.desc().nulls_last())
        .limit(50)
    ).all()
    positions = session.execute(
        select(Position, Message, Thread, MailingList.name)
        .join(Message, Position.message_pk == Message.id)
        .join(Thread, Position.thread_id == Thread.id)
        .join(MailingList, Message.list_id == MailingList.id)
        .where(
            Position.participant_id == person.id,
            readable_list_filter(),
            visible_messages(),
            Position.stance != "none",
        )
        .order_by(Message.date_utc.desc())
        .limit(50)
    ).all()
    return render_template(
        "participant.html",
        person=person,
        name=name,
        lists=lists,
        activity=bars(values, labels, width=240, height=32, title="Messages per month"),
        total=sum(n for _, n in lists),
        threads=threads,
        positions=positions,
    )
