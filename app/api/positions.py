"""Positions as JSON: what the machine read in each message (with its evidence), each
participant's current position in a thread (staff corrections win), and corrections."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask import Response, jsonify
from sqlalchemy import select

from app.access import readable_list_filter, reader, visible_messages
from app.api import params
from app.api.archive import listing, not_found, readable_list_id, readable_thread
from app.api.blueprint import bp
from app.api.identity import require
from app.api.pagination import Key, keyset_page
from app.api.writes import Field, committed, json_body
from app.audience import participant_names
from app.db import db_session
from app.governance import ValidationError, correct_position
from app.models import STANCES, MailingList, Message, Participant, Position, Thread
from app.positions import ParticipantPosition, tally, thread_positions
from ingest.message_ids import bracketed

CORRECTION_FIELDS = {
    "stance": Field("string", "The participant's stance.", choices=STANCES),
    "vote": Field("string", "A vote such as +1 or -0.5.", max_length=16, nullable=True),
    "note": Field("string", "Why the position is corrected.", max_length=2000, min_length=1),
    "message_id": Field(
        "string",
        "The Message-ID of the participant's message whose machine position is judged (it "
        "becomes a training label); default: the one their current position comes from.",
        max_length=1000,
        nullable=True,
    ),
}


def _utc_text(value: object) -> object:
    """History dates come as naive UTC text; the API always gives the offset."""
    if isinstance(value, str):
        return datetime.fromisoformat(value).replace(tzinfo=UTC).isoformat()
    return value


def current_position(entry: ParticipantPosition) -> dict[str, Any]:
    return {
        "participant_id": entry.participant_id,
        "participant": entry.name,
        "stance": entry.stance,
        "vote": entry.vote,
        "evidence": entry.evidence,
        "message_id": entry.message_id,
        "source": entry.source,
        "unsure": entry.unsure,
        "history": [
            {key: _utc_text(value) if key == "date" else value for key, value in item.items()}
            for item in entry.history
        ],
    }


def _thread_positions_body(thread: Thread) -> dict[str, Any]:
    positions = thread_positions(db_session(), thread.id, reader())
    counts = tally(positions)
    return {
        "thread": thread.id,
        "thread_id": thread.key,
        "positions": [current_position(p) for p in positions],
        "tally": {"stances": counts.stances, "votes": counts.votes, "unsure": counts.unsure},
    }


@bp.get("/threads/<id:thread_id>/positions")
def thread_positions_view(thread_id: int) -> Response:
    """Each participant's current position in the thread, with how it came about."""
    found, _ = readable_thread(db_session(), thread_id)
    return jsonify(_thread_positions_body(found))


@bp.put("/threads/<id:thread_id>/positions/<id:participant_id>")
def correct_thread_position(thread_id: int, participant_id: int) -> Response:
    """Staff's correction of a participant's position in a thread (stance, vote, note, and
    the message judged); a confirmation is a correction to the machine's own stance."""
    user = require("correct_positions")
    session = db_session()
    found, _ = readable_thread(session, thread_id)
    if session.get(Participant, participant_id) is None:
        raise not_found("participant with that id")
    body = json_body(CORRECTION_FIELDS, required=("stance", "note"))
    audience = reader()
    with committed(session):
        correct_position(
            session,
            found.id,
            participant_id,
            body["stance"],
            body.get("vote"),
            body["note"],
            user.id,
            _judged_message(found, body.get("message_id")),
            audience,
        )
    return jsonify(_thread_positions_body(found))


def _judged_message(thread: Thread, message_id: str | None) -> Message | None:
    """The thread's message a correction names, as the reader may see it; a Message-ID
    that names none of them is the client's 422 (raised inside the write)."""
    if message_id is None:
        return None
    message = db_session().scalar(
        select(Message)
        .where(
            Message.thread_id == thread.id,
            Message.message_id == bracketed(message_id),
            visible_messages(),
        )
        .limit(1)
    )
    if message is None:
        raise ValidationError({"message_id": "No message of this thread has that Message-ID."})
    return message


def message_position(
    position: Position, message_id: str, list_name: str, thread_key: str | None, name: str | None
) -> dict[str, Any]:
    return {
        "message_id": message_id,
        "list": list_name,
        "thread_id": thread_key,
        "thread": position.thread_id,
        "participant_id": position.participant_id,
        "participant": name,
        "stance": position.stance,
        "vote": position.vote,
        "evidence": position.evidence,
        "evidence_start": position.evidence_start,
        "evidence_end": position.evidence_end,
        "confidence": round(position.confidence, 3),
        "method": position.method,
        "unsure": position.unsure,
    }


@bp.get("/positions")
def list_positions() -> Response:
    """The machine's reading of each message; filters: list, thread, participant, stance,
    message_id. Evidence is always an exact substring of the author's own words."""
    session = db_session()
    query = (
        select(Position, Message.message_id, MailingList.name, Thread.key)
        .join(Message, Message.id == Position.message_pk)
        .join(MailingList, Message.list_id == MailingList.id)
        .outerjoin(Thread, Thread.id == Message.thread_id)
        .where(readable_list_filter(), visible_messages())
    )
    list_name = params.text("list", max_length=200)
    if list_name is not None:
        query = query.where(Message.list_id == readable_list_id(session, list_name))
    for name, column in (("thread", Message.thread_id), ("participant", Position.participant_id)):
        value = params.integer(name)
        if value is not None:
            query = query.where(column == value)
    stance = params.choice("stance", STANCES)
    if stance is not None:
        query = query.where(Position.stance == stance)
    message_id = params.text("message_id", max_length=1000)
    if message_id is not None:
        query = query.where(Message.message_id == bracketed(message_id))
    page = keyset_page(session, "positions", query, [Key(Position.id, int)])
    positions = [row[0] for row in page.rows]
    names = participant_names(
        session, reader(), [p.participant_id for p in positions if p.participant_id]
    )
    items = [
        message_position(
            position, message_id, list_name, thread_key, names.get(position.participant_id or 0)
        )
        for position, message_id, list_name, thread_key in page.rows
    ]
    return listing(page, items)
