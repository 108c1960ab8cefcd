"""The API over a real archive: three months of twisted-python (../shared/corpora), walked
page by page through every listing, and searched."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.helpers import CORPORA, run_cli

MONTHS = ("2010-January", "2010-February", "2010-March")


def walk(client: FlaskClient, url: str) -> list[dict[str, Any]]:
    """Every item of a listing, following next_cursor to the end."""
    items: list[dict[str, Any]] = []
    cursor = None
    while True:
        page = client.get(url + (f"&cursor={cursor}" if cursor else ""))
        assert page.status_code == 200, page.get_data(as_text=True)
        body = page.get_json()
        items += body["items"]
        cursor = body["next_cursor"]
        if cursor is None:
            return items


@pytest.mark.corpus
def test_the_api_serves_months_of_twisted_python(sqlite_app: Flask) -> None:
    archive = CORPORA / "twisted-python" / "archive"
    paths = [str(archive / f"{month}.txt.gz") for month in MONTHS]
    result = run_cli(sqlite_app, "ingest", *paths, "--list", "twisted-python")
    assert result.exit_code == 0, result.output
    client = sqlite_app.test_client()

    (twisted,) = client.get("/api/v1/lists").get_json()["items"]
    assert twisted["name"] == "twisted-python" and twisted["message_count"] > 500

    threads = walk(client, "/api/v1/threads?list=twisted-python&limit=200")
    assert len({t["id"] for t in threads}) == len(threads) == twisted["thread_count"]
    last_dates = [t["last_date"] for t in threads]
    assert last_dates == sorted(last_dates, reverse=True)

    messages = walk(client, "/api/v1/messages?list=twisted-python&limit=200")
    assert len({(m["message_id"], m["urls"]["self"]) for m in messages}) == len(messages)
    assert len(messages) == twisted["message_count"]
    assert all(m["from_address"] == "" or "@" not in m["from_address"] for m in messages)

    busiest = max(threads, key=lambda t: t["message_count"])
    detail = client.get(busiest["urls"]["self"]).get_json()
    assert {m["thread_id"] for m in detail["messages"]} == {busiest["thread_id"]}
    one = client.get(detail["messages"][-1]["urls"]["self"]).get_json()
    assert one["segments"] and one["body"]

    found = client.get("/api/v1/search?q=deferred&group=thread&limit=5").get_json()
    assert found["total"] > 0 and found["facets"]["lists"] == {
        "twisted-python": found["facets"]["lists"]["twisted-python"]
    }
