"""The list index and the thread page, rendered by the test client on a real database."""

from __future__ import annotations

import re
from pathlib import Path

from flask import Flask

from tests.conftest import EXAMPLES, run_cli

XSS_MBOX = (
    b"From evil@example.org Mon Jan  6 10:00:00 2014\n"
    b"From: <script>alert('name')</script> <evil@example.org>\n"
    b"Subject: <script>alert('subject')</script> & <b>bold</b>\n"
    b"Message-ID: <xss-1@example.org>\n"
    b"Date: Mon, 6 Jan 2014 10:00:00 +0000\n\n"
    b"<img src=x onerror=alert('body')>\n"
)


def thread_links(html: str) -> list[str]:
    return re.findall(r'href="(/lists/[^"]+/threads/\d+)"', html)


def test_home_lists_the_lists_with_their_message_counts(app: Flask) -> None:
    run_cli(app, "ingest", str(EXAMPLES / "foundation"))
    html = app.test_client().get("/").get_data(as_text=True)
    assert 'href="/lists/foundation"' in html
    assert "<td>6</td>" in html


def test_the_list_page_shows_threads_by_last_activity(app: Flask) -> None:
    run_cli(app, "ingest", str(EXAMPLES / "foundation"))
    response = app.test_client().get("/lists/foundation")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert html.index("Board meeting dial-in details") < html.index(
        "The two types of interoperability"
    )
    assert "[OpenStack Foundation]" not in html


def test_the_thread_page_shows_messages_in_reply_order_with_sender_and_date(
    app: Flask,
) -> None:
    run_cli(app, "ingest", str(EXAMPLES / "foundation"))
    client = app.test_client()
    listing = client.get("/lists/foundation").get_data(as_text=True)
    seed = next(
        link
        for link in thread_links(listing)
        if "interoperability" in client.get(link).get_data(as_text=True)
    )
    html = client.get(seed).get_data(as_text=True)
    order = [
        html.index(name)
        for name in ("Mark McLoughlin", "Thierry Carrez", "Troy Toman", "Dana Reyes", "Sam Okafor")
    ]
    assert order == sorted(order)
    assert "troy.toman at rackspace.com" in html
    assert "troy.toman@rackspace.com" not in html
    assert "Wed 05 Feb 2014 16:44 +0000" in html
    assert "I am very supportive of taking simpler first steps" in html
    assert 'class="message depth-2"' in html


def test_mail_content_is_escaped_everywhere(app: Flask, tmp_path: Path) -> None:
    box = tmp_path / "xss.mbox"
    box.write_bytes(XSS_MBOX)
    run_cli(app, "ingest", str(box), "--list", "evil")
    client = app.test_client()
    listing = client.get("/lists/evil").get_data(as_text=True)
    assert "<script>" not in listing
    assert "&lt;script&gt;alert(&#39;subject&#39;)&lt;/script&gt;" in listing
    page = client.get(thread_links(listing)[0]).get_data(as_text=True)
    assert "<script>" not in page
    assert "<img" not in page
    assert "&lt;img src=x onerror=alert(&#39;body&#39;)&gt;" in page
    assert "&lt;b&gt;bold&lt;/b&gt;" in page


def test_unknown_lists_and_threads_are_404(app: Flask) -> None:
    run_cli(app, "ingest", str(EXAMPLES / "foundation"))
    client = app.test_client()
    assert client.get("/lists/nope").status_code == 404
    assert client.get("/lists/foundation/threads/999999").status_code == 404


def test_pages_carry_security_headers(app: Flask) -> None:
    response = app.test_client().get("/")
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    assert "unsafe-inline" not in response.headers["Content-Security-Policy"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"
