"""The array evaluator finds exactly the documents Whoosh finds, and ranks them as Whoosh
ranks them, for every kind of query the query language produces: across several segments,
with replaced (deleted) documents, phrases with and without slop, and negations."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest
from whoosh import index as whoosh_index
from whoosh.searching import Searcher

from app.search.evaluate import Evaluator, in_sequence
from app.search.query import bound_expansions, make_parser, parse_query
from app.search.schema import build_schema

WORDS = [
    "reactor",
    "deferred",
    "callback",
    "errback",
    "protocol",
    "factory",
    "transport",
    "twisted",
    "web",
    "conch",
    "ssh",
    "perspective",
    "broker",
    "trial",
    "unittest",
    "release",
    "thread",
    "blocking",
    "socket",
    "server",
    "client",
]
QUERIES = [
    "reactor",
    "reactor deferred",
    "reactor OR deferred",
    "(reactor OR deferred) AND callback",
    "reactor -deferred",
    "reactor NOT deferred",
    "NOT reactor",
    "reactor ANDMAYBE deferred",
    "reactor REQUIRE deferred",
    "reactor^3 OR deferred",
    '"perspective broker"',
    '"twisted web"',
    '"reactor deferred"~3',
    "quoted:callback",
    'quoted:"errback protocol"',
    "subject:release",
    "from:alice",
    "list:other reactor",
    "date:2014 deferred",
    "date:2013..2014 server",
    "re*",
    "thread:<t3@example.org>",
    "has:attachment",
    "nothingmatchesthis",
]


def _document(n: int, rng: random.Random) -> dict[str, str | int]:
    def words(count: int) -> str:
        return " ".join(rng.choice(WORDS) for _ in range(count))

    subject = words(3)
    return {
        "pk": str(n),
        "message_id": f"<m{n}@example.org>",
        "thread": str(n % 7),
        "thread_key": f"<t{n % 7}@example.org>",
        "list": "other" if n % 5 == 0 else "twisted-python",
        "subject": subject,
        "text": f"{subject}\n{subject}\n{words(rng.randint(3, 60))}",
        "quoted": words(rng.randint(0, 20)),
        "sender": rng.choice(["alice a@example.org", "bob b@example.org"]),
        "author": "x",
        "ts": 1_300_000_000 + n * 86_400 * 9,
        "year": str(2011 + n // 40),
        "month": f"{2011 + n // 40}-{1 + n % 12:02d}",
        "stance": "",
        "has": "attachment" if n % 9 == 0 else "",
        "hidden": "no",
    }


@pytest.fixture(scope="module")
def searcher(tmp_path_factory: pytest.TempPathFactory) -> Searcher:
    """Three segments, and documents replaced after they were first written."""
    folder: Path = tmp_path_factory.mktemp("index")
    index = whoosh_index.create_in(str(folder), build_schema())
    rng = random.Random(7)
    for first in (0, 60, 120):
        writer = index.writer()
        for n in range(first, first + 60):
            writer.add_document(**_document(n, rng))
        writer.commit(merge=False)
    writer = index.writer()
    for n in range(10, 130, 11):
        writer.update_document(**_document(n, rng))
    writer.commit(merge=False)
    with index.searcher() as opened:
        assert len(opened.reader().leaf_readers()) == 4
        assert opened.reader().has_deletions()
        yield opened


@pytest.mark.parametrize("text", QUERIES)
def test_the_evaluator_matches_and_ranks_as_whoosh_does(searcher: Searcher, text: str) -> None:
    parser = make_parser(searcher.schema, (2011, 2015))
    query = bound_expansions(parse_query(parser, text), searcher.reader())
    matches = Evaluator(searcher).matches(query)

    found = np.flatnonzero(matches.found)
    assert found.tolist() == sorted(searcher.docs_for_query(query))
    ranked = searcher.search(query, limit=None)
    expected = {hit.docnum: hit.score for hit in ranked}
    assert matches.score[found] == pytest.approx([expected[d] for d in found.tolist()], rel=1e-4)


def test_cached_postings_are_bounded_in_bytes(searcher: Searcher) -> None:
    evaluator = Evaluator(searcher, budget=1)
    first = evaluator.term("text", "reactor")
    evaluator.term("text", "deferr")
    assert evaluator.term("text", "reactor") is not first  # evicted and read again
    assert evaluator.term("text", "reactor").docs.tolist() == first.docs.tolist()


@pytest.mark.parametrize(
    ("positions", "slop", "expected"),
    [
        ([[1, 7], [8]], 1, True),
        ([[1], [3]], 1, False),
        ([[1], [3]], 2, True),
        ([[5], [4]], 3, False),  # order matters
        ([[1, 10], [2, 20], [21]], 1, False),
        ([[1, 10], [2, 11], [12]], 1, True),
    ],
)
def test_phrase_positions_must_follow_in_order(
    positions: list[list[int]], slop: int, expected: bool
) -> None:
    assert in_sequence(positions, slop) is expected
