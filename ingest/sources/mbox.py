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

from ingest.records import DEFAULT_LIMIT, RawMessage, SizeLimit
from ingest.sources.bounded import BLOCK, MessageBuffer

# "From ", a sender, then a time and later a year. The atomic group commits to the first
# time on the line: a year after any later time is also after the first, and without it
# every time on a long line (an 80 KB body line of "1:11 ") was tried against the rest.
_ENVELOPE = re.compile(rb"From \S(?>.*?\d{1,2}:\d{2}).*?\d{4}")
_OBFUSCATED_ENVELOPE = re.compile(rb"^From \S+ at \S+\s")
_HEADER = re.compile(rb"^[!-9;-~]+:")
_ESCAPED_FROM = re.compile(rb"^>(>*From )")
_BLANK = (b"\n", b"\r\n")


def open_maybe_gzip(path: Path) -> BinaryIO:
    with path.open("rb") as probe:
        magic = probe.read(2)
    if magic == b"\x1f\x8b":
        # A GzipFile reads as a BinaryIO does, but typeshed does not declare it one.
        return gzip.open(path, "rb")  # type: ignore[return-value]
    return path.open("rb")


def is_separator(line: bytes, next_line: bytes | None) -> bool:
    return (
        line.startswith(b"From ")
        and bool(_ENVELOPE.match(line))
        and next_line is not None
        and bool(_HEADER.match(next_line))
    )


def iter_mbox(
    path: Path, list_hint: str | None = None, limit: SizeLimit = DEFAULT_LIMIT
) -> Iterator[RawMessage]:
    """Yield each message of an mbox or pipermail month file, with its byte offset."""
    with open_maybe_gzip(path) as fh:
        yield from split_mbox(fh, str(path), list_hint, limit)


def _pieces(fh: BinaryIO) -> Iterator[bytes]:
    """The stream's lines (with their newline), read a block at a time: much faster than
    readline() on gzip streams. A line longer than a block comes as several pieces, of which
    only the first starts a line, so memory stays at two blocks whatever the stream holds
    (100 MB of decompressed zeros have no newline at all)."""
    rest = b""
    while chunk := fh.read(BLOCK):
        lines = (rest + chunk).split(b"\n")
        rest = lines.pop()
        for line in lines:
            yield line + b"\n"
        if len(rest) >= BLOCK:
            yield rest
            rest = b""
    if rest:
        yield rest


def split_mbox(
    fh: BinaryIO, source: str, list_hint: str | None, limit: SizeLimit = DEFAULT_LIMIT
) -> Iterator[RawMessage]:
    """Split a stream into messages; reading one piece ahead decides what a "From " line is.

    A blank line is held back until the next piece: before a separator it belongs to the
    mbox format, not the message. A piece that does not end a line (part of a line longer
    than a block) is never an envelope line."""
    offset = start = 0
    message = MessageBuffer(limit)
    envelope: bytes | None = None
    held_blank: bytes | None = None
    has_text = False
    previous_blank = line_start = True
    pieces = _pieces(fh)
    piece = next(pieces, None)
    while piece is not None:
        following = next(pieces, None)
        blank = line_start and piece in _BLANK
        if (
            previous_blank
            and line_start
            and piece[:5] == b"From "
            and piece[-1:] == b"\n"
            and is_separator(piece, following)
        ):
            if envelope is not None or message.size or held_blank is not None:
                yield _finish(message, envelope, source, start, list_hint)
            envelope, start, held_blank, has_text = piece.rstrip(b"\r\n"), offset, None, False
        else:
            if held_blank is not None:
                message.add(held_blank)
                held_blank = None
            if blank:
                held_blank = piece
            else:
                message.add(_ESCAPED_FROM.sub(rb"\1", piece) if line_start else piece)
                has_text = has_text or bool(piece.strip())
        previous_blank, line_start = blank, piece[-1:] == b"\n"
        offset += len(piece)
        piece = following
    if envelope is not None or has_text:
        yield _finish(message, envelope, source, start, list_hint)


def _finish(
    message: MessageBuffer, envelope: bytes | None, source: str, start: int, list_hint: str | None
) -> RawMessage:
    data, spilled = message.take()
    return RawMessage(
        data=data,
        source=source,
        offset=start,
        envelope=envelope,
        obfuscated=bool(envelope and _OBFUSCATED_ENVELOPE.match(envelope)),
        list_hint=list_hint,
        spilled=spilled,
    )
