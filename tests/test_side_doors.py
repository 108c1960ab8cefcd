"""Side doors (issue 13, item 5): what a private list, a hidden message or a replaced index
document holds must not reach a reader who may not see it through something built around
them — spelling suggestions, a decision's links, announcement and history, or the name a
participant first used. Each test plays the leak as an anonymous reader, then checks that
staff still see what is theirs to see."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import select, update

from app.governance import DecisionFields, create_decision, link_decision, set_hidden
from app.models import MailingList, Message
from app.search import index_of, index_threads, search
from tests.helpers import make_user, run_cli, sessions_of, signed_in

SLUG = "merger-accepted"


def mail(message_id: str, sender: str, subject: str, body: str, day: int) -> bytes:
    return (
        f"From someone@example.org Mon Jan {day:2d} 10:00:00 2014\n"
        f"From: {sender}\nSubject: {subject}\nMessage-ID: <{message_id}>\n"
        f"Date: Mon, {day} Jan 2014 10:00:00 +0000\n\n{body}\n\n"
    ).encode()


def ingest(app: Flask, folder: Path, name: str, *messages: bytes) -> None:
    box = folder / f"{name}.mbox"
    box.write_bytes(b"".join(messages))
    result = run_cli(app, "ingest", str(box), "--list", name)
    assert result.exit_code == 0, result.output


def message(app: Flask, message_id: str) -> Message:
    with sessions_of(app)() as session:
        return session.scalars(select(Message).where(Message.message_id == message_id)).one()


@pytest.fixture
def archive(app: Flask, tmp_path: Path) -> Flask:
    """A private list `board` where Dana is first seen, under a codename; a public list
    `community` where Dana writes under her own name, with one message hidden on request."""
    ingest(
        app,
        tmp_path,
        "board",
        mail(
            "board-1@example.org",
            '"Codename Bluebird" <dana@example.org>',
            "Quagmire merger terms",
            "The quagmire terms stay between us.",
            6,
        ),
    )
    with sessions_of(app)() as session:
        session.execute(
            update(MailingList).where(MailingList.name == "board").values(visibility="private")
        )
        session.commit()
    ingest(
        app,
        tmp_path,
        "community",
        mail(
            "community-1@example.org",
            "Dana Public <dana@example.org>",
            "Proposal: merge the two working groups",
            "+1, I support merging the working groups.",
            7,
        ),
        mail(
            "community-2@example.org",
            "Sam Writer <sam@example.org>",
            "Zeppelin sightings over the venue",
            "Please take this down, it names people.",
            8,
        ),
    )
    with sessions_of(app)() as session:
        hidden = session.scalars(
            select(Message).where(Message.message_id == "<community-2@example.org>")
        ).one()
        set_hidden(session, hidden, True, "takedown request", None)
        session.commit()
        index_threads(session, app.config["QUORUM"].index_dir, [hidden.thread_id])
    return app


def test_did_you_mean_only_offers_words_the_reader_may_see(archive: Flask) -> None:
    index = index_of(archive)
    # A typo one letter away from a private subject word, and from a hidden one.
    assert search(index, "quagmira").suggestion is None
    assert search(index, "zepelin").suggestion is None
    # A subject replaced in the database leaves its old document deleted in the index.
    public = message(archive, "<community-1@example.org>")
    with sessions_of(archive)() as session:
        session.execute(
            update(Message)
            .where(Message.id == public.id)
            .values(subject="Proposal: fold the working groups")
        )
        session.commit()
        index_threads(session, archive.config["QUORUM"].index_dir, [public.thread_id])
    assert search(index, "mergd").suggestion is None
    assert search(index, "folx").suggestion == "fold"  # what the reader can see still counts
    page = signed_in(archive, None).get("/search?q=quagmira").get_data(as_text=True)
    assert "Did you mean" not in page
    # Staff who may read the private list and the hidden message are offered their words.
    assert search(index, "quagmira", visible_lists={"board", "community"}).suggestion == (
        "quagmire"
    )
    assert search(index, "zepelin", include_hidden=True).suggestion == "zeppelin"


@pytest.fixture
def decision(archive: Flask) -> Flask:
    """A decision announced on the private list, linked to the private thread, to the
    hidden message and to the public proposal, by an editor whose login is "dana-login"."""
    editor = make_user(archive, "dana-login", "editor")
    board = message(archive, "<board-1@example.org>")
    hidden = message(archive, "<community-2@example.org>")
    proposal = message(archive, "<community-1@example.org>")
    with sessions_of(archive)() as session:
        made = create_decision(
            session,
            DecisionFields(
                title="Merger accepted",
                status="accepted",
                decided_on=date(2014, 1, 9),
                announced_by="board-1@example.org",
            ),
            editor,
        )
        link_decision(session, made, editor, thread_id=board.thread_id, note="SECRET-NOTE")
        link_decision(session, made, editor, message_pk=hidden.id, note="HIDDEN-NOTE")
        link_decision(session, made, editor, thread_id=proposal.thread_id, note="PUBLIC-NOTE")
        session.commit()
    return archive


def test_a_decision_shows_readers_only_links_they_may_follow(decision: Flask) -> None:
    board = message(decision, "<board-1@example.org>")
    page = signed_in(decision, None).get(f"/decisions/{SLUG}").get_data(as_text=True)
    assert "PUBLIC-NOTE" in page and "Proposal: merge the two working groups" in page
    for leak in ("SECRET-NOTE", "HIDDEN-NOTE", "Quagmire merger terms", "Zeppelin", "dana-login"):
        assert leak not in page, leak
    # The history neither counts the other links nor names the announcement's message.
    assert page.count("link.added") == 1 and "announced_by_message_pk" not in page
    assert "· editor · link.added" in page  # a role, not the login
    client = signed_in(decision, None)
    answers = [
        client.get(f"/api/v1/decisions/{SLUG}").get_json(),
        *json.loads(client.get("/decisions.json").get_data(as_text=True)),
        *map(json.loads, run_cli(decision, "export", "decisions").output.splitlines()),
    ]
    for answer in answers:  # the API and the exports ask the same question
        assert answer["announced_by"] is None
        assert [link["note"] for link in answer["links"]] == ["PUBLIC-NOTE"]

    staff = signed_in(decision, "editor").get(f"/decisions/{SLUG}").get_data(as_text=True)
    for seen in ("SECRET-NOTE", "HIDDEN-NOTE", "Quagmire merger terms", "dana-login"):
        assert seen in staff, seen
    assert staff.count("link.added") == 3 and f'"announced_by_message_pk": {board.id}' in staff


def test_a_participant_is_named_on_public_pages_as_they_wrote_there(decision: Flask) -> None:
    dana = message(decision, "<community-1@example.org>")
    thread = "/lists/community/threads/community-1@example.org"
    client = signed_in(decision, None)
    pages = {
        "participant page": client.get(f"/people/{dana.participant_id}"),
        "thread's positions panel": client.get(thread),
        "decision's positions": client.get(f"/decisions/{SLUG}"),
        "API participant": client.get(f"/api/v1/participants/{dana.participant_id}"),
        "API positions": client.get(f"/api/v1/threads/{dana.thread_id}/positions"),
        "API position list": client.get("/api/v1/positions?list=community"),
        "search": client.get("/search?q=merging"),
    }
    for where, response in pages.items():
        text = response.get_data(as_text=True)
        assert response.status_code == 200, where
        assert "Dana Public" in text, where
        assert "Codename" not in text, where
    exported = run_cli(decision, "export", "positions").output
    assert "Dana Public" in exported and "Codename" not in exported
    found = client.get("/api/v1/participants?q=codename").get_json()
    assert found["items"] == []  # the private name does not find her either

    staff = signed_in(decision, "viewer")
    assert "Codename Bluebird" in staff.get(f"/people/{dana.participant_id}").get_data(as_text=True)
