"""mbox files (mboxo, mboxrd) and Mailman 2 pipermail monthly ``.txt`` files, plain or gzip.

A line that starts with "From " separates two messages only when it looks like an envelope
line (a date follows) and a header field follows it: bodies also hold lines that begin
"From " after a blank line, and those must stay in their message.
"""

from __future__ import annotations

import gzip
import re
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from ingest.records import RawMessage

_ENVELOPE = re.compile(rb"^From \S+.*\d{1,2}:\d{2}.*\d{4}")
_OBFUSCATED_ENVELOPE = re.compile(rb"^From \S+ at \S+\s")
_HEADER = re.compile(rb"^[!-9;-~]+:")
_ESCAPED_FROM = re.compile(rb"^>(>*From )")


def open_maybe_gzip(path: Path) -> BinaryIO:
    with path.open("rb") as probe:
        magic = probe.read(2)
    if magic == b"\x1f\x8b":
        return gzip.open(path, "rb")  # type: ignore[return-value]
    return path.open("rb")


def is_separator(line: bytes, next_line: bytes | None) -> bool:
    return (
        line.startswith(b"From ")
        and bool(_ENVELOPE.match(line))
        and next_line is not None
        and bool(_HEADER.match(next_line))
    )


def iter_mbox(path: Path, list_hint: str | None = None) -> Iterator[RawMessage]:
    """Yield each message of an mbox or pipermail month file, with its byte offset."""
    with open_maybe_gzip(path) as fh:
        yield from split_mbox(fh, str(path), list_hint)


def _lines(fh: BinaryIO, block: int = 1 << 20) -> Iterator[bytes]:
    """The stream's lines (with their newline), read a block at a time: much faster than
    readline() on gzip streams, and memory stays at one block."""
    rest = b""
    while chunk := fh.read(block):
        lines = (rest + chunk).split(b"\n")
        rest = lines.pop()
        for line in lines:
            yield line + b"\n"
    if rest:
        yield rest


def split_mbox(fh: BinaryIO, source: str, list_hint: str | None) -> Iterator[RawMessage]:
    """Split a stream into messages; reading one line ahead decides what a "From " line is."""
    offset = start = 0
    current: list[bytes] = []
    envelope: bytes | None = None
    previous_blank = True
    lines = _lines(fh)
    line = next(lines, None)
    while line is not None:
        following = next(lines, None)
        if previous_blank and line[:5] == b"From " and is_separator(line, following):
            if envelope is not None or current:
                yield _finish(current, envelope, source, start, list_hint)
            envelope, current, start = line.rstrip(b"\r\n"), [], offset
        elif line[:1] == b">":
            current.append(_ESCAPED_FROM.sub(rb"\1", line))
        else:
            current.append(line)
        previous_blank = line == b"\n" or line == b"\r\n"
        offset += len(line)
        line = following
    if envelope is not None or any(x.strip() for x in current):
        yield _finish(current, envelope, source, start, list_hint)


def _finish(
    lines: list[bytes], envelope: bytes | None, source: str, start: int, list_hint: str | None
) -> RawMessage:
    # The blank line before the next separator belongs to the mbox format, not the message.
    if lines and lines[-1] in (b"\n", b"\r\n"):
        lines = lines[:-1]
    return RawMessage(
        data=b"".join(lines),
        source=source,
        offset=start,
        envelope=envelope,
        obfuscated=bool(envelope and _OBFUSCATED_ENVELOPE.match(envelope)),
        list_hint=list_hint,
    )
