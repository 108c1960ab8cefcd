"""Staff in the loop on positions: confirm or correct a participant's machine position in one
action (from a thread's positions panel or the editors' queue), the queue itself, and the
admin page that says which stance model is active and how it scored.

The actions are plain form posts that redirect back, so they work without JavaScript;
quorum.js posts the same forms with ``Accept: application/json`` and gets the participant's
new row (and the thread's tally) to put in place, so an editor works down a page without
reloading it. Both paths go through app.governance, which records the audit event.
"""

from __future__ import annotations

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    get_template_attribute,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from sqlalchemy import select
from werkzeug.wrappers import Response
from wtforms.fields.choices import SelectChoice

from app.access import reader
from app.db import db_session
from app.governance import ValidationError, confirm_position, correct_position
from app.models import MailingList, Message, Thread
from app.numbers import MAX_ID, query_number, whole_number
from app.position_review import LOW_CONFIDENCE, review_queue
from app.positions import (
    SHIPPED_MODEL,
    active_model,
    active_model_path,
    tally,
    thread_positions,
)
from app.settings import settings_of
from app.web.auth import current_user_id, requires
from app.web.browse import readable_thread
from app.web.forms import CorrectionForm
from ingest.message_ids import url_key

bp = Blueprint("review", __name__)


def _wants_json() -> bool:
    """quorum.js asks for JSON; a browser's own form post asks for a page."""
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return best == "application/json"


def _queue_page() -> int | None:
    """The queue page a form was posted from (its rows carry it), to return there."""
    return whole_number(request.form.get("queue_page", ""), 1, MAX_ID)


def _back(mailing_list: MailingList, thread: Thread) -> str:
    page = _queue_page()
    if page is not None:
        return url_for("review.queue", page=page)
    return url_for("browse.thread_page", name=mailing_list.name, key=url_key(thread.key))


def _failed(mailing_list: MailingList, thread: Thread, errors: dict[str, str]) -> Response:
    if _wants_json():
        response = jsonify(errors=errors)
        response.status_code = 422
        return response
    for message in errors.values():
        flash(message, "error")
    return redirect(_back(mailing_list, thread))


def _done(mailing_list: MailingList, thread: Thread, participant_id: int, done: str) -> Response:
    """The thread page again, or (for quorum.js) the participant's new row and the tally."""
    if not _wants_json():
        flash(done)
        return redirect(_back(mailing_list, thread))
    positions = thread_positions(db_session(), thread.id, reader())
    entry = next(p for p in positions if p.participant_id == participant_id)
    row = render_template(
        "_position_row.html",
        p=entry,
        thread=thread,
        list_name=mailing_list.name,
        key=url_key(thread.key),
        queue_page=_queue_page(),
        correction_form=CorrectionForm(),
    )
    tally_lines = get_template_attribute("_position_macros.html", "tally_lines")
    return jsonify(message=done, row=row, tally=str(tally_lines(tally(positions))))


def _participant_in(thread: Thread, participant_id: int) -> None:
    """404 unless the participant wrote in the thread (as this reader may see it)."""
    found = db_session().scalar(
        select(Message.id)
        .where(Message.thread_id == thread.id, Message.participant_id == participant_id)
        .where(reader().messages)
        .limit(1)
    )
    if found is None:
        abort(404)


@bp.post("/lists/<name>/threads/<path:key>/positions")
@requires("correct_positions")
def correct(name: str, key: str) -> Response:
    """Staff's stance (and vote) for a participant, judged on the message whose machine
    position the row showed (the hidden ``message`` field)."""
    session = db_session()
    mailing_list, thread = readable_thread(session, name, key)
    form = CorrectionForm()
    form.participant.choices = [SelectChoice(str(int(request.form.get("participant", 0) or 0)))]
    if not form.validate_on_submit():
        return _failed(
            mailing_list,
            thread,
            {"form": "A correction needs a participant, a stance and a reason."},
        )
    _participant_in(thread, form.participant.data)
    judged = whole_number(form.message.data or "", 1, MAX_ID)
    message = session.get(Message, judged) if judged is not None else None
    if judged is not None and message is None:
        abort(404)
    try:
        correct_position(
            session,
            thread.id,
            form.participant.data,
            form.stance.data,
            form.vote.data,
            form.note.data or "",
            current_user_id(),
            message,
            reader(),
        )
    except ValidationError as error:
        session.rollback()
        return _failed(mailing_list, thread, error.errors)
    session.commit()
    return _done(mailing_list, thread, form.participant.data, "Position corrected.")


@bp.post("/lists/<name>/threads/<path:key>/positions/<int:participant_id>/confirm")
@requires("correct_positions")
def confirm(name: str, key: str, participant_id: int) -> Response:
    """Staff agree with the machine: its stance and vote become staff's (and a label)."""
    session = db_session()
    mailing_list, thread = readable_thread(session, name, key)
    _participant_in(thread, participant_id)
    try:
        confirm_position(session, thread.id, participant_id, current_user_id(), reader())
    except ValidationError as error:
        session.rollback()
        return _failed(mailing_list, thread, error.errors)
    session.commit()
    return _done(mailing_list, thread, participant_id, "Position confirmed.")


@bp.get("/positions/queue")
@requires("correct_positions")
def queue() -> str:
    page = query_number("page", 1, maximum=1000) or 1
    items, more = review_queue(db_session(), reader(), page)
    return render_template(
        "review_queue.html",
        items=items,
        page=page,
        more=more,
        low_confidence=LOW_CONFIDENCE,
        correction_form=CorrectionForm(),
        url_key=url_key,
    )


@bp.get("/admin/model")
@requires("view_model")
def model() -> str:
    """The stance model in use: the install's own when `quorum positions train` wrote one,
    else the shipped one, with the record `quorum positions status` prints."""
    home = settings_of(current_app).home
    path = active_model_path(home)
    info = active_model(home).info
    return render_template(
        "admin/model.html",
        path=path,
        shipped=path == SHIPPED_MODEL,
        info=info,
        evaluation=info.get("evaluation", {}),
    )
