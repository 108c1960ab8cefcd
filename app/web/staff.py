"""Staff actions on the archive — link a thread or message to a decision, tag a thread,
hide/restore/purge a message — plus tag pages, user management and the audit view
(positions are reviewed in app.web.review). Every change goes through app.governance,
which records it."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from sqlalchemy import select
from werkzeug.wrappers import Response

from app.access import can, readable_list_filter
from app.accounts import create_user, update_user
from app.db import db_session
from app.governance import (
    ValidationError,
    link_decision,
    normalise_tags,
    purge,
    set_hidden,
    set_thread_tags,
)
from app.models import (
    Decision,
    DecisionEvent,
    MailingList,
    Message,
    Tag,
    Thread,
    User,
    thread_tags,
)
from app.numbers import query_number
from app.web.auth import current_user_id, requires
from app.web.browse import readable_thread
from app.web.forms import ActionForm, TagsForm, UserForm, UserUpdateForm, link_form
from app.web.messages import readable_copies
from ingest.message_ids import url_key

bp = Blueprint("staff", __name__)


def _flash_errors(error: ValidationError) -> None:
    for message in error.errors.values():
        flash(message, "error")


def _thread(name: str, key: str) -> Thread:
    return readable_thread(db_session(), name, key)[1]


def _chosen_copies(message_id: str) -> list[Message]:
    """What a staff action on a Message-ID acts on: the copy the `copy` field names by its
    database id, else every copy (a takedown must reach each copy readers could reach)."""
    copies = readable_copies(message_id)
    wanted = request.values.get("copy", "")
    if wanted:
        copies = [m for m in copies if str(m.id) == wanted]
    if not copies:
        abort(404)
    return copies


def _back_to(message: Message, chosen: list[Message]) -> str:
    """The message page, showing the copy acted on when staff chose one."""
    copy = chosen[0].id if len(chosen) == 1 and request.values.get("copy") else None
    return url_for("messages.permalink", message_id=url_key(message.message_id), copy=copy)


def _link(back: str, *, thread_id: int | None = None, message_pk: int | None = None) -> Response:
    form = link_form()
    if not form.validate_on_submit():
        flash("Choose a decision and a relation.", "error")
        return redirect(back)
    session = db_session()
    decision = session.get(Decision, form.decision.data)
    if decision is None:
        abort(404)
    try:
        link_decision(
            session,
            decision,
            current_user_id(),
            thread_id=thread_id,
            message_pk=message_pk,
            relation=form.relation.data,
            note=form.note.data or "",
        )
    except ValidationError as error:
        _flash_errors(error)
        return redirect(back)
    session.commit()
    flash(f"Linked to “{decision.title}” as {form.relation.data}.")
    return redirect(back)


@bp.post("/lists/<name>/threads/<path:key>/link")
@requires("link_discussions")
def link_thread(name: str, key: str) -> Response:
    thread = _thread(name, key)
    return _link(
        url_for("browse.thread_page", name=name, key=url_key(thread.key)), thread_id=thread.id
    )


@bp.post("/m/<path:message_id>/link")
@requires("link_discussions")
def link_message(message_id: str) -> Response:
    chosen = _chosen_copies(message_id)
    return _link(_back_to(chosen[0], chosen), message_pk=chosen[0].id)


@bp.post("/lists/<name>/threads/<path:key>/tags")
@requires("edit_tags")
def tag_thread(name: str, key: str) -> Response:
    thread = _thread(name, key)
    form = TagsForm()
    back = url_for("browse.thread_page", name=name, key=url_key(thread.key))
    if not form.validate_on_submit():
        abort(400)
    try:
        set_thread_tags(db_session(), thread, (form.tags.data or "").split(","), current_user_id())
    except ValidationError as error:
        _flash_errors(error)
        return redirect(back)
    db_session().commit()
    flash("Tags saved.")
    return redirect(back)


@bp.post("/m/<path:message_id>/<action>")
@requires("hide_messages")
def message_action(message_id: str, action: str) -> Response:
    """Hide a message on a takedown request, restore it, or (admins) purge its content: the
    copy chosen, else every copy of the Message-ID, all or none."""
    form = ActionForm()
    if not form.validate_on_submit():
        abort(400)
    chosen = _chosen_copies(message_id)
    session = db_session()
    try:
        for message in chosen:
            if action == "hide":
                set_hidden(session, message, True, form.note.data or "", current_user_id())
            elif action == "restore":
                set_hidden(session, message, False, form.note.data or "", current_user_id())
            elif action == "purge":
                if not can("purge_messages"):
                    abort(403)
                purge(session, message, form.note.data or "", current_user_id())
            else:
                abort(404)
    except ValidationError as error:
        session.rollback()
        _flash_errors(error)
    else:
        session.commit()
        flash(
            {
                "hide": "Message hidden.",
                "restore": "Message restored.",
                "purge": "Message content purged.",
            }[action]
        )
    return redirect(_back_to(chosen[0], chosen))


@bp.get("/tags/<name>")
def tag_page(name: str) -> str:
    session = db_session()
    normalised = normalise_tags([name])
    tag = session.scalar(select(Tag).where(Tag.name == normalised[0])) if normalised else None
    if tag is None:
        abort(404)
    decisions = session.scalars(
        select(Decision)
        .where(Decision.tags.any(Tag.id == tag.id))
        .order_by(Decision.decided_on.desc().nulls_last())
    ).all()
    threads = session.execute(
        select(Thread, MailingList.name)
        .join(thread_tags, thread_tags.c.thread_id == Thread.id)
        .join(MailingList, Thread.list_id == MailingList.id)
        .where(thread_tags.c.tag_id == tag.id, readable_list_filter())
        .order_by(Thread.last_date.desc().nulls_last())
    ).all()
    return render_template("tag.html", tag=tag, decisions=decisions, threads=threads)


@bp.route("/admin/users", methods=["GET", "POST"])
@requires("manage_users")
def users() -> str | Response:
    session = db_session()
    form = UserForm()
    if form.validate_on_submit():
        try:
            create_user(
                session, form.name.data, form.role.data, form.password.data, current_user_id()
            )
        except ValidationError as error:
            for name, message in error.errors.items():
                getattr(form, name).errors = [message]
        else:
            session.commit()
            flash(f"Created {form.role.data} {form.name.data}.")
            return redirect(url_for("staff.users"))
    accounts = session.scalars(select(User).order_by(User.name)).all()
    return render_template(
        "admin/users.html", form=form, accounts=accounts, update_form=UserUpdateForm
    )


@bp.post("/admin/users/<int:user_id>")
@requires("manage_users")
def update(user_id: int) -> Response:
    session = db_session()
    user = session.get(User, user_id)
    if user is None:
        abort(404)
    form = UserUpdateForm()
    if not form.validate_on_submit():
        abort(400)
    if user.id == current_user_id() and (form.role.data != "admin" or not form.active.data):
        flash("You cannot remove your own admin access.", "error")
        return redirect(url_for("staff.users"))
    update_user(
        session, user, role=form.role.data, active=form.active.data, by_user_id=current_user_id()
    )
    session.commit()
    flash(f"Updated {user.name}.")
    return redirect(url_for("staff.users"))


@bp.get("/admin/audit")
@requires("view_audit")
def audit() -> str:
    page = query_number("page", 1) or 1
    events = (
        db_session()
        .execute(
            select(DecisionEvent, User.name, Decision.slug)
            .outerjoin(User, User.id == DecisionEvent.user_id)
            .outerjoin(Decision, Decision.id == DecisionEvent.decision_id)
            .order_by(DecisionEvent.created_at.desc(), DecisionEvent.id.desc())
            .offset((page - 1) * 100)
            .limit(100)
        )
        .all()
    )
    return render_template("admin/audit.html", events=events, page=page)
