"""The search page and decision suggestions, on the foundation list and the real index its
ingest keeps."""

from __future__ import annotations

import html as htmllib
import re
from datetime import date
from pathlib import Path

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, update

from app.governance import DecisionFields, create_decision, link_decision
from app.models import DecisionLink, MailingList, Thread
from app.search import index_of, rebuild
from app.suggestions import suggest_discussions
from tests.helpers import StaffClient, csrf_token, run_cli, sessions_of


def indexed(app: Flask) -> None:
    with sessions_of(app)() as session:
        rebuild(session, app.config["QUORUM"].index_dir)


def test_results_show_highlighted_snippets_and_facets_that_narrow(
    foundation_client: FlaskClient,
) -> None:
    page = foundation_client.get("/search?q=interoperability").get_data(as_text=True)
    assert "5 messages match" in page
    assert "<mark>" in page
    facet = re.search(r'class="facet" href="([^"]*from:%22Troy\+Toman%22[^"]*)"', page)
    assert facet, "a sender facet links to the narrowed query"
    narrowed = foundation_client.get(htmllib.unescape(facet.group(1))).get_data(as_text=True)
    assert "1 message matches" in narrowed
    assert "Troy Toman" in narrowed


def test_grouping_by_thread_counts_threads(foundation_client: FlaskClient) -> None:
    response = foundation_client.get("/search?q=interoperability&group=thread")
    page = response.get_data(as_text=True)
    assert "1 thread matches" in page and "5 matching messages" in page


def test_bad_queries_get_help_not_an_error_page(foundation_client: FlaskClient) -> None:
    response = foundation_client.get("/search?q=date:2014-13")
    assert response.status_code == 200
    assert 'role="alert"' in response.get_data(as_text=True)
    empty = foundation_client.get("/search").get_data(as_text=True)
    assert "Query syntax" in empty and '<details id="syntax" class="syntax" open>' in empty


def test_the_query_is_echoed_escaped(foundation_client: FlaskClient) -> None:
    response = foundation_client.get("/search?q=%3Cscript%3Ealert(1)%3C/script%3E")
    page = response.get_data(as_text=True)
    assert "<script>alert(1)" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_private_lists_are_searchable_by_staff_only(
    foundation_app: Flask, staff_client: StaffClient
) -> None:
    with sessions_of(foundation_app)() as session:
        session.execute(update(MailingList).values(visibility="private"))
        session.commit()
    anonymous = staff_client(None).get("/search?q=interoperability").get_data(as_text=True)
    assert "0 messages match" in anonymous
    viewer = staff_client("viewer").get("/search?q=interoperability").get_data(as_text=True)
    assert "5 messages match" in viewer


def test_suggestions_rank_the_right_thread_first_with_reasons(app: Flask, tmp_path: Path) -> None:
    box = tmp_path / "policy.mbox"
    messages = [
        ("a1", "Release cadence for 2014", "We should release every six months.", "3 Feb"),
        (
            "b1",
            "Interoperability testing for clouds",
            "Interoperability needs a shared test suite that every cloud passes.",
            "5 Feb",
        ),
        (
            "b2",
            "Re: Interoperability testing for clouds",
            "Agreed, interoperability testing first.",
            "6 Feb",
        ),
        ("c1", "Interoperability after the fact", "Interoperability again, later.", "20 Mar"),
    ]
    chunks = []
    for mid, subject, body, day in messages:
        refs = "In-Reply-To: <b1@example.org>\n" if mid == "b2" else ""
        chunks.append(
            f"From x@example.org Mon Jan  6 10:00:00 2014\nFrom: X <x@example.org>\n"
            f"Subject: {subject}\nMessage-ID: <{mid}@example.org>\n{refs}"
            f"Date: {day} 2014 10:00:00 +0000\n\n{body}\n"
        )
    box.write_text("\n".join(chunks))
    run_cli(app, "ingest", str(box), "--list", "policy")
    indexed(app)
    with sessions_of(app)() as session:
        decision = create_decision(
            session,
            DecisionFields(
                title="Interoperability testing",
                summary="A shared test suite",
                status="accepted",
                decided_on=date(2014, 3, 1),
            ),
            None,
        )
        made = suggest_discussions(session, index_of(app), decision, None)
        keys = [session.get(Thread, link.thread_id).key for link in made]  # type: ignore[union-attr]
        assert keys[0] == "<b1@example.org>"
        assert "<c1@example.org>" not in keys  # after the decision
        assert "interoperability" in made[0].note and "2 messages" in made[0].note
        assert "before the decision" in made[0].note
        for link in made:
            link.state = "dismissed"
        link_decision(session, decision, None, thread_id=made[0].thread_id)
        session.flush()
        assert suggest_discussions(session, index_of(app), decision, None) == []
        assert (
            session.scalar(select(DecisionLink.id).where(DecisionLink.state == "suggested")) is None
        )


def test_staff_changes_reach_the_search_index_when_they_commit(staff_client: StaffClient) -> None:
    reader = staff_client(None)
    assert "1 message matches" in reader.get("/search?q=supportive").get_data(as_text=True)
    editor = staff_client("editor")
    troy = "/m/CF1A2E3B.3B1A2%25troy.toman@rackspace.com"
    editor.post(f"{troy}/hide", data={"csrf_token": csrf_token(editor), "note": "request"})
    assert "0 messages match" in reader.get("/search?q=supportive").get_data(as_text=True)
    thread = "/lists/foundation/threads/1391522712.2459.12.camel@sorcha.example"
    editor.post(f"{thread}/tags", data={"csrf_token": csrf_token(editor), "tags": "defcore"})
    assert "4 messages match" in reader.get("/search?q=tag:defcore").get_data(as_text=True)
