"""Mailing lists as the operator declares them: their visibility, with counts, and the one
audited way to change it (the CLI and the admin page both call it)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.governance import ValidationError, record
from app.models import MailingList, Message, Thread
from app.settings import VISIBILITIES, ListSettings


@dataclass(frozen=True)
class ListRow:
    name: str
    visibility: str
    messages: int
    threads: int
    #: False for a list the settings declare that no ingest has created yet.
    created: bool = True

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def list_rows(session: Session, declared: Mapping[str, ListSettings]) -> list[ListRow]:
    """Every list with its visibility and what it holds (hidden mail included: this is the
    operator's view), and the lists the settings declare that no ingest has created yet,
    so a declaration can be checked before the first message arrives."""
    messages: dict[int, int] = {
        list_id: count
        for list_id, count in session.execute(
            select(Message.list_id, func.count(Message.id)).group_by(Message.list_id)
        )
    }
    threads: dict[int, int] = {
        list_id: count
        for list_id, count in session.execute(
            select(Thread.list_id, func.count(Thread.id)).group_by(Thread.list_id)
        )
    }
    rows = {
        m.name: ListRow(m.name, m.visibility, messages.get(m.id, 0), threads.get(m.id, 0))
        for m in session.scalars(select(MailingList))
    }
    for name, settings in declared.items():
        rows.setdefault(name, ListRow(name, settings.visibility, 0, 0, created=False))
    return sorted(rows.values(), key=lambda row: row.name)


def new_list_visibility(declared: Mapping[str, ListSettings], name: str) -> str:
    """The visibility a list gets when its first message is stored."""
    settings = declared.get(name)
    return settings.visibility if settings is not None else "public"


def new_list_search_config(declared: Mapping[str, ListSettings], name: str) -> str:
    """The text-search configuration a list gets when its first message is stored."""
    settings = declared.get(name)
    return settings.search_config if settings is not None else ListSettings().search_config


def set_visibility(
    session: Session, mailing_list: MailingList, visibility: str, user_id: int | None
) -> bool:
    """Make a list public or private, recorded in the audit trail (user None: the command
    line); returns whether anything changed. Readers see the change at once: pages, the
    page cache, search and the API all ask for the list's visibility on every request."""
    if visibility not in VISIBILITIES:
        raise ValidationError({"visibility": "Visibility is 'public' or 'private'."})
    old = mailing_list.visibility
    if old == visibility:
        return False
    mailing_list.visibility = visibility
    record(
        session,
        "list.visibility",
        user_id,
        subject_type="list",
        subject_id=mailing_list.id,
        changes={"name": mailing_list.name, "visibility": [old, visibility]},
    )
    return True
