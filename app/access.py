"""Who is reading and what they may read. Read is public, write is staff: private lists, and
messages hidden on request, are invisible to anyone without access — every page and every
API answer asks here, none decides alone."""

from __future__ import annotations

from dataclasses import dataclass

from flask import abort
from flask_login import UserMixin, current_user
from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session

from app.audience import Audience
from app.db import db_session
from app.models import MailingList, Message
from app.permissions import allowed
from ingest.addresses import obfuscate


@dataclass(frozen=True)
class StaffUser(UserMixin):  # type: ignore[misc]  # Flask-Login is untyped
    """A signed-in staff member, from a session cookie (the web) or a token (the API)."""

    id: int
    name: str
    role: str

    def get_id(self) -> str:
        return str(self.id)


def current_role() -> str | None:
    return current_user.role if getattr(current_user, "is_authenticated", False) else None


def can(action: str) -> bool:
    return allowed(current_role(), action)


def can_read_private() -> bool:
    """Whether the current reader may see private lists (any staff role)."""
    return can("read_private")


def readable_list_filter() -> ColumnElement[bool]:
    """A SQL condition on MailingList for the lists the current reader may see."""
    if can_read_private():
        return MailingList.id.is_not(None)
    return MailingList.visibility == "public"


def readable_list(session: Session, name: str) -> MailingList:
    """The named list, or 404 when it does not exist or the reader may not see it."""
    mailing_list = session.scalar(
        select(MailingList).where(MailingList.name == name, readable_list_filter())
    )
    if mailing_list is None:
        abort(404)
    return mailing_list


def visible_messages() -> ColumnElement[bool]:
    """A SQL condition: messages not hidden on request — except for staff who may hide and
    restore them, and so must see them (marked as hidden)."""
    if can("hide_messages"):
        return Message.id.is_not(None)
    return Message.hidden.is_(False)


def reader() -> Audience:
    """The current reader as an audience (app.audience): what they may read, and whether
    staff are named to them (any staff role)."""
    return Audience(readable_list_filter(), visible_messages(), names_staff=can_read_private())


def readable_names() -> set[str] | None:
    """The list names the reader may search, or None for an anonymous reader (the search
    then keeps to public lists by itself)."""
    if not can_read_private():
        return None
    return set(db_session().scalars(select(MailingList.name)))


def shown_address(address: str) -> str:
    """Anonymous readers see addresses obfuscated ("foo at bar.com"); staff see them whole."""
    return address if can_read_private() else obfuscate(address)
