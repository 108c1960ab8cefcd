"""Writing the index: incremental updates after each ingest batch, and full rebuilds.

Both take the writer lock (see ``app.search.index_store``). An update on a machine that has no
index yet builds it from the whole database, so the first ingest leaves a complete index.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterable
from pathlib import Path

from sqlalchemy.orm import Session
from whoosh.codec.base import Segment
from whoosh.reading import SegmentReader
from whoosh.writing import SegmentWriter

from app.search.bulk import chunked, write_generation
from app.search.documents import (
    Document,
    all_documents,
    count_documents,
    last_message_pk,
    message_documents,
    thread_documents,
)
from app.search.index_store import (
    IndexMissing,
    drop_older_generations,
    make_current,
    new_generation,
    open_current,
    writer_lock,
)

#: How long a writer waits for another one (an ingest for a running reindex) by default.
WRITER_TIMEOUT = 600.0
#: Whoosh's memory limit per writer, in its own accounting (real use is about twice that).
#: Past it, a writer spills its postings to disk and merges them back at commit, which
#: nearly doubles the cost of each document.
LIMIT_MB = 128
#: A rebuild's segments have at most this many documents: on the twisted-python archive,
#: 5,000 documents fill about 110 of those 128 MB.
SEGMENT_SIZE = 5000
#: A rebuild larger than one segment writes its segments in this many worker processes;
#: incremental batches are too small to repay starting processes.
REBUILD_PROCS = 2
#: Documents replaced per searcher opened to find the ones they replace.
REPLACE_CHUNK = 500
#: An update merges the segments of fewer documents than this (a staff action writes a
#: segment of one), once there are more than SMALL_SEGMENTS of them.
SMALL_SEGMENT = 500
SMALL_SEGMENTS = 8


def rebuild(session: Session, index_dir: Path, *, timeout: float = WRITER_TIMEOUT) -> int:
    """Build a new generation from the database and swap it in; returns documents written.
    Searches keep using the previous generation until it is replaced."""
    with writer_lock(index_dir, timeout):
        return _rebuild_locked(session, index_dir)


def index_threads(
    session: Session,
    index_dir: Path,
    thread_ids: Iterable[int],
    *,
    timeout: float = WRITER_TIMEOUT,
    erase: bool = False,
) -> int:
    """(Re)index every message of these threads: after an ingest batch, threading may have
    moved older messages too. Returns documents written. With `erase` (after a purge) the
    replaced documents leave the index files too, not only the search results."""
    ids = set(thread_ids)
    return _update(session, index_dir, lambda: thread_documents(session, ids), timeout, erase)


def index_messages(
    session: Session,
    index_dir: Path,
    message_pks: Iterable[int],
    *,
    timeout: float = WRITER_TIMEOUT,
) -> int:
    """(Re)index these messages: call it after hiding one, correcting a position, tagging
    or linking to a decision."""
    pks = set(message_pks)
    return _update(session, index_dir, lambda: message_documents(session, pks), timeout)


def _update(
    session: Session,
    index_dir: Path,
    documents: Callable[[], Iterable[Document]],
    timeout: float,
    erase: bool = False,
) -> int:
    with writer_lock(index_dir, timeout):
        try:
            index = open_current(index_dir)
        except IndexMissing:
            return _rebuild_locked(session, index_dir)
        writer = index.writer(limitmb=LIMIT_MB)
        try:
            count = _replace(writer, documents())
        except BaseException:
            writer.cancel()
            raise
        if erase:
            writer.commit(mergetype=_rewrite_segments_with_deletions)
            drop_older_generations(index_dir)
        else:
            writer.commit(mergetype=_merge_small_segments)
        return count


def _replace(writer: SegmentWriter, documents: Iterable[Document]) -> int:
    """Write `documents` in place of the committed ones with the same keys; returns how
    many. Whoosh's own ``update_document`` opens a searcher over every segment for each
    document it replaces; here one searcher serves a whole chunk of deletions, and the
    replacements are plain additions (the same result, several times faster)."""
    count = 0
    for chunk in chunked(documents, REPLACE_CHUNK):
        with writer.searcher() as searcher:
            for document in chunk:
                writer.delete_by_term("pk", document["pk"], searcher=searcher)
        for document in chunk:
            writer.add_document(**document)
        count += len(chunk)
    return count


def _merge_small_segments(writer: SegmentWriter, segments: list[Segment]) -> list[Segment]:
    """A Whoosh merge policy for updates: many small segments are merged, larger ones stay
    as written until the next rebuild.

    Whoosh merges by copying every posting through a new segment's buffer, which costs more
    than writing the documents afresh (four segments of 2,500 twisted-python messages: 16 s
    of CPU merged into one, 14 s written). Its default policy merges every segment into one
    once their total is small for their count, so an ingest's updates made it rewrite the
    archive again and again (the whole twisted-python archive in steps of 2,500: 109 s of
    indexing CPU instead of 63). An ingest's segments are a step of messages each, as a
    rebuild's are a few thousand; staff actions' one-document segments are what add up."""
    small = [segment for segment in segments if segment.doc_count_all() < SMALL_SEGMENT]
    if len(small) <= SMALL_SEGMENTS:
        return segments
    for segment in small:
        reader = SegmentReader(writer.storage, writer.schema, segment)
        writer.add_reader(reader)
        reader.close()
    return [segment for segment in segments if segment.doc_count_all() >= SMALL_SEGMENT]


def _rewrite_segments_with_deletions(
    writer: SegmentWriter, segments: list[Segment]
) -> list[Segment]:
    """A Whoosh merge policy. Replacing a document only marks the old one deleted: its words
    and stored fields stay in its segment's files until that segment is rewritten. Rewrite
    every segment that holds a deleted document (they are dropped as it is copied), keep
    the others as they are."""
    kept = []
    for segment in segments:
        if not segment.has_deletions():
            kept.append(segment)
            continue
        reader = SegmentReader(writer.storage, writer.schema, segment)
        writer.add_reader(reader)
        reader.close()
    return kept


def _rebuild_locked(session: Session, index_dir: Path) -> int:
    folder, index = new_generation(index_dir)
    upto = last_message_pk(session)
    try:
        count = write_generation(
            index,
            all_documents(session, upto),
            count_documents(session, upto),
            procs=REBUILD_PROCS,
            segment_size=SEGMENT_SIZE,
            limit_mb=LIMIT_MB,
        )
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    make_current(index_dir, folder)
    return count
