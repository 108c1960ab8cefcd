"""What a source hands its mail to during a pass (the runner provides it)."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any, Protocol

from app.sync.http import HttpClient, Retry
from ingest.records import RawMessage, SizeLimit


class Sink(Protocol):
    """Where a source's messages and its cursor go. ``take`` stores the messages and only
    then moves the cursor, in one transaction: a pass killed at any point resumes from a
    cursor whose messages are all stored."""

    list_name: str
    limit: SizeLimit
    #: A private temporary folder for downloads, removed after the pass.
    workdir: Path
    retry: Retry
    #: Downloads of this pass (one kept-alive connection per server).
    http: HttpClient

    def take(self, raw_messages: Iterable[RawMessage], cursor: dict[str, Any]) -> None: ...

    def save_cursor(self, cursor: dict[str, Any]) -> None: ...
