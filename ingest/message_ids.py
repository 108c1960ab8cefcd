"""Message-ID normalisation: one spelling per id, so that replies find their parents."""

from __future__ import annotations

import hashlib
import re

# Whitespace inside the brackets is folding, not part of the id, except in pipermail's
# obfuscation of the "@" ("<123.camel at host>"), which is undone. Doubled brackets need no
# pattern of their own: the id is what the innermost pair holds. (A pattern for the run of
# brackets, "<+…>+", tried every "<" of a long run against the rest of the run.)
_ID = re.compile(r"<([^<>]*)>")
# From the first space of a run only, so that a long run is not retried from each space.
_OBFUSCATED_AT = re.compile(r"(?<!\s)\s+at\s+")


def normalise_message_id(value: str | None) -> str | None:
    """`<local@domain>` from a header value, or None when it holds no usable id.

    Strips whitespace and folding, doubled brackets (`<<id>>`), trailing comments and
    non-ASCII junk. `+` and `=` are kept: an archive that "tidied" them broke threading.
    """
    if not value:
        return None
    match = _ID.search(value)
    if match and match.group(1).strip():
        return _bracketed(match.group(1))
    words = value.split()
    return _bracketed(words[0].strip("<>")) if words else None


def _bracketed(core: str) -> str | None:
    if "@" not in core:
        core = _OBFUSCATED_AT.sub("@", core, count=1)
    core = "".join(core.split())
    if not core.isascii() or not core.isprintable():
        core = "".join(ch for ch in core if 32 < ord(ch) < 127)
    return f"<{core}>" if core else None


def parse_id_list(value: str | None) -> list[str]:
    """Every id in a References (or In-Reply-To) value, in order, without repeats."""
    if not value:
        return []
    seen: dict[str, None] = {}
    for match in _ID.finditer(value):
        normalised = _bracketed(match.group(1))
        if normalised:
            seen.setdefault(normalised, None)
    return list(seen)


def synthetic_message_id(data: bytes) -> str:
    """A stable id for a message that has none: the same bytes always give the same id."""
    digest = hashlib.sha256(data).hexdigest()[:32]
    return f"<{digest}@synthetic.quorum.invalid>"


def bracketed(message_id: str) -> str:
    """Message-IDs in URLs may come with or without their angle brackets."""
    message_id = message_id.strip()
    return message_id if message_id.startswith("<") else f"<{message_id}>"


def url_key(message_id: str) -> str:
    """A Message-ID as URLs spell it: without its angle brackets."""
    return message_id.strip("<>")
