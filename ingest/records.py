"""The dataclasses that flow out of the ingester."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True, slots=True)
class RawMessage:
    """One message's bytes as an archive holds them, and where they came from."""

    data: bytes
    source: str
    offset: int
    envelope: bytes | None = None
    #: Set when the archive obfuscates addresses ("foo at bar.com"), as pipermail does.
    obfuscated: bool = False
    #: The list the archive belongs to, as its location suggests (folder or file name).
    list_hint: str | None = None
    article_url: str | None = None


@dataclass(frozen=True, slots=True)
class Attachment:
    filename: str
    content_type: str
    size: int


@dataclass(slots=True)
class ParsedMessage:
    message_id: str
    synthetic_id: bool
    in_reply_to: str | None
    references: list[str]
    subject: str
    from_name: str
    from_address: str
    date: datetime | None
    date_source: str | None
    list_id: str | None
    body: str
    attachments: list[Attachment]
    no_archive: bool
    content_hash: str
    defects: list[str] = field(default_factory=list)


class RejectedMessage(ValueError):
    """A message that cannot be stored; `reason` says why, for the quarantine."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason
