"""Which reader a path needs, and the walk over files and folders given on the command line."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

from ingest.records import DEFAULT_LIMIT, RawMessage, SizeLimit
from ingest.sources.mbox import iter_mbox, open_maybe_gzip
from ingest.sources.pipermail_html import ARTICLE_NAME, is_pipermail_folder, iter_pipermail_html
from ingest.sources.single import is_maildir, iter_eml, iter_maildir

FORMATS = ("auto", "mbox", "pipermail-txt", "pipermail-html", "maildir", "eml")
_PIPERMAIL_MONTH = re.compile(r"^\d{4}-[A-Z][a-z]+(\.txt(\.gz)?)?$")
_OBFUSCATED_FIRST_LINE = re.compile(rb"^From \S+ at \S+\s")
# Folder names that say where archives live rather than which list they belong to.
_GENERIC_FOLDERS = {"archive", "archives", "pipermail", "mbox", "public", "private", "mail"}


class SourceError(Exception):
    """A path that cannot be read as mail at all (missing, unreadable, not an archive)."""


def list_files(paths: list[Path]) -> list[tuple[Path, bool]]:
    """Every file under the given paths, folders walked recursively, in a stable order, each
    with whether it was named explicitly (a file found inside a folder was not).

    Maildir and pipermail HTML month folders are returned whole: their files are the
    messages of one archive, not archives each.
    """
    found: list[tuple[Path, bool]] = []
    for path in paths:
        if not path.exists():
            raise SourceError(f"{path}: no such file or folder")
        found.extend(_walk(path, explicit=True))
    return found


def _walk(path: Path, explicit: bool) -> list[tuple[Path, bool]]:
    if not path.is_dir() or is_maildir(path) or is_pipermail_folder(path):
        return [(path, explicit)]
    try:
        children = sorted(path.iterdir())
    except OSError as exc:
        raise SourceError(f"{path}: cannot read ({exc.strerror or exc})") from exc
    found: list[tuple[Path, bool]] = []
    for child in children:
        if not child.name.startswith("."):
            found.extend(_walk(child, explicit=False))
    return found


def list_hint_for(path: Path) -> str:
    """The list a file probably belongs to: the folder holding pipermail months (a month
    file, a month folder or an article in one), else the file's name."""
    if ARTICLE_NAME.match(path.name):
        path = path.parent
    if _PIPERMAIL_MONTH.match(path.name) or path.is_dir():
        folder = path.parent if _PIPERMAIL_MONTH.match(path.name) else path
        while folder.name.lower() in _GENERIC_FOLDERS and folder.parent != folder:
            folder = folder.parent
        return folder.name
    name = path.name
    for suffix in (".gz", ".mbox", ".mbx", ".txt", ".eml"):
        name = name.removesuffix(suffix)
    return name


def detect_format(path: Path) -> str:
    if path.is_dir():
        if is_maildir(path):
            return "maildir"
        if is_pipermail_folder(path):
            return "pipermail-html"
        raise SourceError(f"{path}: a folder that is neither a maildir nor a pipermail month")
    try:
        with open_maybe_gzip(path) as fh:
            head = fh.read(4096)
    except OSError as exc:
        raise SourceError(f"{path}: cannot read ({exc.strerror or exc})") from exc
    except EOFError as exc:
        raise SourceError(f"{path}: truncated gzip file") from exc
    if head.startswith(b"From "):
        if _OBFUSCATED_FIRST_LINE.match(head) or _PIPERMAIL_MONTH.match(path.name):
            return "pipermail-txt"
        return "mbox"
    if re.match(rb"^[!-9;-~]+:", head):
        return "eml"
    if b"<!--beginarticle-->" in head:
        return "pipermail-html"
    raise SourceError(f"{path}: not a mail archive (neither mbox, pipermail nor a message)")


def iter_archive(
    path: Path, fmt: str = "auto", limit: SizeLimit = DEFAULT_LIMIT
) -> Iterator[RawMessage]:
    """Raw messages of one path (a file, or a maildir folder) in the given or detected format;
    a message larger than `limit` comes spilled to a file (see ``ingest.sources.bounded``)."""
    if fmt == "auto":
        fmt = detect_format(path)
    hint = list_hint_for(path)
    try:
        if fmt in ("mbox", "pipermail-txt"):
            yield from iter_mbox(path, hint, limit)
        elif fmt == "pipermail-html":
            yield from iter_pipermail_html(path, hint, limit)
        elif fmt == "maildir":
            yield from iter_maildir(path, hint, limit)
        elif fmt == "eml":
            yield from iter_eml(path, hint, limit)
        else:
            raise SourceError(f"{path}: unknown format {fmt!r}")
    except OSError as exc:
        raise SourceError(f"{path}: cannot read ({exc.strerror or exc})") from exc
    except EOFError as exc:
        raise SourceError(f"{path}: truncated gzip file") from exc
