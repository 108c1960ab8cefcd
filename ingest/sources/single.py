"""One message per file: a single ``.eml``, or the messages of a maildir folder."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from ingest.records import DEFAULT_LIMIT, RawMessage, SizeLimit
from ingest.sources.bounded import read_bounded
from ingest.sources.mbox import open_maybe_gzip


def is_maildir(path: Path) -> bool:
    return path.is_dir() and (path / "cur").is_dir() and (path / "new").is_dir()


def iter_eml(
    path: Path, list_hint: str | None = None, limit: SizeLimit = DEFAULT_LIMIT
) -> Iterator[RawMessage]:
    with open_maybe_gzip(path) as fh:
        data, spilled = read_bounded(fh, limit)
    yield RawMessage(data=data, source=str(path), offset=0, list_hint=list_hint, spilled=spilled)


def iter_maildir(
    path: Path, list_hint: str | None = None, limit: SizeLimit = DEFAULT_LIMIT
) -> Iterator[RawMessage]:
    """Messages of `new/` then `cur/`, in file-name order (maildir names start with a time)."""
    for sub in ("new", "cur"):
        for file in sorted((path / sub).iterdir()):
            if file.is_file() and not file.name.startswith("."):
                yield from iter_eml(file, list_hint, limit)
