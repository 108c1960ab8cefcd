"""Decisions and the staff changes around them, each recorded as an append-only event.

The web forms and the JSON API both call these functions, so a rule (what a valid decision
is, what a change records) lives in one place. Functions validate, change the session and
append a DecisionEvent; the caller commits.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from app.audience import EVERYTHING, Audience
from app.models import (
    DECISION_STATUSES,
    LINK_RELATIONS,
    STANCES,
    Decision,
    DecisionEvent,
    DecisionLink,
    Message,
    Position,
    PositionOverride,
    Tag,
    Thread,
    thread_tags,
    utcnow,
)
from app.positions import ParticipantPosition, thread_positions
from app.threads import refresh_thread_stats
from ingest.stance import StanceName

LINK_STATES = ("confirmed", "suggested", "dismissed")
_TAG = re.compile(r"^[a-z0-9][a-z0-9._-]{0,49}$")
_VOTE = re.compile(r"^[+-]?\d+(?:\.\d+)?$")


class ValidationError(ValueError):
    """Field → message, for inline form errors and API problem details alike."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


@dataclass
class DecisionFields:
    title: str
    summary: str = ""
    body_markdown: str = ""
    decided_by: str = ""
    status: str = "proposed"
    decided_on: date | None = None
    outcome: str = ""
    rationale: str = ""
    announced_by: str | None = None  # a Message-ID
    supersedes: str | None = None  # another decision's slug
    tags: list[str] = field(default_factory=list)


def slugify(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    return slug[:80] or "decision"


def normalise_tags(names: list[str]) -> list[str]:
    """Tags as people type them ("Interop, DefCore") to their stored form, without repeats."""
    seen: dict[str, None] = {}
    for name in names:
        tag = "-".join(name.strip().lower().split())
        if tag:
            seen.setdefault(tag, None)
    return list(seen)


def record(
    session: Session,
    kind: str,
    user_id: int | None,
    *,
    decision_id: int | None = None,
    subject_type: str = "decision",
    subject_id: int | None = None,
    changes: dict[str, Any] | None = None,
) -> DecisionEvent:
    event = DecisionEvent(
        decision_id=decision_id,
        kind=kind,
        subject_type=subject_type,
        subject_id=subject_id,
        changes=changes or {},
        user_id=user_id,
        created_at=utcnow(),
    )
    session.add(event)
    return event


#: session.info key: threads whose search documents a staff change made stale.
TOUCHED_THREADS = "quorum.touched_threads"
#: session.info key, set when a change erased text that the index files must lose too.
ERASED = "quorum.erased"


def _touch(session: Session, thread_id: int | None) -> None:
    """Note a thread whose index documents must be rewritten once the change commits
    (see app.index_sync)."""
    if thread_id is not None:
        session.info.setdefault(TOUCHED_THREADS, set()).add(thread_id)


def _link_thread(session: Session, link: DecisionLink) -> int | None:
    if link.thread_id is not None:
        return link.thread_id
    message = session.get(Message, link.message_pk) if link.message_pk else None
    return message.thread_id if message else None


def _message_by_id(session: Session, message_id: str) -> Message | None:
    wanted = message_id.strip()
    if not wanted.startswith("<"):
        wanted = f"<{wanted}>"
    return session.scalars(select(Message).where(Message.message_id == wanted).limit(1)).first()


def _resolve(
    session: Session, fields: DecisionFields, current: Decision | None
) -> tuple[dict[str, Any], list[str]]:
    """Validated column values and tags, or ValidationError naming every bad field."""
    errors: dict[str, str] = {}
    title = fields.title.strip()
    if not title:
        errors["title"] = "A decision needs a title."
    elif len(title) > 500:
        errors["title"] = "Keep the title under 500 characters."
    if len(fields.decided_by.strip()) > 200:
        errors["decided_by"] = "Keep the deciding body under 200 characters."
    if fields.status not in DECISION_STATUSES:
        errors["status"] = f"Status must be one of: {', '.join(DECISION_STATUSES)}."
    if fields.status in ("accepted", "rejected") and fields.decided_on is None:
        errors["decided_on"] = "An accepted or rejected decision needs the date it was taken."
    announced_pk = None
    if fields.announced_by:
        message = _message_by_id(session, fields.announced_by)
        if message is None:
            errors["announced_by"] = "No archived message has that Message-ID."
        else:
            announced_pk = message.id
    supersedes_id = None
    if fields.supersedes:
        other = session.scalar(select(Decision).where(Decision.slug == fields.supersedes.strip()))
        if other is None:
            errors["supersedes"] = "No decision has that slug."
        elif current is not None and other.id == current.id:
            errors["supersedes"] = "A decision cannot supersede itself."
        else:
            supersedes_id = other.id
    tags = normalise_tags(fields.tags)
    bad = [t for t in tags if not _TAG.match(t)]
    if bad:
        errors["tags"] = f"Tags are short words of letters, digits, '.', '_' or '-': {bad[0]!r}."
    if errors:
        raise ValidationError(errors)
    values = {
        "title": title,
        "summary": fields.summary.strip(),
        "body_markdown": fields.body_markdown,
        "decided_by": fields.decided_by.strip(),
        "status": fields.status,
        "decided_on": fields.decided_on,
        "outcome": fields.outcome.strip(),
        "rationale": fields.rationale.strip(),
        "announced_by_message_pk": announced_pk,
        "supersedes_id": supersedes_id,
    }
    return values, tags


def _tags(session: Session, names: list[str]) -> list[Tag]:
    existing = {t.name: t for t in session.scalars(select(Tag).where(Tag.name.in_(names)))}
    for name in names:
        if name not in existing:
            existing[name] = Tag(name=name)
            session.add(existing[name])
    return [existing[n] for n in names]


def _unique_slug(session: Session, title: str) -> str:
    base = slugify(title)
    slug, n = base, 2
    while session.scalar(select(Decision.id).where(Decision.slug == slug)) is not None:
        slug, n = f"{base}-{n}", n + 1
    return slug


def _jsonable(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date) else value


def create_decision(
    session: Session, fields: DecisionFields, user_id: int | None, slug: str | None = None
) -> Decision:
    """A new decision; its slug comes from the title unless one is given (imports keep
    theirs, so links to the decision's page stay valid)."""
    values, tags = _resolve(session, fields, None)
    if slug is not None and (
        not re.fullmatch(r"[a-z0-9][a-z0-9-]{0,199}", slug)
        or session.scalar(select(Decision.id).where(Decision.slug == slug)) is not None
    ):
        raise ValidationError({"slug": f"{slug!r} is not a free slug of a-z, 0-9 and '-'."})
    decision = Decision(slug=slug or _unique_slug(session, values["title"]), **values)
    decision.tags = _tags(session, tags)
    session.add(decision)
    session.flush()
    record(
        session,
        "decision.created",
        user_id,
        decision_id=decision.id,
        subject_id=decision.id,
        changes={k: _jsonable(v) for k, v in values.items()} | {"tags": tags},
    )
    return decision


def update_decision(
    session: Session, decision: Decision, fields: DecisionFields, user_id: int | None
) -> dict[str, Any]:
    """Apply the fields; returns (and records) what changed as {field: [old, new]}."""
    values, tags = _resolve(session, fields, decision)
    changes: dict[str, Any] = {}
    for key, value in values.items():
        old = getattr(decision, key)
        if old != value:
            changes[key] = [_jsonable(old), _jsonable(value)]
            setattr(decision, key, value)
    old_tags = sorted(t.name for t in decision.tags)
    if old_tags != sorted(tags):
        changes["tags"] = [old_tags, sorted(tags)]
        decision.tags = _tags(session, tags)
    if changes:
        decision.updated_at = utcnow()
        record(
            session,
            "decision.updated",
            user_id,
            decision_id=decision.id,
            subject_id=decision.id,
            changes=changes,
        )
    return changes


def link_decision(
    session: Session,
    decision: Decision,
    user_id: int | None,
    *,
    thread_id: int | None = None,
    message_pk: int | None = None,
    relation: str = "discussion",
    note: str = "",
    state: str = "confirmed",
) -> DecisionLink:
    """Link a thread or one exact message to a decision (a message link keeps its thread)."""
    errors = {}
    if relation not in LINK_RELATIONS:
        errors["relation"] = f"Relation must be one of: {', '.join(LINK_RELATIONS)}."
    if state not in LINK_STATES:
        errors["state"] = f"State must be one of: {', '.join(LINK_STATES)}."
    if (thread_id is None) == (message_pk is None):
        errors["target"] = "Link either a thread or a message."
    if message_pk is not None:
        message = session.get(Message, message_pk)
        if message is None:
            errors["target"] = "No such message."
        else:
            thread_id = None
    elif thread_id is not None and session.get(Thread, thread_id) is None:
        errors["target"] = "No such thread."
    if errors:
        raise ValidationError(errors)
    link = DecisionLink(
        decision_id=decision.id,
        thread_id=thread_id,
        message_pk=message_pk,
        relation=relation,
        note=note.strip(),
        state=state,
        user_id=user_id,
        created_at=utcnow(),
    )
    session.add(link)
    session.flush()
    record(
        session,
        "link.suggested" if state == "suggested" else "link.added",
        user_id,
        decision_id=decision.id,
        subject_type="link",
        subject_id=link.id,
        changes={
            "thread_id": thread_id,
            "message_pk": message_pk,
            "relation": relation,
            "note": link.note,
        },
    )
    return link


def set_link_state(session: Session, link: DecisionLink, state: str, user_id: int | None) -> None:
    """Confirm or dismiss a suggested link."""
    if state not in ("confirmed", "dismissed"):
        raise ValidationError({"state": "A suggestion is confirmed or dismissed."})
    old, link.state = link.state, state
    _touch(session, _link_thread(session, link))
    record(
        session,
        f"link.{state}",
        user_id,
        decision_id=link.decision_id,
        subject_type="link",
        subject_id=link.id,
        changes={"state": [old, state]},
    )


def unlink(session: Session, link: DecisionLink, user_id: int | None) -> None:
    _touch(session, _link_thread(session, link))
    record(
        session,
        "link.removed",
        user_id,
        decision_id=link.decision_id,
        subject_type="link",
        subject_id=link.id,
        changes={
            "thread_id": link.thread_id,
            "message_pk": link.message_pk,
            "relation": link.relation,
            "note": link.note,
        },
    )
    session.delete(link)


def set_thread_tags(
    session: Session, thread: Thread, names: list[str], user_id: int | None
) -> None:
    tags = normalise_tags(names)
    bad = [t for t in tags if not _TAG.match(t)]
    if bad:
        raise ValidationError({"tags": f"Not a valid tag: {bad[0]!r}."})
    old = sorted(
        session.scalars(
            select(Tag.name)
            .join(thread_tags, thread_tags.c.tag_id == Tag.id)
            .where(thread_tags.c.thread_id == thread.id)
        )
    )
    if old == sorted(tags):
        return
    _touch(session, thread.id)
    session.execute(delete(thread_tags).where(thread_tags.c.thread_id == thread.id))
    new_tags = _tags(session, tags)
    session.flush()
    if new_tags:
        session.execute(
            insert(thread_tags), [{"thread_id": thread.id, "tag_id": t.id} for t in new_tags]
        )
    record(
        session,
        "thread.tagged",
        user_id,
        subject_type="thread",
        subject_id=thread.id,
        changes={"tags": [old, sorted(tags)]},
    )


def correct_position(
    session: Session,
    thread_id: int,
    participant_id: int,
    stance: StanceName,
    vote: str | None,
    note: str,
    user_id: int | None,
    message: Message | None = None,
    audience: Audience = EVERYTHING,
) -> PositionOverride:
    """Staff's word on a participant's position in a thread; machines never overwrite it.

    ``message`` is the message whose machine position staff judged (by default the one the
    participant's current position comes from, as ``audience`` sees the thread): with the
    stance it becomes a training label, so a correction teaches the next model."""
    errors = {}
    if stance not in STANCES:
        errors["stance"] = f"Stance must be one of: {', '.join(STANCES)}."
    vote = (vote or "").strip() or None
    if vote is not None and (len(vote) > 16 or not _VOTE.match(vote)):
        errors["vote"] = "A vote looks like +1, -1, +0 or -0.5."
    if not note.strip():
        errors["note"] = "Say why the position is corrected."
    if message is not None and (
        message.thread_id != thread_id or message.participant_id != participant_id
    ):
        errors["message_id"] = "The judged message must be the participant's, in this thread."
    if errors:
        raise ValidationError(errors)
    if message is not None:
        judged: int | None = message.id
    else:
        current = current_position(session, thread_id, participant_id, audience)
        judged = current.message_pk if current is not None else None
    return _judge(
        session,
        "position.corrected",
        thread_id,
        participant_id,
        stance,
        vote,
        note,
        judged,
        user_id,
    )


def confirm_position(
    session: Session,
    thread_id: int,
    participant_id: int,
    user_id: int | None,
    audience: Audience = EVERYTHING,
) -> PositionOverride:
    """Staff agree with the machine's current position of a participant (as ``audience``
    sees the thread): recorded as a correction to the same stance and vote, so it counts
    as sure from now on and becomes a training label like any correction."""
    current = current_position(session, thread_id, participant_id, audience)
    if current is None or current.message_pk is None:
        raise ValidationError({"participant": "There is no machine position to confirm."})
    if current.source == "staff":
        raise ValidationError(
            {"participant": "Staff already decided this position; correct it instead."}
        )
    return _judge(
        session,
        "position.confirmed",
        thread_id,
        participant_id,
        current.stance,
        current.vote,
        "confirmed",
        current.message_pk,
        user_id,
    )


def current_position(
    session: Session, thread_id: int, participant_id: int, audience: Audience = EVERYTHING
) -> ParticipantPosition | None:
    """A participant's current position in a thread as ``audience`` sees it, if any."""
    return next(
        (
            p
            for p in thread_positions(session, thread_id, audience)
            if p.participant_id == participant_id
        ),
        None,
    )


def _judge(
    session: Session,
    kind: str,
    thread_id: int,
    participant_id: int,
    stance: StanceName,
    vote: str | None,
    note: str,
    message_pk: int | None,
    user_id: int | None,
) -> PositionOverride:
    """Write staff's position (one per participant and thread) and its audit event."""
    override = session.scalar(
        select(PositionOverride).where(
            PositionOverride.thread_id == thread_id,
            PositionOverride.participant_id == participant_id,
        )
    )
    before = None if override is None else {"stance": override.stance, "vote": override.vote}
    if override is None:
        override = PositionOverride(thread_id=thread_id, participant_id=participant_id)
        session.add(override)
    override.stance, override.vote, override.note = stance, vote, note.strip()
    override.message_pk = message_pk
    override.user_id, override.created_at = user_id, utcnow()
    _touch(session, thread_id)
    session.flush()
    record(
        session,
        kind,
        user_id,
        subject_type="thread",
        subject_id=thread_id,
        changes={
            "participant_id": participant_id,
            "message_pk": message_pk,
            "before": before,
            "after": {"stance": stance, "vote": vote},
            "note": note.strip(),
        },
    )
    return override


def set_hidden(
    session: Session, message: Message, hidden: bool, note: str, user_id: int | None
) -> None:
    """Hide a message on a takedown request (or restore it). A purged message stays hidden:
    restoring its tombstone would only show that something was erased, and a purge is final."""
    if message.hidden == hidden:
        return
    if message.purged:
        raise ValidationError(
            {
                "message": f"Copy #{message.id} of {message.message_id} was purged: its content"
                " is gone for good, so it cannot be restored."
            }
        )
    message.hidden = hidden
    _touch(session, message.thread_id)
    if message.thread_id is not None:
        refresh_thread_stats(session, {message.thread_id})
    record(
        session,
        "message.hidden" if hidden else "message.restored",
        user_id,
        subject_type="message",
        subject_id=message.id,
        changes={"message_id": message.message_id, "note": note.strip()},
    )


def purge(session: Session, message: Message, note: str, user_id: int | None) -> None:
    """Erase a hidden message's content for good, leaving a tombstone that keeps the thread
    whole (its id, date and place in the tree stay)."""
    if not message.hidden:
        raise ValidationError({"message": "Hide a message before purging it."})
    message.body = ""
    message.subject = "[removed]"
    message.subject_key = ""
    message.from_name = ""
    message.from_address = ""
    message.participant_id = None
    message.attachments = []
    message.raw = b""
    message.purged = True
    _erase_positions(session, message)
    _touch(session, message.thread_id)
    session.info[ERASED] = True
    record(
        session,
        "message.purged",
        user_id,
        subject_type="message",
        subject_id=message.id,
        changes={"message_id": message.message_id, "note": note.strip()},
    )


def _erase_positions(session: Session, message: Message) -> None:
    """A position's evidence is the purged text itself, and the positions of replies name
    the purged message's author as whom they quote: both go with the text."""
    session.execute(delete(Position).where(Position.message_pk == message.id))
    if message.thread_id is None:
        return
    for position in session.scalars(
        select(Position).where(Position.thread_id == message.thread_id)
    ):
        if any(q.get("message_id") == message.message_id for q in position.quoted):
            position.quoted = [
                q | {"author": None, "participant_id": None}
                if q.get("message_id") == message.message_id
                else q
                for q in position.quoted
            ]
