"""Rows as the API's JSON objects. Field names are a contract: messages carry the fields of
`quorum export messages` (DESIGN.md) under the same names, dates are ISO 8601 with an
offset (a message's in its sender's zone, every other in UTC), addresses are obfuscated for
readers without staff access, as on the pages."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask import url_for

from app.access import shown_address
from app.exports import message_record
from app.models import MailingList, Message, Participant, Thread
from ingest.message_ids import url_key
from ingest.segments import segment_body


def utc(value: datetime | None) -> str | None:
    return value.replace(tzinfo=UTC).isoformat() if value else None


def address(value: str | None) -> str | None:
    return shown_address(value) if value else value


def mailing_list(row: MailingList, stats: tuple[int, int, Any, Any]) -> dict[str, Any]:
    threads, messages, first, last = stats
    return {
        "name": row.name,
        "title": row.title,
        "address": address(row.address),
        "visibility": row.visibility,
        "thread_count": threads,
        "message_count": messages,
        "first_date": utc(first),
        "last_date": utc(last),
        "urls": {
            "self": url_for("api.get_list", name=row.name),
            "threads": url_for("api.list_threads", list=row.name),
            "messages": url_for("api.list_messages", list=row.name),
            "html": url_for("browse.list_page", name=row.name),
        },
    }


def thread(row: Thread, list_name: str, tags: list[str]) -> dict[str, Any]:
    return {
        "id": row.id,
        "thread_id": row.key,
        "list": list_name,
        "subject": row.subject,
        "message_count": row.message_count,
        "first_date": utc(row.first_date),
        "last_date": utc(row.last_date),
        "tags": tags,
        "urls": {
            "self": url_for("api.get_thread", thread_id=row.id),
            "messages": url_for("api.list_messages", thread=row.id),
            "positions": url_for("api.thread_positions_view", thread_id=row.id),
            "html": url_for("browse.thread_page", name=list_name, key=url_key(row.key)),
        },
    }


def message(row: Message, list_name: str, thread_key: str | None) -> dict[str, Any]:
    """The `export messages` fields, with the API's own ids and links."""
    key = url_key(row.message_id)
    return message_record(row, list_name, thread_key) | {
        "from_address": address(row.from_address),
        "participant_id": row.participant_id,
        "thread": row.thread_id,
        "hidden": row.hidden,
        "urls": {
            "self": url_for("api.get_message", message_id=key, list=list_name),
            "raw": url_for("messages.raw", message_id=key),
            "html": url_for("messages.list_permalink", name=list_name, message_id=key),
        },
    }


def message_detail(row: Message, list_name: str, thread_key: str | None) -> dict[str, Any]:
    """A message with its body, the body's segments (own words, quotes and who wrote them,
    signature, footer) and its attachments' metadata."""
    return message(row, list_name, thread_key) | {
        "body": row.body,
        "segments": [
            {
                "kind": s.kind,
                "text": s.text,
                "depth": s.depth,
                "start_line": s.start_line,
                "end_line": s.end_line,
                "offset": s.offset,
                "quoted_author": s.quoted_author,
                "quoted_address": address(s.quoted_address),
            }
            for s in segment_body(row.body)
        ],
        "attachments": [
            {
                "filename": a.get("filename"),
                "content_type": a.get("content_type"),
                "size": a.get("size"),
                "url": a.get("url"),
            }
            for a in row.attachments or []
        ],
        "defects": list(row.defects or []),
    }


def participant(row: Participant, name: str, lists: dict[str, int]) -> dict[str, Any]:
    """`name` as the reader may see it (app.audience.participant_names)."""
    return {
        "id": row.id,
        "name": name,
        "addresses": sorted(address(a.address) or "" for a in row.addresses),
        "message_count": sum(lists.values()),
        "lists": [{"list": name, "message_count": n} for name, n in sorted(lists.items())],
        "urls": {
            "self": url_for("api.get_participant", participant_id=row.id),
            "messages": url_for("api.list_messages", participant=row.id),
            "html": url_for("people.participant", participant_id=row.id),
        },
    }
