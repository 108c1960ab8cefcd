"""Writing a whole generation at once (a rebuild): documents in, several segments out,
written side by side by worker processes.

Whoosh buffers a segment's postings in memory and, past its limit, spills them to disk and
merges them back at commit, which nearly doubles the cost of each document. So a rebuild
is cut into segments small enough never to spill, sized so that each worker gets the same
share; the parent reads the documents and, at the end, commits one table of contents that
lists every segment in document order.

An update after a rebuild writes one more segment and rewrites none of these (see
``app.search.indexing``: updates merge only small segments).
"""

from __future__ import annotations

import math
import multiprocessing
from collections.abc import Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from itertools import islice

from whoosh import index as whoosh_index
from whoosh.codec.base import Segment
from whoosh.index import Index
from whoosh.writing import SegmentWriter

from app.search.documents import Document


def write_generation(
    index: Index,
    documents: Iterable[Document],
    expected: int,
    *,
    procs: int,
    segment_size: int,
    limit_mb: int,
) -> int:
    """Write `documents` (about `expected` of them) into the empty `index` in segments of
    at most about `segment_size` documents, and commit it; returns how many were written.
    One segment is written in this process; more are spread over `procs` workers."""
    size = segment_length(expected, procs, segment_size)
    chunks = chunked(documents, size)
    writer = index.writer()  # holds Whoosh's lock; it commits the segments the others write
    try:
        segments = (
            _write_in_workers(index, chunks, procs, limit_mb)
            if expected > segment_size
            else [_write_segment(index, chunk, limit_mb) for chunk in chunks]
        )
    except BaseException:
        writer.cancel()
        raise
    writer.commit(mergetype=lambda _writer, existing: existing + segments)
    return sum(segment.doc_count_all() for segment in segments)


def segment_length(expected: int, procs: int, segment_size: int) -> int:
    """Documents per segment: at most `segment_size`, and a multiple of `procs` segments
    in all so that no worker is left writing the last one alone."""
    if expected <= segment_size:
        return max(expected, 1)
    rounds = math.ceil(expected / (procs * segment_size))
    return math.ceil(expected / (rounds * procs))


def chunked(documents: Iterable[Document], size: int) -> Iterator[list[Document]]:
    """`documents` in lists of at most `size`, read lazily."""
    iterator = iter(documents)
    while chunk := list(islice(iterator, size)):
        yield chunk


def _write_in_workers(
    index: Index, chunks: Iterator[list[Document]], procs: int, limit_mb: int
) -> list[Segment]:
    """Each chunk becomes a segment in a worker; no more chunks wait than there are
    workers, so the parent holds a bounded part of the archive. Segments come back in
    the order of their chunks."""
    folder = index.storage.folder
    done: dict[int, Segment] = {}
    # Forked, not spawned: workers need nothing but Whoosh, and start at once.
    context = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(max_workers=procs, mp_context=context) as pool:
        running: dict[Future[Segment], int] = {}
        for number, chunk in enumerate(chunks):
            if len(running) >= procs:
                _collect(running, done, wait(running, return_when=FIRST_COMPLETED).done)
            running[pool.submit(_write_segment_in, folder, chunk, limit_mb)] = number
        _collect(running, done, wait(running).done)
    return [done[number] for number in sorted(done)]


def _collect(
    running: dict[Future[Segment], int], done: dict[int, Segment], finished: set[Future[Segment]]
) -> None:
    for future in finished:
        done[running.pop(future)] = future.result()  # a worker's error is raised here


def _write_segment_in(folder: str, documents: list[Document], limit_mb: int) -> Segment:
    return _write_segment(whoosh_index.open_dir(folder), documents, limit_mb)


def _write_segment(index: Index, documents: list[Document], limit_mb: int) -> Segment:
    """One finished segment of `documents`, not yet listed in the index (the writer that
    holds the index's lock commits it)."""
    writer = SegmentWriter(index, _lk=False, limitmb=limit_mb)
    for document in documents:
        writer.add_document(**document)
    return writer._finalize_segment()
