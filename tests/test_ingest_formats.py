"""Ingest into a real database (SQLite and PostgreSQL): pipermail HTML beside its .txt month,
copies of one message, conflicting ids, no-archive requests, and thread merges that carry
what refers to a thread along."""

from __future__ import annotations

import json
from pathlib import Path

from flask import Flask
from sqlalchemy import select

from app.models import (
    Decision,
    DecisionLink,
    Message,
    Participant,
    Position,
    PositionOverride,
    Tag,
    Thread,
    thread_tags,
)
from tests.helpers import FIXTURES, run_cli, sessions_of

GARDEN = FIXTURES / "ingest" / "garden"
MONTH = GARDEN / "2019-March"
TXT = GARDEN / "2019-March.txt"
ALICE = "<plant-1+x=y@alice.example>"
BOB = "<bob-2@bob.example>"


def ingest(app: Flask, *args: str) -> dict[str, object]:
    result = run_cli(app, "ingest", *args, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def exported(app: Flask) -> dict[str, dict[str, object]]:
    result = run_cli(app, "export", "messages")
    return {r["message_id"]: r for r in map(json.loads, result.stdout.splitlines())}


def rows(app: Flask) -> dict[str, Message]:
    with sessions_of(app)() as session:
        return {m.message_id: m for m in session.scalars(select(Message))}


def test_an_html_month_alone_is_threaded_by_its_thread_index(app: Flask) -> None:
    account = ingest(app, str(MONTH), "--format", "pipermail-html")
    assert (account["read"], account["stored"], account["duplicate"]) == (5, 3, 2)
    records = exported(app)
    assert records[BOB]["parent_id"] == ALICE
    assert records[BOB]["parent_via"] == "pipermail-thread"
    assert records[BOB]["thread_id"] == records[ALICE]["thread_id"]
    assert records[ALICE]["list"] == "garden"
    assert records[ALICE]["from_name"] == "Alice Müller"
    assert records[ALICE]["date"] == "2019-03-01T10:00:00+01:00"
    stored = rows(app)
    assert stored[BOB].article_url == "2019-March/000102.html"  # the linked page, not the orphan
    assert stored[ALICE].attachments[0]["url"].endswith("/abc/attachment.html")


def test_with_the_txt_month_its_headers_win_and_article_urls_are_kept(app: Flask) -> None:
    account = ingest(app, str(GARDEN))
    assert (account["read"], account["stored"], account["duplicate"]) == (7, 3, 4)
    records = exported(app)
    assert records[BOB]["parent_via"] == "references"
    assert records[BOB]["subject"] == "[Garden] Re: Should we plant tomatoes & basil?"
    stored = rows(app)
    assert stored[BOB].date_source == "date"
    assert stored[ALICE].article_url == "2019-March/000101.html"
    assert stored[BOB].article_url == "2019-March/000102.html"
    assert not any(m.id_conflict for m in stored.values())


def test_html_and_txt_give_the_same_result_in_either_order(app: Flask) -> None:
    ingest(app, str(MONTH))
    ingest(app, str(TXT))
    html_first = exported(app)
    stored = rows(app)
    assert stored[BOB].article_url == "2019-March/000102.html"
    assert stored[BOB].date_source == "date"
    # Rerunning either changes nothing.
    assert ingest(app, str(TXT))["stored"] == 0
    assert ingest(app, str(MONTH))["stored"] == 0
    assert exported(app) == html_first


def test_same_message_id_with_different_content_is_stored_and_flagged(
    app: Flask, tmp_path: Path
) -> None:
    box = tmp_path / "conflict.mbox"
    message = (
        b"From a@example.org Mon Jan  6 10:00:00 2014\nFrom: A <a@example.org>\n"
        b"Subject: s\nMessage-ID: <same@example.org>\nDate: Mon, 6 Jan 2014 10:00:00 +0000\n\n"
    )
    box.write_bytes(message + b"I agree.\n\n" + message + b"I disagree entirely.\n")
    account = ingest(app, str(box))
    assert (account["stored"], account["duplicate"]) == (2, 0)
    with sessions_of(app)() as session:
        flags = session.scalars(select(Message.id_conflict)).all()
    assert flags == [True, True]


def test_no_archive_messages_are_skipped_and_accounted(app: Flask, tmp_path: Path) -> None:
    box = tmp_path / "private.mbox"
    box.write_bytes(
        b"From a@example.org Mon Jan  6 10:00:00 2014\nFrom: a@example.org\nSubject: s\n"
        b"X-No-Archive: yes\nMessage-ID: <p@example.org>\n\nsecret\n"
    )
    account = ingest(app, str(box))
    assert (account["read"], account["skipped"], account["stored"]) == (1, 1, 0)
    assert exported(app) == {}


def mail(message_id: str, references: str = "", subject: str = "topic") -> bytes:
    refs = f"References: {references}\n" if references else ""
    return (
        f"From x@example.org Mon Jan  6 10:00:00 2014\nFrom: X <x@example.org>\n"
        f"Subject: {subject}\nMessage-ID: {message_id}\n{refs}"
        f"Date: Mon, 6 Jan 2014 10:00:00 +0000\n\nbody of {message_id}\n\n"
    ).encode()


def test_a_late_parent_merging_two_threads_carries_their_rows_along(
    app: Flask, tmp_path: Path
) -> None:
    """B waits on ghost <x>, C on ghost <y>. When <x> arrives naming <y> as its parent, B's
    thread is merged into C's: positions, staff overrides, decision links and tags that
    referred to B's thread follow its messages (PostgreSQL enforces every foreign key)."""
    (tmp_path / "first.mbox").write_bytes(mail("<b@e>", "<x@e>") + mail("<c@e>", "<y@e>"))
    (tmp_path / "late.mbox").write_bytes(mail("<x@e>", "<y@e>"))
    ingest(app, str(tmp_path / "first.mbox"), "--list", "l")
    sessions = sessions_of(app)
    with sessions() as session:
        threads = {t.key: t.id for t in session.scalars(select(Thread))}
        doomed, kept = threads["<x@e>"], threads["<y@e>"]
        b = session.scalar(select(Message).where(Message.message_id == "<b@e>"))
        person = session.get(Participant, b.participant_id)
        decision = Decision(slug="d", title="D")
        tag = Tag(name="t")
        session.add_all([decision, tag])
        session.flush()
        session.add(DecisionLink(decision_id=decision.id, thread_id=doomed))
        session.add(PositionOverride(thread_id=doomed, participant_id=person.id, stance="oppose"))
        session.execute(thread_tags.insert().values(thread_id=doomed, tag_id=tag.id))
        position = session.scalar(select(Position).where(Position.message_pk == b.id))
        if position is None:
            session.add(Position(message_pk=b.id, thread_id=doomed, stance="none"))
        session.commit()

    ingest(app, str(tmp_path / "late.mbox"), "--list", "l")

    with sessions() as session:
        assert session.get(Thread, doomed) is None
        assert session.scalars(select(DecisionLink.thread_id)).all() == [kept]
        assert session.scalars(select(PositionOverride.thread_id)).all() == [kept]
        assert session.scalars(select(thread_tags.c.thread_id)).all() == [kept]
        b = session.scalar(select(Message).where(Message.message_id == "<b@e>"))
        assert b.thread_id == kept
        assert session.scalar(select(Position.thread_id).where(Position.message_pk == b.id)) == kept
