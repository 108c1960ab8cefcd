"""One message per file: a single ``.eml``, or the messages of a maildir folder."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from ingest.records import DEFAULT_LIMIT, RawMessage, SizeLimit
from ingest.sources.bounded import read_bounded
from ingest.sources.mbox import is_separator, open_maybe_gzip


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


def read_delivered(
    fh: BinaryIO, source: str, list_hint: str | None = None, limit: SizeLimit = DEFAULT_LIMIT
) -> RawMessage:
    """One message handed over on a stream by a mail server (a pipe) or an archiver hook.
    Some deliver it with an mbox envelope line first ("From sender date", as Postfix's
    pipe F flag and procmail do): that line is the envelope, not a header of the mail."""
    data, spilled = read_bounded(fh, limit)
    first, newline, rest = data.partition(b"\n")
    if newline and is_separator(first + newline, rest.partition(b"\n")[0] + b"\n"):
        return RawMessage(
            data=rest,
            source=source,
            offset=0,
            envelope=first.rstrip(b"\r"),
            list_hint=list_hint,
            spilled=spilled,
        )
    return RawMessage(data=data, source=source, offset=0, list_hint=list_hint, spilled=spilled)
