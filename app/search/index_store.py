"""Where the index lives on disk and how it is opened, written and swapped.

``<index_dir>/CURRENT`` names the generation folder readers use (``gen-…``). A rebuild
writes a new generation beside it and replaces CURRENT atomically (``os.replace``), so
searches keep running on the old one until they refresh. One writer at a time: every write
holds an exclusive ``flock`` on ``<index_dir>/writer.lock``; a second writer waits up to a
timeout, then fails with a message saying who holds it. Whoosh's own lock stays in place
underneath.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from whoosh import index as whoosh_index
from whoosh.index import Index

from app.search import whoosh_repairs  # noqa: F401  (before any index is opened)
from app.search.schema import SCHEMA_VERSION, build_schema

POINTER = "CURRENT"
LOCK = "writer.lock"
FIX = "run `quorum reindex` to rebuild it from the database"


class SearchIndexError(RuntimeError):
    """The index cannot be used; str() says why and which command fixes it."""


class IndexMissing(SearchIndexError):
    pass


class IndexCorrupt(SearchIndexError):
    pass


class IndexBusy(SearchIndexError):
    pass


def current_generation(index_dir: Path) -> Path:
    """The generation folder readers should open, or IndexMissing."""
    try:
        name = (index_dir / POINTER).read_text().strip()
    except FileNotFoundError:
        raise IndexMissing(f"there is no search index in {index_dir} yet: {FIX}") from None
    return index_dir / name


def open_generation(folder: Path) -> Index:
    """Open one generation, turning Whoosh's failures into IndexCorrupt."""
    if not (folder / f"schema-{SCHEMA_VERSION}").exists():
        raise IndexCorrupt(f"the search index in {folder} is incomplete or outdated: {FIX}")
    try:
        return whoosh_index.open_dir(str(folder))
    except Exception as exc:  # Whoosh raises many types (EmptyIndexError, EOFError, …)
        raise IndexCorrupt(f"the search index in {folder} cannot be read ({exc}): {FIX}") from exc


def open_current(index_dir: Path) -> Index:
    """The generation readers use, opened for writing to it."""
    return open_generation(current_generation(index_dir))


def new_generation(index_dir: Path) -> tuple[Path, Index]:
    """An empty index in a fresh generation folder (not yet current)."""
    folder = index_dir / f"gen-{time.time_ns()}"
    folder.mkdir(parents=True)
    (folder / f"schema-{SCHEMA_VERSION}").touch()
    return folder, whoosh_index.create_in(str(folder), build_schema())


def make_current(index_dir: Path, folder: Path) -> None:
    """Point readers at `folder` atomically; drop generations older than the one it
    replaces (kept for searches still running on it)."""
    previous = None
    with suppress(IndexMissing):
        previous = current_generation(index_dir).name
    pending = index_dir / f"{POINTER}.new"
    pending.write_text(folder.name + "\n")
    os.replace(pending, index_dir / POINTER)
    for old in index_dir.glob("gen-*"):
        if old.name not in (folder.name, previous):
            shutil.rmtree(old, ignore_errors=True)


def drop_older_generations(index_dir: Path) -> None:
    """Remove every generation but the current one, the one kept for searches still
    running included: after a purge, no copy of the erased text may stay on disk."""
    current = current_generation(index_dir).name
    for old in index_dir.glob("gen-*"):
        if old.name != current:
            shutil.rmtree(old, ignore_errors=True)


@contextmanager
def writer_lock(index_dir: Path, timeout: float) -> Iterator[None]:
    """Exclusive right to write the index, waiting up to `timeout` seconds for it."""
    index_dir.mkdir(parents=True, exist_ok=True)
    with open(index_dir / LOCK, "a+") as fh:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    fh.seek(0)
                    holder = fh.read().strip() or "another process"
                    raise IndexBusy(
                        f"the search index is being written by {holder}; waited {timeout:.0f}s."
                        " The messages are stored: run `quorum reindex` once it has finished"
                    ) from None
                time.sleep(0.05)
        try:
            fh.truncate(0)
            fh.write(f"pid {os.getpid()} since {time.strftime('%Y-%m-%d %H:%M:%S')}\n")
            fh.flush()
            yield
        finally:
            fh.truncate(0)
            fcntl.flock(fh, fcntl.LOCK_UN)
