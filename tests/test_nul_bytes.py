"""NUL characters, which PostgreSQL refuses in text, in mail and in requests (issue 13, item 9).

Mail that carries a NUL byte (in its body, subject, sender's name, an attachment's name) is
stored on every database, with U+FFFD where the NUL stood in the text and the raw bytes
kept as they came; a URL or a form holding a NUL answers 404 or 400 on every database,
never 500. Each test runs on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.helpers import StaffClient, csrf_token, run_cli, signed_in

NUL_MBOX = (
    b"From mallory@example.org Tue Apr  1 12:00:00 2003\n"
    b"From: Mal\0lory <mallory@example.org>\n"
    b"Subject: nul\0subject\n"
    b"Message-ID: <nul-1@example.org>\n"
    b"Date: Tue, 1 Apr 2003 12:00:00 +0000\n"
    b"\n"
    b"before\0after\n"
    b"\n"
    b"From mallory@example.org Tue Apr  1 12:05:00 2003\n"
    b"From: Mallory <mallory@example.org>\n"
    b"Subject: an attachment\n"
    b"Message-ID: <nul-2@example.org>\n"
    b"Date: Tue, 1 Apr 2003 12:05:00 +0000\n"
    b"Content-Type: multipart/mixed; boundary=XX\n"
    b"\n"
    b"--XX\nContent-Type: text/plain\n\nsee attached\0\n"
    b"--XX\nContent-Type: application/octet-stream\n"
    b'Content-Disposition: attachment; filename="a\0b.bin"\n'
    b"\nxx\n--XX--\n"
)


def ingest(app: Flask, path: Path) -> dict[str, object]:
    result = run_cli(app, "ingest", str(path), "--json")
    assert result.exit_code == 0, result.output
    account: dict[str, object] = json.loads(result.stdout)
    return account


def exported(app: Flask) -> dict[str, dict[str, object]]:
    result = run_cli(app, "export", "messages")
    assert result.exit_code == 0, result.output
    return {r["message_id"]: r for r in map(json.loads, result.stdout.splitlines())}


def test_mail_with_nul_bytes_is_stored_with_replacement_characters(
    app: Flask, tmp_path: Path
) -> None:
    archive = tmp_path / "nul.mbox"
    archive.write_bytes(NUL_MBOX)

    account = ingest(app, archive)

    assert (account["read"], account["stored"], account["rejected"]) == (2, 2, 0)
    first = exported(app)["<nul-1@example.org>"]
    assert first["subject"] == "nul\ufffdsubject"
    assert first["from_name"] == "Mal\ufffdlory"
    client = app.test_client()
    page = client.get("/m/nul-1@example.org").get_data(as_text=True)
    assert "before\ufffdafter" in page
    attachment = client.get("/m/nul-2@example.org").get_data(as_text=True)
    assert "a\ufffdb.bin" in attachment
    raw = client.get("/raw/nul-1@example.org").data
    assert b"Mal\0lory" in raw and b"nul\0subject" in raw and b"before\0after" in raw


def test_rerunning_an_ingest_of_mail_with_nul_bytes_stores_nothing_new(
    app: Flask, tmp_path: Path
) -> None:
    archive = tmp_path / "nul.mbox"
    archive.write_bytes(NUL_MBOX)
    ingest(app, archive)

    again = ingest(app, archive)

    assert (again["read"], again["stored"], again["duplicate"]) == (2, 0, 2)


@pytest.mark.parametrize(
    ("url", "status"),
    [
        ("/m/%00", 404),
        ("/raw/%00", 404),
        ("/lists/%00", 404),
        ("/lists/foundation/threads/%00", 404),
        ("/lists/%00/feed.atom", 404),
        ("/people/%00", 404),
        ("/decisions/%00", 404),
        ("/search?q=%00", 400),
        ("/search?q=interop&list=%00", 400),
        ("/lists/foundation?order=%00", 400),
    ],
)
def test_a_nul_in_a_url_answers_404_in_a_path_and_400_in_a_query(
    foundation_client: FlaskClient, url: str, status: int
) -> None:
    assert foundation_client.get(url).status_code == status


def _urls_with_nul(app: Flask) -> list[str]:
    """Every page's URL, with a NUL in each of its path segments, or in a query string
    when it has none."""
    urls = []
    for rule in app.url_map.iter_rules():
        if "GET" not in (rule.methods or ()) or rule.rule.startswith(("/api", "/static")):
            continue
        path = re.sub(r"<(?:int|id)[^>]*>", "1", rule.rule)
        path = re.sub(r"<[^>]+>", "%00", path)
        urls.append(path if "%00" in path else f"{path}?q=%00")
    return urls


@pytest.mark.parametrize("role", [None, "admin"])
def test_no_page_answers_500_to_a_nul(
    foundation_app: Flask, staff_client: StaffClient, role: str | None
) -> None:
    client = staff_client(role)

    answers = {url: client.get(url).status_code for url in _urls_with_nul(foundation_app)}

    assert {url: code for url, code in answers.items() if code not in (400, 404)} == {}


def test_a_form_holding_a_nul_is_refused_with_400(app: Flask) -> None:
    client = signed_in(app, "editor")
    token = csrf_token(client, "/decisions/new")

    response = client.post(
        "/decisions/new",
        data={"csrf_token": token, "title": "Adopt\0 the plan", "status": "proposed"},
    )

    assert response.status_code == 400
