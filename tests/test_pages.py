"""The community's pages, rendered by the test client on a real database."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event, select, update

from app.governance import record
from app.models import MailingList, Message
from tests.helpers import run_cli, sessions_of

SEED_THREAD = "/lists/foundation/threads/1391522712.2459.12.camel@sorcha.example"
TROY = "CF1A2E3B.3B1A2%troy.toman@rackspace.com"
ATOM = "{http://www.w3.org/2005/Atom}"

XSS_MBOX = (
    b"From evil@example.org Mon Jan  6 10:00:00 2014\n"
    b"From: <script>alert('name')</script> <evil@example.org>\n"
    b"Subject: <script>alert('subject')</script> & <b>bold</b>\n"
    b"Message-ID: <xss-1@example.org>\n"
    b"Date: Mon, 6 Jan 2014 10:00:00 +0000\n"
    b"Content-Type: multipart/mixed; boundary=XX\n\n"
    b"--XX\nContent-Type: text/plain\n\n"
    b"<img src=x onerror=alert('body')>\n> <script>alert('quoted')</script>\n"
    b"--XX\nContent-Type: application/octet-stream\n"
    b'Content-Disposition: attachment; filename="<svg onload=alert(1)>.bin"\n\nxx\n--XX--\n'
)


def page(client: FlaskClient, url: str, status: int = 200) -> str:
    response = client.get(url)
    assert response.status_code == status, url
    return response.get_data(as_text=True)


def set_list_visibility(app: Flask, name: str, visibility: str) -> None:
    with sessions_of(app)() as session:
        session.execute(
            update(MailingList).where(MailingList.name == name).values(visibility=visibility)
        )
        session.commit()


@contextmanager
def counted_queries(app: Flask) -> Iterator[list[str]]:
    statements: list[str] = []
    engine = app.extensions["quorum.engine"]

    def count(_conn, _cursor, statement, *_args) -> None:  # type: ignore[no-untyped-def]
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", count)


def test_home_lists_the_lists_with_counts_sparkline_and_recent_threads(
    foundation_client: FlaskClient,
) -> None:
    html = page(foundation_client, "/")
    assert 'href="/lists/foundation"' in html
    assert 'data-label="Messages">6</td>' in html
    assert '<svg class="chart"' in html
    assert "2014-02: 6" in html
    assert SEED_THREAD in html


def test_the_list_page_ranks_the_debate_first_and_lists_newest_one_click_away(
    foundation_client: FlaskClient,
) -> None:
    html = page(foundation_client, "/lists/foundation")
    assert html.index("The two types of interoperability") < html.index(
        "Board meeting dial-in details"
    )
    assert 'href="/lists/foundation?view=newest"' in html
    html = page(foundation_client, "/lists/foundation?view=newest")
    assert html.index("Board meeting dial-in details") < html.index(
        "The two types of interoperability"
    )
    assert "[OpenStack Foundation]" not in html
    assert 'href="/lists/foundation/2014-2"' in html
    assert "February 2014" in html


def test_the_month_view_orders_by_thread_date_or_author(foundation_client: FlaskClient) -> None:
    by_author = page(foundation_client, "/lists/foundation/2014-2?order=author")
    names = ["Dana Reyes", "Foundation Events", "Mark McLoughlin", "Sam Okafor", "Thierry Carrez"]
    assert [by_author.index(n) for n in names] == sorted(by_author.index(n) for n in names)
    by_date = page(foundation_client, "/lists/foundation/2014-2?order=date")
    assert by_date.index("Dana Reyes") < by_date.index("Sam Okafor")
    page(foundation_client, "/lists/foundation/2014-13", 404)
    page(foundation_client, "/lists/foundation/2015-2", 404)


def test_the_thread_page_is_a_reply_tree_with_quotes_folded(foundation_client: FlaskClient) -> None:
    full = page(foundation_client, SEED_THREAD)
    assert "download as mbox" in full and "<svg" in full
    html = full[full.index('<ol class="thread">') :]
    order = [
        html.index(name)
        for name in ("Mark McLoughlin", "Thierry Carrez", "Troy Toman", "Dana Reyes", "Sam Okafor")
    ]
    assert order == sorted(order)
    assert '<span class="address">troy.toman at rackspace.com</span>' in html
    # The address shows only obfuscated; it appears as-is only inside Troy's Message-ID.
    assert not re.findall(r"(?<!%25)troy\.toman@rackspace\.com", html)
    assert "Wed 05 Feb 2014 16:44 +0000" in html
    assert 'class="message depth-2"' in html
    own = html[html.index("Troy Toman") :]
    assert "show quoted (6 lines, from Mark McLoughlin)" in own
    assert "from Thierry Carrez)" in own
    assert '<pre class="own">I think this is the right conversation' in own
    assert "<summary>list footer</summary>" in own
    assert f'href="/m/{TROY}"'.replace("%", "%25") in html


def test_thread_page_queries_do_not_grow_with_the_number_of_messages(
    foundation_app: Flask, foundation_client: FlaskClient
) -> None:
    counts = []
    for url in ("/lists/foundation/threads/board-call-20140207@example.org", SEED_THREAD):
        with counted_queries(foundation_app) as statements:
            page(foundation_client, url)
        counts.append(len(statements))
    assert counts[0] == counts[1], counts  # 1 message and 5 messages: the same queries


def test_anonymous_pages_are_served_again_until_the_data_changes(
    foundation_app: Flask, foundation_client: FlaskClient
) -> None:
    first = page(foundation_client, SEED_THREAD)
    with counted_queries(foundation_app) as statements:
        assert page(foundation_client, SEED_THREAD) == first
    assert len(statements) <= 4  # only the data version was asked for
    with sessions_of(foundation_app)() as session:
        session.execute(
            update(Message).where(Message.message_id == f"<{TROY}>").values(hidden=True)
        )
        record(session, "message.hidden", None, subject_type="message")
        session.commit()
    assert "simpler first steps</pre>" not in page(foundation_client, SEED_THREAD)


def test_a_message_has_a_permalink_with_or_without_brackets(foundation_client: FlaskClient) -> None:
    html = page(foundation_client, f"/m/{TROY.replace('%', '%25')}")
    assert "I am very supportive of taking simpler first steps" in html
    assert f"{SEED_THREAD}#m" in html
    bracketed = page(foundation_client, f"/m/%3C{TROY.replace('%', '%25')}%3E")
    assert bracketed[bracketed.index("<article") :] == html[html.index("<article") :]
    assert "simpler first steps" in page(
        foundation_client, f"/lists/foundation/m/{TROY.replace('%', '%25')}"
    )
    page(foundation_client, "/m/no-such-message@example.org", 404)


def test_raw_source_is_a_download_of_the_archived_bytes(foundation_client: FlaskClient) -> None:
    response = foundation_client.get(f"/raw/{TROY.replace('%', '%25')}")
    assert response.status_code == 200
    assert response.mimetype == "message/rfc822"
    assert response.headers["Content-Disposition"].startswith("attachment")
    assert b"Message-ID: <CF1A2E3B.3B1A2%troy.toman@rackspace.com>" in response.data


def test_a_thread_downloads_as_an_mbox_that_quorum_reads_back(
    foundation_app: Flask, foundation_client: FlaskClient, tmp_path: Path
) -> None:
    response = foundation_client.get(SEED_THREAD.replace("/threads/", "/mbox/"))
    assert response.status_code == 200
    box = tmp_path / "thread.mbox"
    box.write_bytes(response.data)
    result = run_cli(foundation_app, "ingest", str(box), "--list", "foundation", "--json")
    assert '"duplicate": 5' in result.stdout


def test_old_pipermail_urls_redirect_to_the_message(
    foundation_app: Flask, foundation_client: FlaskClient
) -> None:
    with sessions_of(foundation_app)() as session:
        session.execute(
            update(Message)
            .where(Message.message_id == f"<{TROY}>")
            .values(
                article_url="http://lists.example.org/pipermail/foundation/2014-February/002345.html"
            )
        )
        session.commit()
    response = foundation_client.get("/pipermail/foundation/2014-February/002345.html")
    assert response.status_code == 301
    assert response.headers["Location"].endswith(f"/m/{TROY.replace('%', '%25')}")
    page(foundation_client, "/pipermail/foundation/2014-February/009999.html", 404)


def test_a_participant_page_shows_their_messages_threads_and_lists(
    foundation_app: Flask, foundation_client: FlaskClient
) -> None:
    with sessions_of(foundation_app)() as session:
        pid = session.scalar(
            select(Message.participant_id).where(Message.message_id == f"<{TROY}>")
        )
    html = page(foundation_client, f"/people/{pid}")
    assert "Troy Toman" in html and "troy.toman at rackspace.com" in html
    assert "The two types of interoperability" in html
    assert 'href="/lists/foundation"' in html
    page(foundation_client, "/people/999999", 404)


def test_feeds_are_valid_atom(foundation_client: FlaskClient) -> None:
    for url in ("/lists/foundation/feed.atom", SEED_THREAD.replace("/threads/", "/thread-feed/")):
        response = foundation_client.get(url)
        assert response.mimetype == "application/atom+xml"
        feed = ET.fromstring(response.data)
        assert feed.tag == f"{ATOM}feed"
        for required in ("id", "title", "updated"):
            assert feed.find(f"{ATOM}{required}") is not None
        entries = feed.findall(f"{ATOM}entry")
        assert entries
        for entry in entries:
            for required in ("id", "title", "updated"):
                assert entry.find(f"{ATOM}{required}").text  # type: ignore[union-attr]


def test_private_lists_are_404_on_every_page_and_feed(
    foundation_app: Flask, foundation_client: FlaskClient
) -> None:
    set_list_visibility(foundation_app, "foundation", "private")
    assert "foundation" not in page(foundation_client, "/")
    for url in (
        "/lists/foundation",
        "/lists/foundation/2014-2",
        SEED_THREAD,
        SEED_THREAD.replace("/threads/", "/mbox/"),
        SEED_THREAD.replace("/threads/", "/thread-feed/"),
        "/lists/foundation/feed.atom",
        f"/m/{TROY.replace('%', '%25')}",
        f"/raw/{TROY.replace('%', '%25')}",
        "/people/1",
    ):
        page(foundation_client, url, 404)


def test_a_message_hidden_on_request_is_410_and_gone_from_the_thread(
    foundation_app: Flask, foundation_client: FlaskClient
) -> None:
    with sessions_of(foundation_app)() as session:
        session.execute(
            update(Message).where(Message.message_id == f"<{TROY}>").values(hidden=True)
        )
        session.commit()
    assert "Removed on request" in page(foundation_client, f"/m/{TROY.replace('%', '%25')}", 410)
    page(foundation_client, f"/raw/{TROY.replace('%', '%25')}", 410)
    assert "simpler first steps</pre>" not in page(foundation_client, SEED_THREAD)


def test_mail_content_is_escaped_everywhere(app: Flask, tmp_path: Path) -> None:
    box = tmp_path / "xss.mbox"
    box.write_bytes(XSS_MBOX)
    run_cli(app, "ingest", str(box), "--list", "evil")
    client = app.test_client()
    pages = [
        page(client, "/"),
        page(client, "/lists/evil"),
        page(client, "/lists/evil/threads/xss-1@example.org"),
        page(client, "/m/xss-1@example.org"),
        page(client, "/lists/evil/2014-1"),
        page(client, "/lists/evil/feed.atom"),
    ]
    for html in pages:
        assert "<script>" not in html
        assert "<img" not in html
        assert "<svg onload" not in html
        assert "<b>bold" not in html
    thread = pages[2]
    assert "&lt;script&gt;alert(&#39;subject&#39;)&lt;/script&gt;" in thread
    assert "&lt;img src=x onerror=alert(&#39;body&#39;)&gt;" in thread
    assert "&lt;svg onload=alert(1)&gt;.bin" in thread


def test_errors_are_friendly_pages_without_tracebacks(app: Flask) -> None:
    @app.get("/boom")
    def boom() -> str:
        raise RuntimeError("secret internals")

    app.config["PROPAGATE_EXCEPTIONS"] = False
    client = app.test_client()
    html = page(client, "/boom", 500)
    assert "Something went wrong" in html
    assert "secret internals" not in html and "Traceback" not in html
    assert "Not found" in page(client, "/lists/nope", 404)
    page(client, "/lists/nope/threads/no-such-root@example.org", 404)


def test_pages_carry_security_headers(foundation_client: FlaskClient) -> None:
    response = foundation_client.get("/")
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert not re.search(r"<script>(?!</script>)", page(foundation_client, SEED_THREAD))
