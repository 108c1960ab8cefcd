"""The dataclasses that flow out of the ingester."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

#: The largest message read into memory by default (25 MiB): list mail is kilobytes; what
#: is larger is an attachment bomb or a broken archive, and is quarantined instead.
DEFAULT_MAX_MESSAGE_BYTES = 25 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class SizeLimit:
    """How large a message the readers hold in memory, and where a larger one goes instead
    (``spill_dir``, the system's temporary folder when None) while it is read."""

    max_bytes: int = DEFAULT_MAX_MESSAGE_BYTES
    spill_dir: Path | None = None


#: What readers use when the caller sets no limit of its own.
DEFAULT_LIMIT = SizeLimit()


@dataclass(frozen=True, slots=True)
class Spilled:
    """A message larger than the limit: every byte of it in a file, never in memory."""

    path: Path
    size: int
    sha256: str
    limit: int


@dataclass(frozen=True, slots=True)
class RawMessage:
    """One message's bytes as an archive holds them, and where they came from."""

    #: The message's bytes; only its first bytes (the headers) when it was ``spilled``.
    data: bytes
    source: str
    offset: int
    envelope: bytes | None = None
    #: Set when the archive obfuscates addresses ("foo at bar.com"), as pipermail does.
    obfuscated: bool = False
    #: The list the archive belongs to, as its location suggests (folder or file name).
    list_hint: str | None = None
    #: "mail" (RFC 822 bytes) or "pipermail-article" (an HTML article page).
    kind: str = "mail"
    #: Where a pipermail article page lives ("2003-April/035890.html"), for redirects.
    article_url: str | None = None
    #: What the archive around a pipermail article knows: its Message-ID, and its parent's
    #: as the month's thread.html (or a Mailman 2.0 copy of the page) gives it (weaker
    #: evidence than headers).
    message_id: str | None = None
    thread_parent: str | None = None
    #: Set when the message is larger than the reader's ``SizeLimit``.
    spilled: Spilled | None = None


@dataclass(frozen=True, slots=True)
class Attachment:
    filename: str
    content_type: str
    size: int
    #: Where the archive put an attachment it removed from the message (pipermail "scrubbed").
    url: str | None = None


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
    #: The parent the pipermail folder gives, used when no header names one.
    thread_parent: str | None = None
    #: Parsed from a pipermail HTML article page rather than from the mail itself.
    from_article: bool = False


class RejectedMessage(ValueError):
    """A message that cannot be stored; `reason` says why, for the quarantine."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason
