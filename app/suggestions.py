"""Suggest the discussions that probably informed a decision, with the reason for each.

The suggestion is a search (the same one readers use): the decision's distinctive words,
in the year before it was taken, in the lists its confirmed discussions live in. Threads
already linked, or dismissed before, are not suggested again.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.governance import link_decision
from app.models import Decision, DecisionLink, MailingList, Message, Thread
from app.search import SearchBackend, search

WINDOW = timedelta(days=365)
MAX_TERMS = 8
_WORD = re.compile(r"[^\W\d_][\w'-]{3,}", re.UNICODE)
# Words too common in decisions and mail to tell one discussion from another.
_STOP = frozenset(
    [
        "about",
        "above",
        "after",
        "again",
        "against",
        "also",
        "because",
        "been",
        "before",
        "being",
        "between",
        "both",
        "could",
        "does",
        "doing",
        "during",
        "each",
        "either",
        "from",
        "further",
        "have",
        "having",
        "here",
        "into",
        "itself",
        "just",
        "more",
        "most",
        "must",
        "other",
        "over",
        "same",
        "should",
        "some",
        "such",
        "than",
        "that",
        "their",
        "them",
        "then",
        "there",
        "these",
        "they",
        "this",
        "those",
        "through",
        "under",
        "until",
        "very",
        "were",
        "what",
        "when",
        "where",
        "which",
        "while",
        "will",
        "with",
        "would",
        "your",
        "whether",
        "rather",
        "first",
        "decision",
        "decided",
        "proposal",
        "proposed",
        "policy",
        "discuss",
        "discussion",
        "approach",
    ]
)


def key_terms(text: str) -> list[str]:
    """The decision's distinctive words, longest first (longer words say more)."""
    seen: dict[str, None] = {}
    for word in _WORD.findall(text.lower()):
        word = word.strip("'-")
        if len(word) >= 4 and word not in _STOP:
            seen.setdefault(word, None)
    return sorted(seen, key=len, reverse=True)[:MAX_TERMS]


def suggestion_query(session: Session, decision: Decision) -> tuple[str, list[str]]:
    terms = key_terms(f"{decision.title} {decision.summary}")
    if not terms:
        return "", []
    parts = ["(" + " OR ".join(terms) + ")"]
    if decision.decided_on:
        start = decision.decided_on - WINDOW
        end = decision.decided_on + timedelta(days=1)
        parts.append(f"after:{start.isoformat()} before:{end.isoformat()}")
    lists = sorted(
        set(
            session.scalars(
                select(MailingList.name)
                .join(Thread, Thread.list_id == MailingList.id)
                .join(DecisionLink, DecisionLink.thread_id == Thread.id)
                .where(DecisionLink.decision_id == decision.id, DecisionLink.state == "confirmed")
            )
        )
    )
    if lists:
        parts.append("(" + " OR ".join(f"list:{name}" for name in lists) + ")")
    return " ".join(parts), terms


def _reason(
    terms: list[str],
    text: str,
    matches: int,
    last: datetime | None,
    decided_on: date | None,
    same_list: bool,
) -> str:
    found = [t for t in terms if t in text.lower()] or terms[:3]
    reason = f"mentions {', '.join(found)} in {matches} message{'s' if matches != 1 else ''}"
    if decided_on and last:
        days = (decided_on - last.date()).days
        if days >= 0:
            reason += f"; last message {days} day{'s' if days != 1 else ''} before the decision"
    if same_list:
        reason += "; same list as the linked discussions"
    return reason


def suggest_discussions(
    session: Session,
    index: SearchBackend,
    decision: Decision,
    user_id: int | None,
    visible_lists: set[str] | None = None,
    limit: int = 5,
) -> list[DecisionLink]:
    """Store up to `limit` new suggested links, best first, each with its reason as note."""
    query, terms = suggestion_query(session, decision)
    if not query:
        return []
    results = search(
        index, query, per_page=limit * 4, group_by_thread=True, visible_lists=visible_lists
    )
    if results.error:
        return []
    known = set(
        session.scalars(
            select(DecisionLink.thread_id).where(DecisionLink.decision_id == decision.id)
        )
    ) | set(
        session.scalars(
            select(Message.thread_id)
            .join(DecisionLink, DecisionLink.message_pk == Message.id)
            .where(DecisionLink.decision_id == decision.id)
        )
    )
    same_list = "list:" in query
    made: list[DecisionLink] = []
    for hit in results.hits:
        if hit.thread is None or hit.thread in known:
            continue
        thread = session.get(Thread, hit.thread)
        if thread is None:
            continue
        known.add(hit.thread)
        reason = _reason(
            terms,
            f"{thread.subject} {hit.snippet}",
            hit.matches,
            thread.last_date,
            decision.decided_on,
            same_list,
        )
        made.append(
            link_decision(
                session,
                decision,
                user_id,
                thread_id=thread.id,
                relation="discussion",
                note=reason,
                state="suggested",
            )
        )
        if len(made) == limit:
            break
    return made
