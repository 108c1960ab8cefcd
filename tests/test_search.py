"""Search end to end on a real database: messages ingested with `quorum ingest` are found by
every field, grouped, faceted, filtered for the reader, and shown as escaped snippets."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import insert, select, update

from app.models import Decision, DecisionLink, MailingList, Message, Position, Tag, thread_tags
from app.search import SearchResults, index_messages, index_of, index_threads, search
from tests.helpers import ingest_list, mail, run_cli, sessions_of

ALICE_ROOT = "<root@dev.example.org>"


DEV = [
    mail(
        ALICE_ROOT,
        "Alice Archer <alice@dev.example.org>",
        "Proposal: adopt deferred callbacks",
        "Wed, 5 Feb 2014 10:00:00 +0000",
        "I propose we adopt deferred callbacks everywhere.\n"
        "<script>alert('owned')</script> & friends are not welcome.\n",
    ),
    mail(
        "<reply@dev.example.org>",
        "Bob Baker <bob@dev.example.org>",
        "Re: Proposal: adopt deferred callbacks",
        "Mon, 10 Mar 2014 09:00:00 +0000",
        "Alice Archer wrote:\n> I propose we adopt deferred callbacks everywhere.\n\n"
        "+1, the reactor loop agrees with this.\n",
        reply_to=ALICE_ROOT,
    ),
    mail(
        "<release@dev.example.org>",
        "Carol Chen <carol@dev.example.org>",
        "Release schedule",
        "Sat, 1 Jun 2013 12:00:00 +0000",
        "When is the next release? Interoperability matters to packagers.\n",
        attachment=True,
    ),
]
BOARD = [
    mail(
        "<secret@board.example.org>",
        "Dave Doe <dave@board.example.org>",
        "Budget deferred",
        "Tue, 4 Feb 2014 08:00:00 +0000",
        "The budget vote is deferred to the next meeting.\n",
    )
]


@pytest.fixture
def archive(app: Flask, tmp_path: Path) -> Flask:
    """The dev list (public) and the board list (private), ingested and so indexed."""
    ingest_list(app, tmp_path, "dev", DEV)
    ingest_list(app, tmp_path, "board", BOARD)
    with sessions_of(app)() as session:
        session.execute(
            update(MailingList).where(MailingList.name == "board").values(visibility="private")
        )
        session.commit()
    return app


def found(app: Flask, query: str, **options: object) -> list[str]:
    results = search(index_of(app), query, **options)  # type: ignore[arg-type]
    assert results.error is None, results.error
    return [hit.message_id for hit in results.hits]


def run(app: Flask, query: str, **options: object) -> SearchResults:
    return search(index_of(app), query, **options)  # type: ignore[arg-type]


def test_ingest_makes_messages_searchable_without_a_reindex(archive: Flask) -> None:
    assert found(archive, "callbacks") == [ALICE_ROOT, "<reply@dev.example.org>"]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("from:carol", ["<release@dev.example.org>"]),
        ("f:bob@dev.example.org", ["<reply@dev.example.org>"]),
        ("subject:schedule", ["<release@dev.example.org>"]),
        ("s:proposal reactor", ["<reply@dev.example.org>"]),
        ("list:dev interoperability", ["<release@dev.example.org>"]),
        ("has:attachment", ["<release@dev.example.org>"]),
        ("date:2013", ["<release@dev.example.org>"]),
        ("date:2014-03", ["<reply@dev.example.org>"]),
        ("date:2014-02-05", [ALICE_ROOT]),
        ("date:2014-01..2014-02", [ALICE_ROOT]),
        ("after:2014-02-06", ["<reply@dev.example.org>"]),
        ("before:2014", ["<release@dev.example.org>"]),
        ("<reply@dev.example.org>", ["<reply@dev.example.org>"]),
        ("release@dev.example.org", ["<release@dev.example.org>"]),
        (f"thread:{ALICE_ROOT}", [ALICE_ROOT, "<reply@dev.example.org>"]),
        ('"adopt deferred callbacks" -reactor', [ALICE_ROOT]),
        ("interop*", ["<release@dev.example.org>"]),
    ],
)
def test_each_field_finds_its_message(archive: Flask, query: str, expected: list[str]) -> None:
    assert sorted(found(archive, query)) == sorted(expected)


def test_quoted_text_is_only_searched_on_purpose(archive: Flask) -> None:
    # Bob quoted "everywhere" from Alice: a plain search finds only Alice's own words.
    assert found(archive, "everywhere") == [ALICE_ROOT]
    assert found(archive, "quoted:everywhere") == ["<reply@dev.example.org>"]
    assert found(archive, "q:everywhere") == ["<reply@dev.example.org>"]


def test_stance_vote_tags_and_decisions_come_from_their_tables(archive: Flask) -> None:
    sessions = sessions_of(archive)
    with sessions() as session:
        reply = session.scalars(
            select(Message).where(Message.message_id == "<reply@dev.example.org>")
        ).one()
        session.execute(
            update(Position)
            .where(Position.message_pk == reply.id)
            .values(stance="oppose", vote="-1")
        )
        if session.scalar(select(Position.id).where(Position.message_pk == reply.id)) is None:
            session.add(
                Position(message_pk=reply.id, thread_id=reply.thread_id, stance="oppose", vote="-1")
            )
        tag = Tag(name="Governance")
        decision = Decision(slug="adopt-deferreds", title="Adopt deferreds")
        session.add_all([tag, decision])
        session.flush()
        session.execute(insert(thread_tags).values(thread_id=reply.thread_id, tag_id=tag.id))
        session.add(DecisionLink(decision_id=decision.id, thread_id=reply.thread_id))
        session.commit()
        index_threads(session, archive.config["QUORUM"].index_dir, {reply.thread_id})
    assert found(archive, "stance:oppose") == ["<reply@dev.example.org>"]
    assert found(archive, "vote:-1") == ["<reply@dev.example.org>"]
    assert set(found(archive, "tag:governance")) == {ALICE_ROOT, "<reply@dev.example.org>"}
    assert len(found(archive, "decision:adopt-deferreds callbacks")) == 2
    assert run(archive, "callbacks").facets.stances["oppose"] == 1


def test_private_lists_are_filtered_for_each_reader(archive: Flask) -> None:
    assert set(found(archive, "deferred")) == {ALICE_ROOT, "<reply@dev.example.org>"}
    assert "<secret@board.example.org>" not in found(archive, "budget deferred")
    assert found(archive, "budget", visible_lists={"dev", "board"}) == [
        "<secret@board.example.org>"
    ]
    assert found(archive, "list:board") == []
    # Made public again: the next query sees it, with no reindex.
    with sessions_of(archive)() as session:
        session.execute(update(MailingList).values(visibility="public"))
        session.commit()
    assert found(archive, "budget") == ["<secret@board.example.org>"]


def test_hidden_messages_are_only_for_staff(archive: Flask) -> None:
    with sessions_of(archive)() as session:
        pk = session.scalar(select(Message.id).where(Message.message_id == ALICE_ROOT))
        session.execute(update(Message).where(Message.id == pk).values(hidden=True))
        session.commit()
        index_messages(session, archive.config["QUORUM"].index_dir, [pk])
    assert found(archive, "callbacks") == ["<reply@dev.example.org>"]
    assert ALICE_ROOT in found(archive, "callbacks", include_hidden=True)


def test_snippets_are_escaped_and_mark_the_matches(archive: Flask) -> None:
    [hit] = run(archive, "alert welcome").hits
    assert "<script>" not in hit.snippet
    assert "&lt;script&gt;<mark>alert</mark>(&#39;owned&#39;)&lt;/script&gt;" in hit.snippet
    assert "&amp; friends are not <mark>welcome</mark>" in hit.snippet


def test_grouping_gives_one_hit_per_thread_with_its_match_count(archive: Flask) -> None:
    grouped = run(archive, "deferred OR release", group_by_thread=True)
    assert grouped.total == 2
    counts = {hit.thread_id: hit.matches for hit in grouped.hits}
    assert counts == {ALICE_ROOT: 2, "<release@dev.example.org>": 1}


def test_facets_count_every_match_not_only_the_page(archive: Flask) -> None:
    results = run(archive, "deferred OR release", per_page=1)
    assert results.total == 3 and len(results.hits) == 1 and results.pages == 3
    assert results.facets.lists == {"dev": 3}
    assert results.facets.years == {"2013": 1, "2014": 2}
    assert results.facets.senders == {"Alice Archer": 1, "Bob Baker": 1, "Carol Chen": 1}


def test_sorting_and_pages(archive: Flask) -> None:
    newest = found(archive, "deferred OR release", sort="newest")
    assert newest == ["<reply@dev.example.org>", ALICE_ROOT, "<release@dev.example.org>"]
    assert found(archive, "deferred OR release", sort="oldest") == newest[::-1]
    assert found(archive, "deferred OR release", sort="oldest", per_page=1, page=2) == [ALICE_ROOT]
    assert run(archive, "x", sort="sideways").error_kind == "query"


def test_nothing_found_suggests_a_spelling(archive: Flask) -> None:
    results = run(archive, "schedle")
    assert results.total == 0
    assert results.suggestion == "schedule"


def test_a_bad_query_is_a_message_not_an_error(archive: Flask) -> None:
    results = run(archive, "nosuchfield:x")
    assert results.error_kind == "query"
    assert "from:" in (results.error or "") and results.hits == []


def test_the_cli_prints_ranked_hits_and_json_lines(archive: Flask) -> None:
    result = run_cli(archive, "search", "callbacks", "--json", "--limit", "1")
    assert result.exit_code == 0, result.output
    [line] = result.stdout.splitlines()
    hit = json.loads(line)
    assert set(hit) >= {
        "message_id",
        "thread_id",
        "list",
        "date",
        "from",
        "subject",
        "snippet",
        "score",
    }
    assert hit["thread_id"] == ALICE_ROOT
    text = run_cli(archive, "search", "callbacks")
    assert "[callbacks]" in text.stdout and "2 of 2 results" in text.stdout
    bad = run_cli(archive, "search", "date:2014-13")
    assert bad.exit_code == 2 and "not a real date" in bad.stderr
