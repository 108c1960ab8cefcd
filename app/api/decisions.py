"""Decisions, their links to discussions, and tags, as JSON; the writes call the same
domain services as the web forms (app.governance), as the token's user."""

from __future__ import annotations

from dataclasses import fields as dataclass_fields
from typing import Any

from flask import Response, jsonify, request, url_for
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.access import readable_list_filter, reader
from app.api import params
from app.api import serializers as out
from app.api.archive import listing, not_found, readable_thread, thread_tags_of
from app.api.blueprint import bp
from app.api.identity import require
from app.api.pagination import Key, keyset_page
from app.api.writes import Field, committed, json_body
from app.db import db_session
from app.exports import decision_record
from app.governance import (
    DecisionFields,
    create_decision,
    link_decision,
    set_link_state,
    set_thread_tags,
    unlink,
    update_decision,
)
from app.models import (
    DECISION_STATUSES,
    LINK_RELATIONS,
    Decision,
    DecisionLink,
    MailingList,
    Message,
    Tag,
    Thread,
    decision_tags,
    thread_tags,
)
from ingest.message_ids import bracketed

TAG_FIELD = Field("strings", 'Tags, e.g. ["interop", "defcore"].', max_length=50)
DECISION_FIELDS = {
    "title": Field("string", "What was decided, in a line.", max_length=500, min_length=1),
    "summary": Field("string", "A short summary.", max_length=5000),
    "body_markdown": Field("string", "The full text, in Markdown.", max_length=100_000),
    "decided_by": Field("string", "The body that decided.", max_length=200),
    "status": Field("string", "Where the decision stands.", choices=DECISION_STATUSES),
    "decided_on": Field("day", "When it was decided.", nullable=True),
    "outcome": Field("string", "What was decided.", max_length=20_000),
    "rationale": Field("string", "Why.", max_length=20_000),
    "announced_by": Field(
        "string", "Message-ID of the announcement.", max_length=1000, nullable=True
    ),
    "supersedes": Field(
        "string", "Slug of the decision this one replaces.", max_length=200, nullable=True
    ),
    "tags": TAG_FIELD,
}
LINK_FIELDS = {
    "thread": Field("integer", "The thread's `id` (give a thread or a message_id)."),
    "message_id": Field("string", "One exact message, by Message-ID.", max_length=1000),
    "relation": Field("string", "What the discussion was to the decision.", choices=LINK_RELATIONS),
    "note": Field("string", "Why it is linked.", max_length=2000),
    "state": Field(
        "string", "Confirmed, or a suggestion for an editor.", choices=("confirmed", "suggested")
    ),
}
LINK_STATE_FIELDS = {
    "state": Field("string", "Confirm or dismiss a suggestion.", choices=("confirmed", "dismissed"))
}
THREAD_TAG_FIELDS = {"tags": TAG_FIELD}


def decision_body(session: Session, decision: Decision) -> dict[str, Any]:
    """The `quorum export decisions` record (links limited to what the caller may read),
    with the API's id, the Markdown body, timestamps and links."""
    return decision_record(session, decision, reader()) | {
        "id": decision.id,
        "body_markdown": decision.body_markdown,
        "created_at": out.utc(decision.created_at),
        "updated_at": out.utc(decision.updated_at),
        "urls": {
            "self": url_for("api.get_decision", slug=decision.slug),
            "html": url_for("decisions.show", slug=decision.slug),
        },
    }


def _decision(session: Session, slug: str) -> Decision:
    found = session.scalar(select(Decision).where(Decision.slug == params.path_text(slug)))
    if found is None:
        raise not_found("decision with that slug")
    return found


@bp.get("/decisions")
def list_decisions() -> Response:
    """Decisions, newest first; filters: status, tag."""
    session = db_session()
    query = select(Decision)
    status = params.choice("status", DECISION_STATUSES)
    if status is not None:
        query = query.where(Decision.status == status)
    tag = params.text("tag", max_length=100)
    if tag is not None:
        query = query.where(Decision.tags.any(Tag.name == tag))
    page = keyset_page(session, "decisions", query, [Key(Decision.id, int, descending=True)])
    return listing(page, [decision_body(session, d) for d in page.rows])


@bp.get("/decisions/<slug>")
def get_decision(slug: str) -> Response:
    session = db_session()
    return jsonify(decision_body(session, _decision(session, slug)))


def _fields_of(session: Session, decision: Decision) -> DecisionFields:
    """The decision as it stands, in the form the domain services take."""
    announced = (
        session.get(Message, decision.announced_by_message_pk)
        if decision.announced_by_message_pk
        else None
    )
    supersedes = session.get(Decision, decision.supersedes_id) if decision.supersedes_id else None
    return DecisionFields(
        title=decision.title,
        summary=decision.summary,
        body_markdown=decision.body_markdown,
        decided_by=decision.decided_by,
        status=decision.status,
        decided_on=decision.decided_on,
        outcome=decision.outcome,
        rationale=decision.rationale,
        announced_by=announced.message_id if announced else None,
        supersedes=supersedes.slug if supersedes else None,
        tags=[t.name for t in decision.tags],
    )


def _with(base: DecisionFields, changes: dict[str, Any]) -> DecisionFields:
    names = {f.name for f in dataclass_fields(DecisionFields)}
    current = {name: getattr(base, name) for name in names}
    return DecisionFields(**(current | changes))


@bp.post("/decisions")
def create_decision_view() -> tuple[Response, int, dict[str, str]]:
    user = require("edit_decisions")
    body = json_body(DECISION_FIELDS, required=("title",))
    session = db_session()
    with committed(session):
        decision = create_decision(session, _with(DecisionFields(title=""), body), user.id)
    location = url_for("api.get_decision", slug=decision.slug)
    return jsonify(decision_body(session, decision)), 201, {"Location": location}


@bp.patch("/decisions/<slug>")
def update_decision_view(slug: str) -> Response:
    """Change some fields; the others keep their values."""
    user = require("edit_decisions")
    body = json_body(DECISION_FIELDS)
    session = db_session()
    decision = _decision(session, slug)
    with committed(session):
        update_decision(session, decision, _with(_fields_of(session, decision), body), user.id)
    return jsonify(decision_body(session, decision))


def _readable_message_pk(session: Session, message_id: str) -> int | None:
    return session.scalar(
        select(Message.id)
        .join(MailingList, Message.list_id == MailingList.id)
        .where(Message.message_id == bracketed(message_id), readable_list_filter())
        .order_by(Message.id)
        .limit(1)
    )


@bp.post("/decisions/<slug>/links")
def link_decision_view(slug: str) -> tuple[Response, int]:
    """Link a thread, or one exact message, to the decision."""
    user = require("link_discussions")
    body = json_body(LINK_FIELDS)
    session = db_session()
    decision = _decision(session, slug)
    thread_id = body.get("thread")
    if thread_id is not None:
        readable_thread(session, thread_id)
    message_pk = None
    if body.get("message_id") is not None:
        message_pk = _readable_message_pk(session, body["message_id"])
        if message_pk is None:
            raise not_found("message with that Message-ID")
    with committed(session):
        link_decision(
            session,
            decision,
            user.id,
            thread_id=thread_id,
            message_pk=message_pk,
            relation=body.get("relation", "discussion"),
            note=body.get("note", ""),
            state=body.get("state", "confirmed"),
        )
    return jsonify(decision_body(session, decision)), 201


def _link(session: Session, decision: Decision, link_id: int) -> DecisionLink:
    link = session.get(DecisionLink, link_id)
    if link is None or link.decision_id != decision.id:
        raise not_found("link with that id on this decision")
    return link


@bp.route("/decisions/<slug>/links/<id:link_id>", methods=["PATCH", "DELETE"])
def link_view(slug: str, link_id: int) -> Response | tuple[str, int]:
    """Confirm or dismiss a suggested link (PATCH), or remove it (DELETE). One rule serves
    both methods: with a rule each, an id out of range answered 405 rather than 404."""
    if request.method == "DELETE":
        return _unlink(slug, link_id)
    return _set_link_state(slug, link_id)


def _set_link_state(slug: str, link_id: int) -> Response:
    user = require("link_discussions")
    body = json_body(LINK_STATE_FIELDS, required=("state",))
    session = db_session()
    decision = _decision(session, slug)
    link = _link(session, decision, link_id)
    with committed(session):
        set_link_state(session, link, body["state"], user.id)
    return jsonify(decision_body(session, decision))


def _unlink(slug: str, link_id: int) -> tuple[str, int]:
    user = require("link_discussions")
    session = db_session()
    link = _link(session, _decision(session, slug), link_id)
    with committed(session):
        unlink(session, link, user.id)
    return "", 204


@bp.put("/threads/<id:thread_id>/tags")
def set_thread_tags_view(thread_id: int) -> Response:
    """Replace the thread's tags."""
    user = require("edit_tags")
    body = json_body(THREAD_TAG_FIELDS, required=("tags",))
    session = db_session()
    thread, list_name = readable_thread(session, thread_id)
    with committed(session):
        set_thread_tags(session, thread, body["tags"], user.id)
    return jsonify(
        out.thread(thread, list_name, thread_tags_of(session, [thread.id]).get(thread.id, []))
    )


@bp.get("/tags")
def list_tags() -> Response:
    """Tags by name, with how many decisions and threads carry each."""
    session = db_session()
    decisions = (
        select(func.count())
        .select_from(decision_tags)
        .where(decision_tags.c.tag_id == Tag.id)
        .scalar_subquery()
    )
    threads = (
        select(func.count())
        .select_from(thread_tags)
        .join(Thread, Thread.id == thread_tags.c.thread_id)
        .join(MailingList, MailingList.id == Thread.list_id)
        .where(thread_tags.c.tag_id == Tag.id, readable_list_filter())
        .scalar_subquery()
    )
    page = keyset_page(session, "tags", select(Tag.name, decisions, threads), [Key(Tag.name, str)])
    items = [
        {
            "name": name,
            "decision_count": d,
            "thread_count": t,
            "urls": {
                "decisions": url_for("api.list_decisions", tag=name),
                "threads": url_for("api.list_threads", tag=name),
            },
        }
        for name, d, t in page.rows
    ]
    return listing(page, items)
