"""The postgres search backend (``[search] backend = "postgres"``) on a real PostgreSQL
server: a message is searchable when its transaction commits, staff changes count at once,
private lists and hidden messages stay out, snippets are escaped, each list is searched in
its own language, and `quorum reindex` rebuilds the vectors. Its parity with the Whoosh
backend over one archive is in test_search_backends_parity.py; several web nodes sharing
one database in test_search_postgres_nodes.py."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import delete, select, text, update

from app.governance import correct_position, purge, set_hidden, set_thread_tags
from app.models import MailingList, Message, SearchDocument, Thread
from app.search import PostgresSearch, SearchResults, index_of, search
from app.settings import ListSettings, SettingsError, load_settings
from tests.helpers import build_app, fresh_database, ingest_list, mail, run_cli, sessions_of
from tests.test_search import ALICE_ROOT, BOARD, DEV

REPLY = "<reply@dev.example.org>"
RELEASE = "<release@dev.example.org>"
SECRET = "<secret@board.example.org>"


@pytest.fixture
def pg_url(tmp_path: Path) -> Iterator[str]:
    with fresh_database("postgresql", tmp_path) as url:
        yield url


@pytest.fixture
def archive(pg_url: str, tmp_path: Path) -> Iterator[Flask]:
    """The dev list (public) and the board list (private) on the postgres backend."""
    app = build_app(pg_url, tmp_path / "home", search={"backend": "postgres"})
    ingest_list(app, tmp_path, "dev", DEV)
    ingest_list(app, tmp_path, "board", BOARD)
    with sessions_of(app)() as session:
        session.execute(
            update(MailingList).where(MailingList.name == "board").values(visibility="private")
        )
        session.commit()
    yield app
    app.extensions["quorum.engine"].dispose()


def run(app: Flask, query: str, **options: object) -> SearchResults:
    return search(index_of(app), query, **options)  # type: ignore[arg-type]


def found(app: Flask, query: str, **options: object) -> list[str]:
    results = run(app, query, **options)
    assert results.error is None, results.error
    return [hit.message_id for hit in results.hits]


def message(app: Flask, message_id: str) -> Message:
    with sessions_of(app)() as session:
        return session.scalars(select(Message).where(Message.message_id == message_id)).one()


def test_the_backend_is_chosen_in_the_settings(archive: Flask) -> None:
    assert isinstance(index_of(archive), PostgresSearch)
    # Nothing is written beside the app: the search lives in the database.
    assert not (archive.config["QUORUM"].index_dir).exists()


def test_the_postgres_backend_needs_a_postgres_database(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="PostgreSQL"):
        load_settings({"home": str(tmp_path), "search": {"backend": "postgres"}}, environ={})
    with pytest.raises(SettingsError, match="whoosh"):
        load_settings({"home": str(tmp_path), "search": {"backend": "elastic"}}, environ={})


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("callbacks", [ALICE_ROOT, REPLY]),
        ("callback", [ALICE_ROOT, REPLY]),  # stemmed by the list's configuration
        ("from:carol", [RELEASE]),
        ("f:bob@dev.example.org", [REPLY]),
        ("subject:schedule", [RELEASE]),
        ("s:proposal reactor", [REPLY]),
        ("list:dev interoperability", [RELEASE]),
        ("list:de*", [ALICE_ROOT, REPLY, RELEASE]),
        ("has:attachment", [RELEASE]),
        ("date:2013", [RELEASE]),
        ("date:2014-03", [REPLY]),
        ("date:2014-02-05", [ALICE_ROOT]),
        ("date:2014-01..2014-02", [ALICE_ROOT]),
        ("date:..2013-12", [RELEASE]),
        ("after:2014-02-06", [REPLY]),
        ("before:2014", [RELEASE]),
        ("<reply@dev.example.org>", [REPLY]),
        ("release@dev.example.org", [RELEASE]),
        (f"thread:{ALICE_ROOT}", [ALICE_ROOT, REPLY]),
        ('"adopt deferred callbacks" -reactor', [ALICE_ROOT]),
        ('"deferred callbacks" NOT from:bob', [ALICE_ROOT]),
        ("callbacks AND NOT reactor", [ALICE_ROOT]),
        ("reactor OR interoperability", [REPLY, RELEASE]),
        ("(reactor OR packagers) date:2014", [REPLY]),
        ("interop*", [RELEASE]),
        ("reactor.loop", [REPLY]),  # split at dots, as a phrase
        ("everywhere", [ALICE_ROOT]),  # what Bob quoted of it is not his own text...
        ("quoted:everywhere", [REPLY]),  # ...unless asked for
        ("q:everywhere", [REPLY]),
    ],
)
def test_the_query_language_is_the_whoosh_backends(
    archive: Flask, query: str, expected: list[str]
) -> None:
    assert sorted(found(archive, query)) == sorted(expected)


def test_bad_queries_are_explained_not_crashed(archive: Flask) -> None:
    for query, says in [
        ("nosuchfield:x", "There is no field nosuchfield:"),
        ("date:2014-13", "not a real date"),
        ("stance:happy", "is not a stance"),
        ("*op*", "a * can only end a word"),
        ("[a TO c]", "ranges like [a TO c] are not supported"),
    ]:
        results = run(archive, query)
        assert results.error_kind == "query" and says in (results.error or ""), query


@pytest.mark.parametrize(
    "query",
    ["'", "ab'c*", "\\", "<->", "x <-> y", "'foo' & !bar", "def\\'er*", "list:'", "tag:a%b",
     "list:_*", '"a \'b\' c"', "ﬁ*", "(((", "vote:'", "from:" + "x" * 3000, "a*" * 300],
)  # fmt: skip
def test_hostile_queries_are_answered_or_refused_never_a_database_error(
    archive: Flask, query: str
) -> None:
    results = run(archive, query)
    assert results.error_kind in (None, "query"), results.error


def test_the_subject_weighs_more_than_the_text_and_the_text_more_than_quotes(
    pg_url: str, tmp_path: Path
) -> None:
    app = build_app(pg_url, tmp_path / "home", search={"backend": "postgres"})
    ingest_list(
        app,
        tmp_path,
        "dev",
        [
            mail(
                "<q@x>",
                "Q <q@x>",
                "Notes",
                "Mon, 6 Jan 2014 10:00:00 +0000",
                "Agreed.\n\n> the gazebo is finished\n",
            ),
            mail(
                "<t@x>",
                "T <t@x>",
                "Notes",
                "Mon, 6 Jan 2014 10:00:00 +0000",
                "The gazebo is finished.\n",
            ),
            mail(
                "<s@x>", "S <s@x>", "Gazebo", "Mon, 6 Jan 2014 10:00:00 +0000", "It is finished.\n"
            ),
        ],
    )
    assert found(app, "gazebo OR q:gazebo") == ["<s@x>", "<t@x>", "<q@x>"]
    app.extensions["quorum.engine"].dispose()


def test_a_message_is_searchable_exactly_when_its_transaction_commits(archive: Flask) -> None:
    sessions = sessions_of(archive)
    with sessions() as session:
        dev = session.scalars(select(MailingList).where(MailingList.name == "dev")).one()
        session.add(
            Message(
                list_id=dev.id,
                message_id="<late@dev.example.org>",
                subject="Zeppelin",
                body="A zeppelin arrived.\n",
                from_name="Eve",
                from_address="eve@dev.example.org",
                raw=b"",
                content_hash="e" * 64,
            )
        )
        session.flush()
        assert found(archive, "zeppelin") == []  # another connection: not committed yet
        session.commit()
    assert found(archive, "zeppelin") == ["<late@dev.example.org>"]


def test_staff_changes_are_searchable_at_once(archive: Flask) -> None:
    sessions = sessions_of(archive)
    reply = message(archive, REPLY)
    with sessions() as session:
        thread = session.get(Thread, reply.thread_id)
        assert thread is not None
        set_thread_tags(session, thread, ["governance"], None)
        assert reply.participant_id is not None
        correct_position(
            session, thread.id, reply.participant_id, "oppose", "-1", "a clear -1", None
        )
        session.commit()
    assert sorted(found(archive, "tag:governance")) == sorted([ALICE_ROOT, REPLY])
    assert found(archive, "stance:oppose") == [REPLY]
    assert found(archive, "vote:-1 callbacks") == [REPLY]
    assert run(archive, "callbacks").facets.stances["oppose"] == 1

    with sessions() as session:
        set_hidden(session, session.get(Message, reply.id), True, "takedown", None)  # type: ignore[arg-type]
        session.commit()
    assert found(archive, "callbacks") == [ALICE_ROOT]
    assert REPLY in found(archive, "callbacks", include_hidden=True)


def test_a_purge_leaves_no_word_of_the_message_in_its_vector(archive: Flask) -> None:
    sessions = sessions_of(archive)
    with sessions() as session:
        alice = session.scalars(select(Message).where(Message.message_id == ALICE_ROOT)).one()
        set_hidden(session, alice, True, "takedown", None)
        purge(session, alice, "erase", None)
        session.commit()
        vector = session.scalar(
            select(text("document::text"))
            .select_from(SearchDocument)
            .where(SearchDocument.message_pk == alice.id)
        )
    assert vector == ""
    assert ALICE_ROOT not in found(archive, "propose OR everywhere", include_hidden=True)


def test_private_lists_and_hidden_messages_stay_out_of_results_and_facets(
    archive: Flask,
) -> None:
    assert found(archive, "budget deferred") == []
    assert found(archive, "list:board") == []
    assert "board" not in run(archive, "deferred").facets.lists
    assert found(archive, "budget", visible_lists={"dev", "board"}) == [SECRET]
    staff = run(archive, "deferred", visible_lists={"dev", "board"})
    assert staff.facets.lists == {"dev": 2, "board": 1}
    with sessions_of(archive)() as session:
        session.execute(update(MailingList).values(visibility="public"))
        session.commit()
    assert found(archive, "budget") == [SECRET]


def test_results_have_the_shape_of_the_whoosh_backends(archive: Flask) -> None:
    results = run(archive, "callbacks OR interoperability", sort="oldest", per_page=2)
    assert results.total == 3 and results.pages == 2
    assert [h.message_id for h in results.hits] == [RELEASE, ALICE_ROOT]
    first = results.hits[0]
    assert first.score is None  # sorted by date
    assert first.date == "2013-06-01T12:00:00+00:00"
    assert (first.from_name, first.list, first.subject) == ("Carol Chen", "dev", "Release schedule")
    assert results.facets.years == {"2013": 1, "2014": 2}
    assert results.facets.senders == {"Alice Archer": 1, "Bob Baker": 1, "Carol Chen": 1}
    newest = run(archive, "callbacks OR interoperability", sort="newest")
    assert [h.message_id for h in newest.hits] == [REPLY, ALICE_ROOT, RELEASE]
    second = run(archive, "callbacks OR interoperability", sort="oldest", per_page=2, page=2)
    assert [h.message_id for h in second.hits] == [REPLY]

    grouped = run(archive, "callbacks OR interoperability", group_by_thread=True)
    assert grouped.total == 2
    assert {h.thread_id: h.matches for h in grouped.hits} == {ALICE_ROOT: 2, RELEASE: 1}
    assert grouped.hits[0].score is not None


def test_snippets_are_escaped_and_mark_the_matches(archive: Flask) -> None:
    hits = {hit.message_id: hit for hit in run(archive, "propose").hits}
    snippet = str(hits[ALICE_ROOT].snippet)
    assert "<mark>propose</mark>" in snippet
    assert "&lt;script&gt;" in snippet and "<script>" not in snippet
    assert "<mark>Interoperability</mark>" in str(run(archive, "interop*").hits[0].snippet)
    page = archive.test_client().get("/search?q=propose")
    assert page.status_code == 200
    assert b"<mark>propose</mark>" in page.data and b"<script>alert" not in page.data
    api = archive.test_client().get("/api/v1/search?q=propose&group=thread")
    assert api.status_code == 200
    item = api.get_json()["items"][0]
    assert (item["thread_id"], item["matches"]) == (ALICE_ROOT, 2)


def test_each_list_is_searched_in_its_own_language(pg_url: str, tmp_path: Path) -> None:
    declared = {"exact": ListSettings(search_config="simple")}
    app = build_app(pg_url, tmp_path / "home", search={"backend": "postgres"}, lists=declared)
    ingest_list(app, tmp_path, "dev", DEV)
    ingest_list(app, tmp_path, "exact", [DEV[0].replace("root@dev", "root@exact")])
    # English stems "callbacks" to "callback"; the simple configuration keeps the word.
    assert sorted(found(app, "callback")) == sorted([ALICE_ROOT, REPLY])
    assert sorted(found(app, "callbacks")) == sorted(
        [ALICE_ROOT, REPLY, "<root@exact.example.org>"]
    )
    app.extensions["quorum.engine"].dispose()

    # Declared English now: `quorum reindex` applies it and rewrites the list's vectors.
    english = {"exact": ListSettings(search_config="english")}
    app = build_app(pg_url, tmp_path / "home", search={"backend": "postgres"}, lists=english)
    assert "indexed 4 messages" in run_cli(app, "reindex").output
    assert "<root@exact.example.org>" in found(app, "callback")
    app.extensions["quorum.engine"].dispose()


def test_reindex_rebuilds_the_vectors_from_the_messages(archive: Flask) -> None:
    with sessions_of(archive)() as session:
        session.execute(delete(SearchDocument))
        session.commit()
    assert found(archive, "callbacks") == []
    result = run_cli(archive, "reindex")
    assert result.exit_code == 0 and "indexed 4 messages" in result.output
    assert sorted(found(archive, "callbacks")) == sorted([ALICE_ROOT, REPLY])


def test_searches_run_on_the_read_replica_when_one_is_set(tmp_path: Path) -> None:
    with (
        fresh_database("postgresql", tmp_path) as main,
        fresh_database("postgresql", tmp_path) as replica,
    ):
        # Only the "replica" holds the archive: whatever is found was read there.
        filled = build_app(replica, tmp_path / "filled", search={"backend": "postgres"})
        ingest_list(filled, tmp_path, "dev", DEV)
        filled.extensions["quorum.engine"].dispose()
        app = build_app(
            main, tmp_path / "home", search={"backend": "postgres", "read_database_url": replica}
        )
        assert sorted(found(app, "callbacks")) == sorted([ALICE_ROOT, REPLY])
        assert app.test_client().get("/api/v1/search?q=callbacks").get_json()["total"] == 2
        for engine in ("quorum.engine", "quorum.read_engine"):
            app.extensions[engine].dispose()


def test_quorum_search_runs_the_same_search(archive: Flask) -> None:
    result = run_cli(archive, "search", "callbacks", "--json")
    assert result.exit_code == 0
    hits = [json.loads(line) for line in result.output.splitlines()]
    assert sorted(hit["message_id"] for hit in hits) == sorted([ALICE_ROOT, REPLY])
    alice = next(hit for hit in hits if hit["message_id"] == ALICE_ROOT)
    assert alice["list"] == "dev" and "<mark>callbacks</mark>" in alice["snippet"]
    assert run_cli(archive, "search", "budget").output.strip() == "0 of 0 results"  # private
