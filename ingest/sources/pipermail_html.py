"""Pipermail HTML month folders (``2003-April/``: ``NNNNNN.html`` articles and indexes).

Every article page in the folder is a message, including the orphans that no index links
(an archive rebuilt twice leaves two article-number sequences). The folder as a whole
knows more than each page does, so it is read in two passes:

1. every page's identity: its Message-ID (from the page, or from the ``<!--N key-->``
   comments of ``thread.html``, which older pipermail wrote with the Message-ID in them),
   and who/when/what. An orphan page that copies a linked page takes the linked page's id:
   orphans come from older builds of the archive, whose Mailman 2.0 pages carry the
   message's In-Reply-To header where later ones put its Message-ID;
2. the pages again, one at a time, each handed on with its id and its parent: the
   In-Reply-To that a Mailman 2.0 copy of the page names (a header, where the folder has
   one), else the parent ``thread.html`` gives it (see ``ingest.sources.pipermail_thread``).
   Either is recorded as "pipermail-thread", weaker than the headers of a mail copy.

Only ids and fingerprints are held in memory, never the pages.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

from ingest.pipermail_article import read_article
from ingest.records import DEFAULT_LIMIT, RawMessage, SizeLimit
from ingest.sources.bounded import read_bounded
from ingest.sources.pipermail_thread import thread_index

ARTICLE_NAME = re.compile(r"^\d{6}\.html$")


def is_pipermail_folder(path: Path) -> bool:
    return path.is_dir() and any(ARTICLE_NAME.match(p.name) for p in path.iterdir())


def article_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if ARTICLE_NAME.match(p.name))


def iter_pipermail_html(
    path: Path, list_hint: str | None = None, limit: SizeLimit = DEFAULT_LIMIT
) -> Iterator[RawMessage]:
    """Yield every article page of a month folder (or the one page named) with its id and
    thread parent, as the folder around it gives them. A page larger than `limit` is not
    read for its identity, and comes spilled to a file."""
    folder = path.parent if path.is_file() else path
    files = article_files(folder)
    index = thread_index(folder)
    ids: dict[str, str] = {}
    linked_ids: dict[tuple[str, str, str], str] = {}
    prints: dict[str, tuple[str, str, str]] = {}
    #: The In-Reply-To that a Mailman 2.0 copy of a message names, by fingerprint.
    replied_to: dict[tuple[str, str, str], str] = {}
    for file in files:
        number = file.name[:6]
        if file.stat().st_size > limit.max_bytes:
            continue
        article = read_article(file.read_bytes())
        if article is None:
            continue
        message_id = article.message_id or index.key_ids.get(number)
        if message_id:
            ids[number] = message_id
        fingerprint = prints[number] = article.fingerprint()
        if article.in_reply_to:
            replied_to.setdefault(fingerprint, article.in_reply_to)
        if number in index.linked and message_id:
            linked_ids.setdefault(fingerprint, message_id)
    for number, fingerprint in prints.items():
        if number not in index.linked and fingerprint in linked_ids:
            ids[number] = linked_ids[fingerprint]
    for file in [path] if path.is_file() else files:
        number = file.name[:6]
        parent = index.parents.get(number)
        header_parent = replied_to.get(prints[number]) if number in prints else None
        with file.open("rb") as fh:
            data, spilled = read_bounded(fh, limit)
        yield RawMessage(
            data=data,
            source=str(file),
            offset=0,
            list_hint=list_hint,
            kind="pipermail-article",
            article_url=f"{folder.name}/{file.name}",
            message_id=ids.get(number),
            thread_parent=header_parent or (ids.get(parent) if parent else None),
            spilled=spilled,
        )
