"""The search query language: aliases, fields, dates as people type them, Message-IDs, and
helpful errors. Pure parsing: no database, no index."""

from __future__ import annotations

from datetime import date

import pytest
from whoosh.filedb.filestore import RamStorage
from whoosh.query import Query

from app.search.dates import DateSyntaxError, span, span_query
from app.search.query import (
    MAX_EXPANSIONS,
    QueryError,
    bound_expansions,
    make_parser,
    parse_query,
)
from app.search.schema import build_schema

YEARS = (2001, 2021)


def parsed(text: str) -> Query:
    return parse_query(make_parser(build_schema(), YEARS), text)


def terms(text: str) -> set[tuple[str, str]]:
    return {
        (f, t.decode() if isinstance(t, bytes) else t) for f, t in parsed(text).iter_all_terms()
    }


@pytest.mark.parametrize(
    ("alias", "field"),
    [
        ("from:", "sender"),
        ("f:", "sender"),
        ("subject:", "subject"),
        ("s:", "subject"),
        ("list:", "list"),
        ("l:", "list"),
        ("quoted:", "quoted"),
        ("q:", "quoted"),
    ],
)
def test_aliases_search_their_field(alias: str, field: str) -> None:
    assert {f for f, _ in terms(f"{alias}reactor")} == {field}


def test_bare_words_search_subject_and_own_text_but_not_quotes() -> None:
    assert terms("deferred") == {("text", "deferr")}


def test_dotted_words_become_phrases() -> None:
    assert str(parsed('"reactor.run"')) == str(parsed('"reactor run"'))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("stance:support", ("stance", "support")),
        ("stance:Concern", ("stance", "concern")),
        ("vote:+1", ("vote", "+1")),
        ("vote:-0.5", ("vote", "-0.5")),
        ("tag:governance", ("tag", "governance")),
        ("decision:defcore-2014", ("decision", "defcore-2014")),
        ("thread:42", ("thread", "42")),
        ("thread:<root@example.org>", ("thread_key", "<root@example.org>")),
        ("has:attachment", ("has", "attachment")),
        ("list:Twisted-Python", ("list", "twisted-python")),
    ],
)
def test_fields_take_their_values_literally(text: str, expected: tuple[str, str]) -> None:
    assert terms(text) == {expected}


def test_a_bracketed_message_id_finds_that_message() -> None:
    assert terms("<CF1A2E3B.3B1A2%troy.toman@rackspace.com>") == {
        ("message_id", "<CF1A2E3B.3B1A2%troy.toman@rackspace.com>")
    }


def test_a_bare_message_id_may_also_be_an_address() -> None:
    assert terms("52F2296B.6040304@openstack.org") == {
        ("message_id", "<52F2296B.6040304@openstack.org>"),
        ("sender", "52f2296b.6040304"),
        ("sender", "openstack.org"),
    }


def test_an_address_after_from_searches_the_sender_only() -> None:
    assert {f for f, _ in terms("from:troy.toman@rackspace.com")} == {"sender"}


def test_minus_and_not_exclude() -> None:
    assert str(parsed("deferred -reactor")) == str(parsed("deferred NOT reactor"))
    assert "NOT" in str(parsed("deferred -reactor"))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("date:2014", {("year", "2014")}),
        ("date:2014-02", {("month", "2014-02")}),
        ("date:2014-02-05", {("day", "2014-02-05")}),
        (
            "date:2014-01..2014-03",
            {("month", "2014-01"), ("month", "2014-02"), ("month", "2014-03")},
        ),
        ("date:2013..2014", {("year", "2013"), ("year", "2014")}),
        ("before:2003", {("year", "2001"), ("year", "2002")}),
        ("after:2020-12", {("month", "2020-12"), ("year", "2021")}),
        ("DATE:2014", {("year", "2014")}),
    ],
)
def test_date_forms(text: str, expected: set[tuple[str, str]]) -> None:
    assert terms(text) == expected


def test_a_span_is_covered_by_years_then_months_then_days() -> None:
    query = span_query(*span("after", "2013-06-29", YEARS))
    covered = {t.decode() if isinstance(t, bytes) else t for _f, t in query.iter_all_terms()}
    assert {"2013-06-29", "2013-06-30", "2013-07", "2013-12", "2014", "2021"} <= covered
    assert "2013-06" not in covered and "2013" not in covered
    assert span("before", "2015", YEARS) == (date(2001, 1, 1), date(2014, 12, 31))
    assert span("after", "2013-06-01", YEARS) == (date(2013, 6, 1), date(2021, 12, 31))


@pytest.mark.parametrize(
    "text", ["date:2014-13", "date:feb", "after:2014-02-30", "date:2015..2014"]
)
def test_impossible_dates_are_explained(text: str) -> None:
    with pytest.raises(QueryError, match=r"2014|2015|date"):
        parsed(text)


def test_date_errors_name_the_forms_that_work() -> None:
    with pytest.raises(DateSyntaxError, match=r"2014-02"):
        span("date", "yesterday", YEARS)


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("", "Type something to search for"),
        ("   ", "Type something to search for"),
        ("foo:bar", "There is no field foo:"),
        ("the", "leaves nothing to search for"),
        ("stance:maybe", "stance:support"),
        ("has:pony", "has:attachment"),
    ],
)
def test_unusable_queries_get_a_message_with_an_example(text: str, says: str) -> None:
    with pytest.raises(QueryError, match=says):
        parsed(text)


def test_urls_are_not_mistaken_for_fields() -> None:
    assert ("text", "twistedmatrix") in terms("see http://twistedmatrix.com")


def test_unbalanced_syntax_still_parses() -> None:
    assert terms('(deferred OR "reactor run') >= {("text", "deferr")}


def test_a_prefix_expands_to_its_most_frequent_words_only() -> None:
    index = RamStorage().create_index(build_schema())
    writer = index.writer()
    words = [f"pre{n:02d}" for n in range(MAX_EXPANSIONS + 8)]
    for rank, word in enumerate(words):  # pre00 in 40 documents … pre39 in 1
        for copy in range(len(words) - rank):
            writer.add_document(pk=f"{word}-{copy}", text=word)
    writer.commit()
    with index.searcher() as searcher:
        bounded = bound_expansions(parsed("pre*"), searcher.reader())
        kept = {t.decode() if isinstance(t, bytes) else t for _f, t in bounded.iter_all_terms()}
    assert kept == set(words[:MAX_EXPANSIONS])
