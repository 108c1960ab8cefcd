"""When two copies of one message are the same message, and which copy to keep.

Archives that were exported twice differ in ways that are not the author's: spacing,
non-ASCII letters that one export turned into "?", UTF-7 sequences ("+AH4-" for "~") that
one export left undecoded, scrubbed-attachment notes spelled differently (those are taken
out of the text earlier, see ``ingest.scrubbed``), and bodies cut short where a line began
with "From ". Copies that differ only so are duplicates; the better one is kept, chosen by
an order that does not depend on which copy arrived first.
"""

from __future__ import annotations

import hashlib
import re

from ingest.records import Attachment

# What two exports of one message may disagree on: everything but printable ASCII, and "?"
# (non-ASCII is dropped by the encoding, these bytes by translate()).
_DROP = bytes(range(0x21)) + b"?\x7f"
# A UTF-7 sequence: from the first "+" of a run of base64 letters to the "-" closing it.
# Tried from the start of each run only, and without backtracking: tried from every "+",
# a long run of "+" was scanned once per "+".
_UTF7 = re.compile(r"(?<![A-Za-z0-9/+])([A-Za-z0-9/]*+)(\+[A-Za-z0-9/+]{3,}+-)")


def fold(text: str) -> bytes:
    """The characters of `text` that every export preserved: printable ASCII except "?",
    after decoding UTF-7 sequences."""
    if "+" in text:
        text = _UTF7.sub(_decode_utf7, text)
    return text.encode("ascii", "ignore").translate(None, _DROP)


def _decode_utf7(match: re.Match[str]) -> str:
    try:
        return match.group(1) + match.group(2).encode("ascii").decode("utf-7")
    except UnicodeDecodeError:
        return match.group(0)


def content_hash(message_id: str, address: str, subject: str, date: object, body: str) -> str:
    """Equal for copies of one message that differ only in export artefacts."""
    fields = (message_id, address, subject, str(date), body)
    return hashlib.sha256(b"\n".join(fold(f) for f in fields)).hexdigest()


def truncated_copy(a: str, b: str) -> bool:
    """Whether one body is the other cut short (an export stopped at a "From " line)."""
    short, long = sorted((fold(a), fold(b)), key=len)
    return bool(short) and long.startswith(short)


def copy_rank(
    from_article: bool, has_parent: bool, body: str, attachments: list[Attachment]
) -> tuple[bool, bool, int, int, int]:
    """Lower is better. A mail copy (full headers) over an HTML article page; a copy that
    names its parent over one that does not (an orphan article page); then the copy that
    kept the most text (a truncated copy loses), the one that lost fewer letters to "?",
    the one whose scrubbed attachments kept their names. Callers break the remaining ties
    by the raw bytes, so that the choice never depends on arrival order."""
    lost = body.count("\ufffd") + body.count("?")
    unnamed = sum(1 for a in attachments if not a.filename or a.filename.startswith("attachment"))
    return (from_article, not has_parent, -len(fold(body)), lost, unnamed)
