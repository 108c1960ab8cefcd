"""Template helpers: dates in the sender's zone and addresses obfuscated for readers."""

from __future__ import annotations

from datetime import datetime

from flask import Flask

from app.access import shown_address
from app.exports import local_date
from app.models import Message
from app.web.markdown import render_markdown
from app.web.rendering import Block, body_blocks
from ingest.subjects import strip_list_tag


def message_date(message: Message) -> str:
    date = local_date(message)
    return date.strftime("%a %d %b %Y %H:%M %z") if date else "date unknown"


def iso_date(message: Message) -> str:
    date = local_date(message)
    return date.isoformat() if date else ""


def blocks(message: Message) -> tuple[Block, ...]:
    return body_blocks(message.body)


def short_date(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d") if value else "—"


def register(app: Flask) -> None:
    app.jinja_env.filters["message_date"] = message_date
    app.jinja_env.filters["iso_date"] = iso_date
    app.jinja_env.filters["blocks"] = blocks
    app.jinja_env.filters["markdown"] = render_markdown
    app.jinja_env.filters["short_date"] = short_date
    app.jinja_env.filters["address"] = shown_address
    app.jinja_env.filters["display_subject"] = strip_list_tag
