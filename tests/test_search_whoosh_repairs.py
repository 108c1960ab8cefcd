"""Reading a memory-mapped index copies nothing but what is read, and field lengths are
read once per column (see app.search.whoosh_repairs)."""

from __future__ import annotations

import io
import random
import tracemalloc
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st
from whoosh import index as whoosh_index
from whoosh.fields import ID, STORED, TEXT, Schema
from whoosh.qparser import QueryParser

from app.search import whoosh_repairs
from app.search.index_store import open_generation
from app.search.whoosh_repairs import MappedFile

# (operation, argument): what Whoosh's readers do with the file they are handed.
OPERATIONS = st.lists(
    st.one_of(
        st.tuples(st.just("read"), st.integers(-1, 300)),
        st.tuples(st.just("readline"), st.integers(-1, 300)),
        st.tuples(st.just("seek"), st.integers(0, 1200)),
        st.tuples(st.just("seek_end"), st.integers(-600, 0)),
        st.tuples(st.just("tell"), st.just(0)),
    ),
    max_size=30,
)


@given(data=st.binary(max_size=1000) | st.text(max_size=400).map(str.encode), ops=OPERATIONS)
def test_a_mapped_file_reads_as_a_bytes_io_does(data: bytes, ops: list[tuple[str, int]]) -> None:
    mapped, expected = MappedFile(memoryview(data)), io.BytesIO(data)
    for operation, argument in ops:
        if operation == "seek_end":
            assert mapped.seek(argument, 2) == expected.seek(max(argument, -len(data)), 2)
        elif operation == "tell":
            assert mapped.tell() == expected.tell()
        else:
            method = operation
            assert getattr(mapped, method)(argument) == getattr(expected, method)(argument)


def test_searching_a_mapped_index_does_not_copy_it_into_memory(tmp_path: Path) -> None:
    schema = Schema(body=TEXT(stored=True), padding=STORED())
    index = whoosh_index.create_in(str(tmp_path), schema)
    writer = index.writer()
    noise = random.Random(5)
    for n in range(200):
        padding = noise.randbytes(50_000).hex()  # stored fields are compressed: not "xxx…"
        writer.add_document(body=f"message {n} about the reactor", padding=padding)
    writer.commit()
    (tmp_path / "schema-3").touch()
    segment_files = sum(f.stat().st_size for f in tmp_path.glob("*.seg"))
    assert segment_files > 10_000_000  # one compound segment, memory-mapped when opened

    tracemalloc.start()
    with open_generation(tmp_path).searcher() as searcher:
        hits = searcher.search(QueryParser("body", schema).parse("reactor"), limit=3)
        found = [hit["body"] for hit in hits]
    _current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()

    assert len(found) == 3
    assert peak < segment_files / 10  # Whoosh's BytesIO copied the stored fields' whole file


class NoMoreReads:
    """A file that must not be read again."""

    def get(self, position: int, length: int) -> bytes:
        raise AssertionError("the length column was read again")


def test_field_lengths_are_whooshs_own_read_once_per_column(tmp_path: Path) -> None:
    schema = Schema(key=ID(stored=True), body=TEXT(), title=TEXT())
    index = whoosh_index.create_in(str(tmp_path), schema)
    writer = index.writer()
    words = random.Random(7)
    for n in range(300):
        body = " ".join(words.choice(("reactor", "deferred", "protocol")) for _ in range(n % 40))
        writer.add_document(key=str(n), body=body, **({"title": "plan"} if n % 3 else {}))
    writer.commit()
    repaired, original = index.reader()._perdoc, index.reader()._perdoc
    whoosh_own = whoosh_repairs.WHOOSH_DOC_FIELD_LENGTH
    for field in ("body", "title", "key"):  # `key` has no lengths: the default answers
        for docnum in range(300):
            expected = whoosh_own(original, docnum, field, default=-1)
            assert repaired.doc_field_length(docnum, field, default=-1) == expected

    repaired._readers["_body_len"]._dbfile = NoMoreReads()
    assert [repaired.doc_field_length(n, "body") for n in range(300)] == [
        whoosh_own(original, n, "body") for n in range(300)
    ]
