"""`quorum import decisions`: decisions in the `export decisions` format, created or updated
by slug, with their links — so decisions move between instances and the demo is seeded
the same way an operator would load their own."""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.governance import (
    DecisionFields,
    ValidationError,
    create_decision,
    link_decision,
    update_decision,
)
from app.models import Decision, DecisionLink, MailingList, Message, Thread


def _fields(record: dict[str, Any]) -> DecisionFields:
    decided_on = record.get("decided_on")
    return DecisionFields(
        title=str(record.get("title") or ""),
        summary=str(record.get("summary") or ""),
        body_markdown=str(record.get("body_markdown") or ""),
        decided_by=str(record.get("decided_by") or ""),
        status=str(record.get("status") or "proposed"),
        decided_on=date.fromisoformat(str(decided_on)) if decided_on else None,
        outcome=str(record.get("outcome") or ""),
        rationale=str(record.get("rationale") or ""),
        announced_by=str(record["announced_by"]) if record.get("announced_by") else None,
        supersedes=str(record["supersedes"]) if record.get("supersedes") else None,
        tags=[str(t) for t in record.get("tags") or []],
    )


def _target(session: Session, link: dict[str, object]) -> dict[str, int] | None:
    """The thread or message a link names, if it is archived here."""
    list_id = session.scalar(select(MailingList.id).where(MailingList.name == link.get("list")))
    if list_id is None:
        return None
    if link.get("message_id"):
        pk = session.scalar(
            select(Message.id)
            .where(Message.list_id == list_id, Message.message_id == link["message_id"])
            .limit(1)
        )
        return {"message_pk": pk} if pk else None
    thread_id = session.scalar(
        select(Thread.id).where(Thread.list_id == list_id, Thread.key == link.get("thread_id"))
    )
    return {"thread_id": thread_id} if thread_id else None


def import_decisions(
    session: Session, lines: Iterable[str], user_id: int | None = None
) -> tuple[int, int, list[str]]:
    """(decisions written, links added, problems). Links already present are not repeated;
    a link to mail not archived here is reported, not invented."""
    written = linked = 0
    problems: list[str] = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            slug = str(record["slug"])
            decision = session.scalar(select(Decision).where(Decision.slug == slug))
            if decision is None:
                decision = create_decision(session, _fields(record), user_id, slug=slug)
            else:
                update_decision(session, decision, _fields(record), user_id)
        except (ValueError, KeyError, TypeError) as exc:
            detail = exc.errors if isinstance(exc, ValidationError) else exc
            problems.append(f"line {number}: {detail}")
            continue
        written += 1
        for link in record.get("links") or []:
            target = _target(session, link)
            if target is None:
                problems.append(
                    f"line {number}: {link.get('thread_id') or link.get('message_id')}"
                    f" is not archived in list {link.get('list')!r}"
                )
                continue
            exists = session.scalar(
                select(DecisionLink.id).where(
                    DecisionLink.decision_id == decision.id,
                    DecisionLink.thread_id == target.get("thread_id"),
                    DecisionLink.message_pk == target.get("message_pk"),
                    DecisionLink.relation == link.get("relation", "discussion"),
                )
            )
            if exists is None:
                link_decision(
                    session,
                    decision,
                    user_id,
                    relation=str(link.get("relation", "discussion")),
                    note=str(link.get("note") or ""),
                    state=str(link.get("state", "confirmed")),
                    **target,
                )
                linked += 1
    return written, linked, problems
