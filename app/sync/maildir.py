"""A local maildir a mail server delivers into, read as new files appear.

The cursor is a watermark: the newest modification time read, and the names of the files
read within a minute of it. A file written before the watermark but moved into ``new/``
after a pass looked (delivery writes into ``tmp/`` first) is still found, since the pass
looks a minute back; the names keep that minute from being read twice. A file a mail client
moves from ``new/`` to ``cur/`` keeps its unique name (the part before ":") and its time.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from app.source_settings import SourceSettings
from app.sync.errors import SyncError
from app.sync.sink import Sink
from ingest.records import RawMessage
from ingest.sources.single import is_maildir, iter_eml

#: How far before the watermark each pass looks again, in nanoseconds.
LOOK_BACK_NS = 60 * 10**9
#: Messages committed (with the cursor) at a time.
CHUNK = 500


def pull_maildir(source: SourceSettings, cursor: dict[str, Any], sink: Sink) -> None:
    folder = Path(source.path)
    if not is_maildir(folder):
        raise SyncError(f"{folder}: not a maildir (no cur/ and new/ folders)")
    watermark = int(cursor.get("mtime_ns", 0))
    recent: dict[str, int] = dict(cursor.get("recent", {}))
    waiting = sorted(_new_files(folder, watermark - LOOK_BACK_NS, recent))
    for start in range(0, len(waiting), CHUNK):
        chunk = waiting[start : start + CHUNK]
        for mtime_ns, unique, _ in chunk:
            recent[unique] = mtime_ns
        watermark = max(watermark, chunk[-1][0])
        recent = {name: t for name, t in recent.items() if t >= watermark - LOOK_BACK_NS}
        messages = _read(folder, [path for _, _, path in chunk], sink)
        sink.take(messages, {"mtime_ns": watermark, "recent": dict(recent)})
    if not waiting:
        sink.save_cursor({"mtime_ns": watermark, "recent": recent})


def _new_files(
    folder: Path, since_ns: int, recent: dict[str, int]
) -> Iterator[tuple[int, str, str]]:
    """(modification time, unique name, path) of the files not read yet."""
    for sub in ("new", "cur"):
        try:
            entries = list(os.scandir(folder / sub))
        except OSError as exc:
            raise SyncError(f"{folder / sub}: cannot read ({exc.strerror or exc})") from None
        for entry in entries:
            if entry.name.startswith(".") or not entry.is_file():
                continue
            unique = entry.name.split(":", 1)[0]
            mtime_ns = entry.stat().st_mtime_ns
            if mtime_ns >= since_ns and unique not in recent:
                yield mtime_ns, unique, entry.path


def _read(folder: Path, paths: list[str], sink: Sink) -> Iterator[RawMessage]:
    """The files' messages; a file a mail client moved meanwhile is read where it went."""
    for path in map(Path, paths):
        if not path.exists():
            moved = _moved(folder, path.name.split(":", 1)[0])
            if moved is None:
                raise SyncError(f"{path}: gone before it could be read (removed from the maildir?)")
            path = moved
        yield from iter_eml(path, sink.list_name, sink.limit)


def _moved(folder: Path, unique: str) -> Path | None:
    for sub in ("cur", "new"):
        for candidate in (folder / sub).glob(f"{unique}*"):
            if candidate.name.split(":", 1)[0] == unique:
                return candidate
    return None
