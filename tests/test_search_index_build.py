"""A rebuild writes its new generation as segments of bounded size, side by side in worker
processes, and lists them in document order; later incremental commits leave them be."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from whoosh.index import Index
from whoosh.query import Every

from app.ingestion import Ingestion
from app.search import index_messages, index_of, index_threads, rebuild, search
from app.search.bulk import segment_length, write_generation
from app.search.documents import Document, all_documents
from app.search.index_store import new_generation, open_current
from ingest.sources import iter_archive
from tests.helpers import mbox, run_cli, sessions_of


def documents(count: int) -> list[Document]:
    return [
        {"pk": str(n), "text": f"shared words and word{n}", "list": "l", "thread": str(n)}
        for n in range(1, count + 1)
    ]


def segment_sizes(index: Index) -> list[int]:
    return [segment.doc_count_all() for segment in index._segments()]


def pks_in_document_order(index: Index) -> list[str]:
    with index.searcher() as searcher:
        return [fields["pk"] for fields in searcher.all_stored_fields()]


@pytest.mark.parametrize(
    ("expected", "procs", "size"),
    [
        (0, 2, 1),  # an empty database still gets a valid (empty) index
        (4000, 2, 4000),  # one segment, written in the calling process
        (5000, 2, 5000),
        (5001, 2, 2501),  # two half segments rather than a full one and a 1-document one
        (33263, 2, 4158),  # 8 segments: 4 for each worker
        (33263, 3, 3696),  # 9 segments: 3 for each worker
    ],
)
def test_segments_are_as_large_as_allowed_and_shared_evenly_among_workers(
    expected: int, procs: int, size: int
) -> None:
    assert segment_length(expected, procs, segment_size=5000) == size


def test_a_large_generation_is_written_by_workers_in_document_order(tmp_path: Path) -> None:
    _, index = new_generation(tmp_path)
    written = write_generation(index, documents(23), 23, procs=2, segment_size=5, limit_mb=8)
    index = index.refresh()
    assert written == 23
    assert segment_sizes(index) == [4, 4, 4, 4, 4, 3]
    assert pks_in_document_order(index) == [str(n) for n in range(1, 24)]
    with index.searcher() as searcher:
        assert len(searcher.search(Every(), limit=None)) == 23


def test_a_generation_within_one_segment_is_written_as_one(tmp_path: Path) -> None:
    _, index = new_generation(tmp_path)
    assert write_generation(index, documents(5), 5, procs=2, segment_size=5, limit_mb=8) == 5
    assert segment_sizes(index.refresh()) == [5]


def test_more_documents_than_expected_are_all_written(tmp_path: Path) -> None:
    """The count comes before the documents are read; an ingest may store more between."""
    _, index = new_generation(tmp_path)
    assert write_generation(index, documents(12), 10, procs=2, segment_size=4, limit_mb=8) == 12
    assert pks_in_document_order(index.refresh()) == [str(n) for n in range(1, 13)]


def test_a_failing_document_fails_the_build_and_commits_nothing(tmp_path: Path) -> None:
    _, index = new_generation(tmp_path)
    broken = [*documents(9), {"pk": "10", "no_such_field": "x"}]
    with pytest.raises(Exception, match="no_such_field"):
        write_generation(index, broken, 10, procs=2, segment_size=3, limit_mb=8)
    assert segment_sizes(index.refresh()) == []


def test_an_incremental_commit_after_a_rebuild_keeps_the_rebuilds_segments(
    sqlite_app: Flask, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Whoosh merges small segments at each commit; a rebuild's segments are not small, so
    an ingest batch after a reindex writes one segment and rewrites none."""
    run_cli(sqlite_app, "ingest", str(mbox(tmp_path / "a.mbox", 240)), "--list", "load")
    monkeypatch.setattr("app.search.indexing.SEGMENT_SIZE", 40)
    assert run_cli(sqlite_app, "reindex").exit_code == 0
    index_dir = sqlite_app.config["QUORUM"].index_dir
    rebuilt = open_current(index_dir)._segments()
    assert [segment.doc_count_all() for segment in rebuilt] == [40] * 6

    with sessions_of(sqlite_app)() as session:
        assert index_threads(session, index_dir, {1, 2}) == 2
    after = open_current(index_dir)._segments()
    assert {s.segment_id() for s in rebuilt} < {s.segment_id() for s in after}
    assert len(after) == len(rebuilt) + 1
    assert search(index_of(sqlite_app), "common").total == 240


def test_a_rebuild_indexes_what_was_stored_when_it_began(
    sqlite_app: Flask, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An ingest storing while a rebuild reads leaves its messages to its own index update
    of their threads: read by the rebuild too, they would be indexed twice."""
    run_cli(sqlite_app, "ingest", str(mbox(tmp_path / "a.mbox", 30)), "--list", "load")
    sessions = sessions_of(sqlite_app)
    settings = sqlite_app.config["QUORUM"]
    later = mbox(tmp_path / "b.mbox", 5, start=30)

    def an_ingest_stores_meanwhile(*args: object) -> Iterator[Document]:
        documents = all_documents(*args)  # type: ignore[arg-type]
        first = next(documents)
        with sessions() as session:
            ingestion = Ingestion(session, settings, [str(later)], "load", positions=False)
            ingestion.add(iter_archive(later, "mbox", ingestion.limit))
            ingestion.commit()
        yield first
        yield from documents

    monkeypatch.setattr("app.search.indexing.all_documents", an_ingest_stores_meanwhile)
    with sessions() as session:
        assert rebuild(session, settings.index_dir) == 30
    assert search(index_of(sqlite_app), "common").total == 30


def test_updates_merge_many_small_segments_and_leave_larger_ones_as_written(
    sqlite_app: Flask, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Merging costs more than writing afresh: an ingest's steps stay the segments they
    were written as, while staff actions' one-document segments are merged once they are
    many."""
    monkeypatch.setattr("app.search.indexing.SMALL_SEGMENT", 10)
    monkeypatch.setattr("app.search.indexing.SMALL_SEGMENTS", 3)
    index_dir = sqlite_app.config["QUORUM"].index_dir
    for step in range(3):  # three ingest steps of 12 messages
        path = mbox(tmp_path / f"{step}.mbox", 12, start=12 * step)
        run_cli(sqlite_app, "ingest", str(path), "--list", "load")
    assert segment_sizes(open_current(index_dir)) == [12, 12, 12]

    with sessions_of(sqlite_app)() as session:
        for pk in (1, 2, 3, 4):  # as hiding a message or correcting a position does
            index_messages(session, index_dir, {pk})
        assert sorted(segment_sizes(open_current(index_dir))) == [1, 1, 1, 1, 12, 12, 12]
        index_messages(session, index_dir, {5})  # written with the four merged
    assert sorted(segment_sizes(open_current(index_dir))) == [5, 12, 12, 12]
    assert search(index_of(sqlite_app), "common").total == 36
