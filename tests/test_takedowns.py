"""Takedowns that take: hiding a Message-ID reaches every copy of it, staff act on each copy,
hidden text stays out of titles, and a purge erases the text everywhere, for good.

The archive: Mallory's message <plan@example.org> ("Zanzibar merger plan") is on the list
alpha twice (a second copy with different text: an `id_conflict`) and cross-posted to beta;
Rita answers it on alpha, quoting a line of it that does not name Zanzibar. "Zanzibar" is
the secret a takedown must keep: only Mallory's copies hold it.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from app.governance import DecisionFields, create_decision
from app.models import DecisionLink, Message, Position
from app.search import rebuild
from tests.helpers import csrf_token, run_cli, sessions_of, signed_in

PLAN = "plan@example.org"
REPLY = "reply@example.org"
SECRET = "zanzibar"
PLACEHOLDER = "(message hidden)"


def mail(
    message_id: str, sender: str, subject: str, body: str, day: int, parent: str = ""
) -> bytes:
    address = sender.split(" <")[1].rstrip(">")
    headers = [
        f"From {address} Mon Jan {day:2d} 10:00:00 2014",
        f"From: {sender}",
        f"Subject: {subject}",
        f"Message-ID: <{message_id}>",
        f"Date: Mon, {day} Jan 2014 10:00:00 +0000",
    ]
    if parent:
        headers += [f"In-Reply-To: <{parent}>", f"References: <{parent}>"]
    return ("\n".join(headers) + "\n\n" + body + "\n\n").encode()


ROOT = mail(
    PLAN,
    "Mallory Root <mallory@example.org>",
    "Zanzibar merger plan",
    "+1, I strongly support merging with Zanzibar Holdings this spring.\n\n"
    "The board should meet before the end of the month to decide.",
    6,
)
CONFLICTING_COPY = mail(
    PLAN,
    "Mallory Root <mallory@example.org>",
    "Zanzibar merger plan",
    "+1, I strongly support merging with Zanzibar Holdings this summer, after the audit.",
    6,
)
ANSWER = mail(
    REPLY,
    "Rita Reply <rita@example.org>",
    "A different angle",
    "> The board should meet before the end of the month to decide.\n\n"
    "I would rather wait for the audit first.",
    7,
    parent=PLAN,
)


def ingest(app: Flask, folder: Path, list_name: str, *mails: bytes) -> None:
    box = folder / f"{list_name}-{len(list(folder.glob('*.mbox')))}.mbox"
    box.write_bytes(b"".join(mails))
    run_cli(app, "ingest", str(box), "--list", list_name)


@pytest.fixture
def archive(app: Flask, tmp_path: Path) -> Flask:
    ingest(app, tmp_path, "alpha", ROOT, ANSWER)
    ingest(app, tmp_path, "alpha", CONFLICTING_COPY)
    ingest(app, tmp_path, "beta", ROOT)
    return app


def copies(app: Flask, message_id: str = PLAN) -> list[Message]:
    """The stored copies of a Message-ID, in the order they were stored."""
    with sessions_of(app)() as session:
        rows = session.scalars(
            select(Message).where(Message.message_id == f"<{message_id}>").order_by(Message.id)
        ).all()
        session.expunge_all()
        return list(rows)


def act(client: FlaskClient, action: str, **data: object) -> str:
    """Post a takedown action on <plan@example.org>; returns the page it leads to."""
    response = client.post(f"/m/{PLAN}/{action}", data={"csrf_token": csrf_token(client), **data})
    assert response.status_code == 302, response.get_data(as_text=True)
    return client.get(response.headers["Location"]).get_data(as_text=True)


def reader_urls() -> list[str]:
    """Every way a reader reaches <plan@example.org>."""
    return [
        f"/m/{PLAN}",
        f"/raw/{PLAN}",
        f"/lists/alpha/m/{PLAN}",
        f"/lists/beta/m/{PLAN}",
        f"/api/v1/messages/{PLAN}",
        f"/api/v1/messages/{PLAN}?list=alpha",
        f"/api/v1/messages/{PLAN}?list=beta",
    ]


# -- item 1: a takedown reaches every copy of a Message-ID ---------------------------------


def test_hiding_a_message_id_hides_every_copy_a_reader_could_reach(archive: Flask) -> None:
    act(signed_in(archive, "editor"), "hide", note="takedown request")
    reader = archive.test_client()
    for url in reader_urls():
        assert reader.get(url).status_code == 410, url
    assert all(copy.hidden for copy in copies(archive))


def test_staff_see_every_copy_and_can_hide_just_one(archive: Flask) -> None:
    alpha, conflicting, beta = copies(archive)
    editor = signed_in(archive, "editor")
    page = editor.get(f"/m/{PLAN}").get_data(as_text=True)
    for copy in (alpha, conflicting, beta):
        assert f'value="{copy.id}"' in page and f"?copy={copy.id}" in page
    assert "id_conflict" in page

    act(editor, "hide", copy=beta.id, note="only the cross-post")
    assert [c.hidden for c in copies(archive)] == [False, False, True]
    reader = archive.test_client()
    assert reader.get(f"/lists/beta/m/{PLAN}").status_code == 410
    assert reader.get(f"/lists/alpha/m/{PLAN}").status_code == 200


def test_staff_can_read_each_copy(archive: Flask) -> None:
    editor = signed_in(archive, "editor")
    for copy in copies(archive):
        page = editor.get(f"/m/{PLAN}?copy={copy.id}").get_data(as_text=True)
        assert copy.body.splitlines()[0] in page, copy.id


def test_an_action_naming_a_copy_of_another_message_is_refused(archive: Flask) -> None:
    (answer,) = copies(archive, REPLY)
    editor = signed_in(archive, "editor")
    response = editor.post(
        f"/m/{PLAN}/hide", data={"csrf_token": csrf_token(editor), "copy": answer.id}
    )
    assert response.status_code == 404
    assert not any(c.hidden for c in copies(archive) + copies(archive, REPLY))


def test_linking_a_message_links_the_copy_staff_chose(archive: Flask) -> None:
    with sessions_of(archive)() as session:
        decision = create_decision(session, DecisionFields(title="Merger"), None).id
        session.commit()
    beta = copies(archive)[-1]
    editor = signed_in(archive, "editor")
    response = editor.post(
        f"/m/{PLAN}/link?copy={beta.id}",
        data={"csrf_token": csrf_token(editor), "decision": decision, "relation": "proposal"},
    )
    assert response.status_code == 302
    with sessions_of(archive)() as session:
        assert session.scalars(select(DecisionLink.message_pk)).all() == [beta.id]


def test_a_copy_arriving_after_a_takedown_arrives_hidden(archive: Flask, tmp_path: Path) -> None:
    act(signed_in(archive, "editor"), "hide", note="takedown request")
    ingest(archive, tmp_path, "gamma", ROOT)
    assert all(copy.hidden for copy in copies(archive))
    assert archive.test_client().get(f"/lists/gamma/m/{PLAN}").status_code == 410


# -- item 4: hidden text stays out of titles; a purge erases it everywhere, for good -------


def thread_url(list_name: str = "alpha") -> str:
    return f"/lists/{list_name}/threads/{PLAN}"


def test_a_hidden_roots_subject_shows_nowhere(archive: Flask) -> None:
    reader = archive.test_client()
    assert "Zanzibar merger plan" in reader.get(thread_url()).get_data(as_text=True)
    act(signed_in(archive, "editor"), "hide", note="takedown request")
    pages = {
        url: reader.get(url).get_data(as_text=True)
        for url in (
            "/",
            "/lists/alpha",
            "/lists/alpha/feed.atom",
            f"/lists/alpha/thread-feed/{PLAN}",
            thread_url(),
            f"/m/{REPLY}",
            "/api/v1/threads",
            "/api/v1/threads?list=alpha",
        )
    }
    for url, text in pages.items():
        assert SECRET not in text.lower(), url
    assert PLACEHOLDER in pages[thread_url()] and PLACEHOLDER in pages[f"/m/{REPLY}"]


def purged(app: Flask) -> FlaskClient:
    """Hide every copy of <plan@example.org> and purge them as an admin."""
    admin = signed_in(app, "admin")
    act(admin, "hide", note="takedown request")
    act(admin, "purge", note="erasure request")
    return admin


def test_a_purge_erases_the_evidence_and_attributions_of_positions(archive: Flask) -> None:
    def positions() -> list[Position]:
        with sessions_of(archive)() as session:
            rows = session.scalars(select(Position).order_by(Position.id)).all()
            session.expunge_all()
            return list(rows)

    def texts(rows: list[Position]) -> str:
        return json.dumps([[p.evidence, p.evidence_start, p.evidence_end, p.quoted] for p in rows])

    before = texts(positions())
    assert SECRET in before.lower() and "Mallory" in before
    purged(archive)
    after = positions()
    assert SECRET not in texts(after).lower() and "Mallory" not in texts(after)
    tombstones = {c.id for c in copies(archive)}
    assert not [p for p in after if p.message_pk in tombstones], "a tombstone states no position"


def index_bytes(app: Flask) -> bytes:
    folder = app.config["QUORUM"].index_dir
    return b"".join(f.read_bytes() for f in folder.rglob("*") if f.is_file()).lower()


def test_a_purge_erases_the_text_from_the_search_index(archive: Flask) -> None:
    with sessions_of(archive)() as session:
        rebuild(session, archive.config["QUORUM"].index_dir)
    assert SECRET.encode() in index_bytes(archive)
    admin = purged(archive)
    assert SECRET.encode() not in index_bytes(archive)
    assert "0 messages match" in admin.get(f"/search?q={SECRET}").get_data(as_text=True)


def test_a_purge_leaves_no_page_in_the_cache_that_holds_the_text(archive: Flask) -> None:
    reader = archive.test_client()
    assert SECRET in reader.get(f"/m/{PLAN}").get_data(as_text=True).lower()
    reader.get(thread_url())
    purged(archive)
    assert reader.get(thread_url()).status_code == 200
    cache = archive.extensions["quorum.page_cache"]
    assert len(cache) == 1, "pages built before the purge are dropped"


def test_a_purged_message_cannot_be_restored(archive: Flask) -> None:
    admin = purged(archive)
    page = act(admin, "restore", note="changed my mind")
    assert "was purged" in page and "cannot be restored" in page
    assert all(c.hidden and c.purged for c in copies(archive))
    for url in reader_urls():
        assert archive.test_client().get(url).status_code == 410, url


def test_staff_get_a_gone_answer_for_the_raw_source_of_a_purged_message(archive: Flask) -> None:
    assert purged(archive).get(f"/raw/{PLAN}").status_code == 410


def test_ingesting_a_purged_message_again_does_not_bring_its_text_back(
    archive: Flask, tmp_path: Path
) -> None:
    purged(archive)
    ingest(archive, tmp_path, "alpha", ROOT, CONFLICTING_COPY)
    ingest(archive, tmp_path, "beta", ROOT)
    for copy in copies(archive):
        assert (copy.hidden, copy.purged, copy.body, copy.subject_key) == (True, True, "", "")
        assert SECRET not in copy.subject.lower()
