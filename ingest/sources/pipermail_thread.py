"""A pipermail month's ``thread.html``: which article answers which.

Mailman writes every entry of the thread index as a comment and a list item::

    <!--3 01049574011/1049574011.1503.45.camel@host-01049618946.35963-01049664072.35968- -->
    <LI><A HREF="035968.html">…

The comment's key is the article's *thread key*: its parent's key followed by an element of
its own, one element per ancestor, so it spells out the whole chain from the thread's root.
Mailman 2.1 writes an element as ``<date>.<article number>-``; Mailman 2.0 wrote
``<date>-``, and archives it imported kept elements of the form ``<date>/<Message-ID>-``,
which 2.1 then extended with its own (as above). Dates are ``%011i`` seconds, with a sign
when negative (a mangled Date header).

The parent is therefore the entry whose key is this key without its last element, at any
depth. The list's nesting is weaker evidence: Mailman stops indenting at depth 3 (so a
deeper reply seems to answer whoever was last at depth 2), and it derives the depth by
counting the ``-`` in the key (so a Message-ID with dashes, or a negative date, indents a
root). Nesting is used only for an entry whose key cannot be read. Each key is read from
its end, over its last two elements only, and every key once: linear in the page.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from ingest.message_ids import normalise_message_id

# One token of the index: a list opening or closing, or an entry with or without its key
# comment. A key holds no "<": an unterminated "<!--1 " costs a scan to the next tag only.
_TOKEN = re.compile(
    r"<(?P<ul>/?)UL>"
    r"|(?:<!--(?P<depth>\d+) (?P<key>[^<>]*?) -->\s*)?<LI><A HREF=\"(?P<number>\d{6})\.html\"",
    re.IGNORECASE,
)
_DIGITS = "0123456789"


@dataclass
class ThreadIndex:
    """What a month's ``thread.html`` says, by article number."""

    linked: set[str] = field(default_factory=set)
    parents: dict[str, str] = field(default_factory=dict)
    #: Message-IDs that older pipermail wrote into the thread keys.
    key_ids: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class _Entry:
    number: str
    #: Keys the parent's entry may have: [] for a root, None when the key is unreadable.
    parent_keys: list[str] | None
    #: The entry the list nests this one under.
    nested_under: str | None


def thread_index(folder: Path) -> ThreadIndex:
    """The folder's ``thread.html`` read (empty when there is none)."""
    index = folder / "thread.html"
    found = ThreadIndex()
    if not index.is_file():
        return found
    text = index.read_bytes().decode("utf-8", "replace")
    entries: list[_Entry] = []
    by_key: dict[str, str] = {}
    level = 0
    # The entries still open, outermost first, with the list level each sits at.
    open_entries: list[tuple[int, str]] = []
    for match in _TOKEN.finditer(text):
        if match.group("ul") is not None:
            level += -1 if match.group("ul") else 1
            continue
        number, key = match.group("number"), match.group("key")
        found.linked.add(number)
        while open_entries and open_entries[-1][0] >= level:
            open_entries.pop()
        above = open_entries[-1] if open_entries else None
        nested_under = above[1] if above and above[0] == level - 1 else None
        open_entries.append((level, number))
        parent_keys = None
        if key is not None:
            key = key.strip()
            by_key.setdefault(key, number)
            own_id, parent_keys = read_key(key, number)
            if own_id:
                found.key_ids[number] = own_id
        entries.append(_Entry(number, parent_keys, nested_under))
    for entry in entries:
        parent = _parent(entry, by_key)
        if parent is not None and parent != entry.number:
            found.parents[entry.number] = parent
    return found


def _parent(entry: _Entry, by_key: dict[str, str]) -> str | None:
    """The key's parent when the key names one listed here, else the list's nesting."""
    if entry.parent_keys is not None:
        if not entry.parent_keys:
            return None
        for key in entry.parent_keys:
            if key in by_key:
                return by_key[key]
    return entry.nested_under


def read_key(key: str, number: str) -> tuple[str | None, list[str] | None]:
    """(the Message-ID the key's own element holds, the keys its parent's entry may have).

    The parent keys are [] when the key is a root's (one element) and None when the key
    does not end in an element this reader knows. Two keys are possible when the own
    element's date is negative: its sign and the parent's closing "-" read alike."""
    if not key.endswith("-"):
        return None, None
    body = key[:-1]
    own_id = None
    sequence = "." + str(int(number))
    if body.endswith(sequence):  # Mailman 2.1: <date>.<article number>
        end = len(body) - len(sequence)
    elif "/" in body:  # imported from 2.0: <date>/<Message-ID>
        end = body.rfind("/")
        own_id = _message_id(body[end + 1 :])
    else:  # Mailman 2.0: <date>
        end = len(body)
    start = len(body[:end].rstrip(_DIGITS))
    if start == end:
        return None, None
    rest = body[:start]
    if rest in ("", "-"):
        return own_id, []
    if not rest.endswith("-"):
        return None, None
    return own_id, [rest[:-1], rest] if rest.endswith("--") else [rest]


def _message_id(text: str) -> str | None:
    """A Message-ID as a key element holds it: no spaces, an "@" between other characters."""
    if "@" in text[1:-1] and not any(c.isspace() for c in text):
        return normalise_message_id(text)
    return None
