"""Decisions: the index (filters, search, CSV/JSON/Atom), a decision with the discussions
that informed it, and the staff forms that create, edit and link them."""

from __future__ import annotations

import json
from datetime import MAXYEAR, MINYEAR, datetime

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from sqlalchemy import extract, select
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response

from app.access import readable_names, reader
from app.audience import announcement, decision_history, decision_links
from app.csv_export import csv_text
from app.db import db_session
from app.exports import decision_record
from app.governance import (
    DecisionFields,
    ValidationError,
    create_decision,
    set_link_state,
    unlink,
    update_decision,
)
from app.models import (
    DECISION_STATUSES,
    Decision,
    DecisionLink,
    Message,
    Tag,
)
from app.numbers import query_number
from app.positions import thread_positions
from app.search import index_of
from app.suggestions import suggest_discussions
from app.web.auth import current_user_id, requires
from app.web.charts import timeline
from app.web.feeds import absolute_url_for, atom_response, rfc3339
from app.web.forms import ActionForm, DecisionForm
from app.web.page_cache import cached_page

bp = Blueprint("decisions", __name__)


def filtered_decisions(session: Session) -> list[Decision]:
    """The decisions matching the index's filters (status, body, tag, year, text)."""
    query = select(Decision).order_by(
        Decision.decided_on.desc().nulls_last(), Decision.updated_at.desc()
    )
    args = request.args
    if args.get("status") in DECISION_STATUSES:
        query = query.where(Decision.status == args["status"])
    if args.get("body"):
        query = query.where(Decision.decided_by == args["body"])
    if args.get("tag"):
        query = query.where(Decision.tags.any(Tag.name == args["tag"]))
    year = query_number("year", minimum=MINYEAR, maximum=MAXYEAR)
    if year is not None:
        query = query.where(extract("year", Decision.decided_on) == year)
    if args.get("q"):
        pattern = f"%{args['q'].strip()}%"
        query = query.where(
            Decision.title.ilike(pattern)
            | Decision.summary.ilike(pattern)
            | Decision.outcome.ilike(pattern)
        )
    return list(session.scalars(query))


@bp.get("/decisions")
@cached_page
def index() -> str:
    session = db_session()
    decisions = filtered_decisions(session)
    bodies = sorted({b for b in session.scalars(select(Decision.decided_by)) if b})
    years = sorted(
        {d.year for d in session.scalars(select(Decision.decided_on)) if d}, reverse=True
    )
    tags = sorted(
        session.scalars(select(Tag.name).where(Tag.name.in_(select(Tag.name).join(Decision.tags))))
    )
    return render_template(
        "decisions/index.html",
        decisions=decisions,
        statuses=DECISION_STATUSES,
        bodies=bodies,
        years=years,
        tags=tags,
        args=request.args,
    )


@bp.get("/decisions.json")
def index_json() -> Response:
    session = db_session()
    records = [decision_record(session, d, reader()) for d in filtered_decisions(session)]
    response = Response(
        json.dumps(records, ensure_ascii=False, indent=1), mimetype="application/json"
    )
    response.headers["Content-Disposition"] = 'attachment; filename="decisions.json"'
    return response


@bp.get("/decisions.csv")
def index_csv() -> Response:
    rows = (
        [
            d.slug,
            d.title,
            d.status,
            d.decided_by,
            d.decided_on.isoformat() if d.decided_on else "",
            d.outcome,
            " ".join(t.name for t in d.tags),
            url_for("decisions.show", slug=d.slug, _external=True),
        ]
        for d in filtered_decisions(db_session())
    )
    header = ["slug", "title", "status", "decided_by", "decided_on", "outcome", "tags", "url"]
    response = Response(csv_text(header, rows), mimetype="text/csv")
    response.headers["Content-Disposition"] = 'attachment; filename="decisions.csv"'
    return response


@bp.get("/decisions/feed.atom")
def feed() -> Response:
    decisions = (
        db_session().scalars(select(Decision).order_by(Decision.updated_at.desc()).limit(50)).all()
    )
    entries = [
        {
            "id": absolute_url_for("decisions.show", slug=d.slug),
            "title": f"[{d.status}] {d.title}",
            "link": absolute_url_for("decisions.show", slug=d.slug),
            "updated": rfc3339(d.updated_at),
            "author": d.decided_by or None,
            "summary": d.summary or d.outcome,
        }
        for d in decisions
    ]
    return atom_response(
        feed_id=absolute_url_for("decisions.feed"),
        title="Decisions",
        link=absolute_url_for("decisions.index"),
        updated=rfc3339(max((d.updated_at for d in decisions), default=None)),
        entries=entries,
    )


def _fields(form: DecisionForm) -> DecisionFields:
    return DecisionFields(
        title=form.title.data or "",
        summary=form.summary.data or "",
        body_markdown=form.body_markdown.data or "",
        decided_by=form.decided_by.data or "",
        status=form.status.data,
        decided_on=form.decided_on.data,
        outcome=form.outcome.data or "",
        rationale=form.rationale.data or "",
        announced_by=form.announced_by.data or None,
        supersedes=form.supersedes.data or None,
        tags=(form.tags.data or "").split(","),
    )


def _show_errors(form: DecisionForm, error: ValidationError) -> None:
    for name, message in error.errors.items():
        field = getattr(form, name, None)
        if field is not None:
            field.errors = [*field.errors, message]


@bp.route("/decisions/new", methods=["GET", "POST"])
@requires("edit_decisions")
def new() -> str | Response | tuple[str, int]:
    form = DecisionForm()
    if form.validate_on_submit():
        session = db_session()
        try:
            decision = create_decision(session, _fields(form), current_user_id())
        except ValidationError as error:
            _show_errors(form, error)
        else:
            session.commit()
            return redirect(url_for("decisions.show", slug=decision.slug))
    status = 422 if form.errors or request.method == "POST" else 200
    return render_template("decisions/form.html", form=form, decision=None), status


@bp.route("/decisions/<slug>/edit", methods=["GET", "POST"])
@requires("edit_decisions")
def edit(slug: str) -> str | Response | tuple[str, int]:
    session = db_session()
    decision = _decision(session, slug)
    form = DecisionForm(obj=decision if request.method == "GET" else None)
    if request.method == "GET":
        form.tags.data = ", ".join(t.name for t in decision.tags)
        form.announced_by.data = (
            session.get_one(Message, decision.announced_by_message_pk).message_id
            if decision.announced_by_message_pk
            else ""
        )
        form.supersedes.data = (
            session.get_one(Decision, decision.supersedes_id).slug if decision.supersedes_id else ""
        )
    if form.validate_on_submit():
        try:
            update_decision(session, decision, _fields(form), current_user_id())
        except ValidationError as error:
            _show_errors(form, error)
        else:
            session.commit()
            return redirect(url_for("decisions.show", slug=decision.slug))
    status = 422 if request.method == "POST" else 200
    return render_template("decisions/form.html", form=form, decision=decision), status


def _decision(session: Session, slug: str) -> Decision:
    decision = session.scalar(select(Decision).where(Decision.slug == slug))
    if decision is None:
        abort(404)
    return decision


@bp.get("/decisions/<slug>")
@cached_page
def show(slug: str) -> str:
    session = db_session()
    decision = _decision(session, slug)
    audience = reader()
    rows = decision_links(session, decision, audience)
    confirmed = [r for r in rows if r[0].state == "confirmed"]
    suggested = [r for r in rows if r[0].state == "suggested"]
    confirmed.sort(key=lambda r: (r[2].date_utc if r[2] else r[1].first_date) or datetime.min)
    thread_ids = sorted({thread.id for _, thread, _, _ in confirmed})
    threads = {thread.id: (thread, name) for _, thread, _, name in confirmed}
    positions = {tid: thread_positions(session, tid, audience) for tid in thread_ids}
    dates = session.scalars(
        select(Message.date_utc).where(Message.thread_id.in_(thread_ids), audience.messages)
    ).all()
    related = {
        "supersedes": session.get(Decision, decision.supersedes_id)
        if decision.supersedes_id
        else None,
        "superseded_by": session.scalars(
            select(Decision).where(Decision.supersedes_id == decision.id)
        ).all(),
        "announcement": announcement(session, decision, audience),
    }
    return render_template(
        "decisions/show.html",
        decision=decision,
        links=confirmed,
        suggested=suggested,
        threads=threads,
        positions=positions,
        timeline=timeline(list(dates), "Discussion activity per day", bar_width=3),
        history=decision_history(session, decision, audience),
        related=related,
    )


@bp.post("/decisions/<slug>/links/<int:link_id>/<action>")
@requires("link_discussions")
def link_action(slug: str, link_id: int, action: str) -> Response:
    """Confirm or dismiss a suggested link, or remove a link."""
    if not ActionForm().validate_on_submit():
        abort(400)
    session = db_session()
    decision = _decision(session, slug)
    link = session.get(DecisionLink, link_id)
    if link is None or link.decision_id != decision.id:
        abort(404)
    if action in ("confirm", "dismiss"):
        set_link_state(
            session, link, "confirmed" if action == "confirm" else "dismissed", current_user_id()
        )
    elif action == "remove":
        unlink(session, link, current_user_id())
    else:
        abort(404)
    session.commit()
    flash(f"Link {action}ed." if action != "dismiss" else "Suggestion dismissed.")
    return redirect(url_for("decisions.show", slug=slug))


@bp.post("/decisions/<slug>/suggestions")
@requires("link_discussions")
def suggest(slug: str) -> Response:
    """Rank candidate threads with the search index and keep them as suggestions, each with
    the reason it was suggested, for an editor to confirm or dismiss."""
    if not ActionForm().validate_on_submit():
        abort(400)
    session = db_session()
    decision = _decision(session, slug)
    made = suggest_discussions(
        session, index_of(current_app), decision, current_user_id(), visible_lists=readable_names()
    )
    session.commit()
    flash(
        f"{len(made)} discussion{'s' if len(made) != 1 else ''} suggested."
        if made
        else "No new discussion to suggest."
    )
    return redirect(url_for("decisions.show", slug=slug))
