"""Text that every supported database can store.

PostgreSQL refuses NUL (U+0000) in text and JSON columns, so one message with a NUL byte
in its body or a header made a whole ingest fail there, and every rerun fail the same
way. Mail does carry them (broken clients, binary parts sent as text), so parsed text
gets U+FFFD, the replacement character, wherever a NUL stood: what readers see keeps a
mark where the byte was, the raw bytes are stored as they came, and SQLite and
PostgreSQL hold the same text.
"""

from __future__ import annotations

from dataclasses import fields, is_dataclass, replace
from typing import TypeVar

REPLACEMENT = "\ufffd"

T = TypeVar("T")


def storable_text(text: str) -> str:
    """`text` with every NUL replaced by U+FFFD."""
    return text.replace("\0", REPLACEMENT) if "\0" in text else text


def storable(value: T) -> T:
    """`value` with every string in it made storable: strings, lists of them, and the
    fields of dataclasses (a ``ParsedMessage`` and its attachments), however nested."""
    if isinstance(value, str):
        return storable_text(value)  # type: ignore[return-value]  # narrows value, not T
    if isinstance(value, list):
        return [storable(item) for item in value]  # type: ignore[return-value]  # narrows value, not T
    if is_dataclass(value) and not isinstance(value, type):
        changes = {f.name: storable(getattr(value, f.name)) for f in fields(value)}
        return replace(value, **changes)
    return value
