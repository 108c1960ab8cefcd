"""Quorum's data model (SQLAlchemy 2 typed declarative); Alembic migrations mirror it."""

from app.models.accounts import ROLES, ApiToken, LoginAttempt, User
from app.models.archive import (
    MailingList,
    Message,
    MessageReference,
    Participant,
    ParticipantAddress,
    Thread,
)
from app.models.base import Base, utcnow
from app.models.governance import (
    DECISION_STATUSES,
    LINK_RELATIONS,
    Decision,
    DecisionEvent,
    DecisionLink,
    Tag,
    decision_tags,
    thread_tags,
)
from app.models.ingest_log import IngestRun, Rejection
from app.models.positions import Position, PositionOverride
from app.models.search import SearchDocument
from app.models.sources import Source
from ingest.stance import STANCES

__all__ = [
    "DECISION_STATUSES",
    "LINK_RELATIONS",
    "ROLES",
    "STANCES",
    "ApiToken",
    "Base",
    "Decision",
    "DecisionEvent",
    "DecisionLink",
    "IngestRun",
    "LoginAttempt",
    "MailingList",
    "Message",
    "MessageReference",
    "Participant",
    "ParticipantAddress",
    "Position",
    "PositionOverride",
    "Rejection",
    "SearchDocument",
    "Source",
    "Tag",
    "Thread",
    "User",
    "decision_tags",
    "thread_tags",
    "utcnow",
]
