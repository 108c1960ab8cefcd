"""What one search may cost (issue 13, item 7): a query of hundreds of ``*xy*`` wildcards made
Whoosh walk the whole vocabulary once per pattern — 20 s for one anonymous request on a
2,000-message index. Every way in (`quorum search`, the search page, `/api/v1/search`) now
refuses such a query with a message that says what to change, while ordinary wildcards
keep working."""

from __future__ import annotations

import itertools
import string
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from app import create_app
from tests.helpers import run_cli

SCAN_REFUSAL = "would look through more than 20,000 indexed words"


def wildcards(count: int) -> str:
    """`count` distinct ``*xy*`` patterns: each matches against every word of the index."""
    pairs = itertools.islice(itertools.product(string.ascii_lowercase, repeat=2), count)
    return " ".join(f"*{a}{b}*" for a, b in pairs)


def test_quorum_search_refuses_hundreds_of_wildcards_and_keeps_ordinary_ones(
    foundation_app: Flask,
) -> None:
    attack = run_cli(foundation_app, "search", wildcards(300))
    assert attack.exit_code == 2
    assert SCAN_REFUSAL in attack.output
    assert "start each pattern with a few letters" in attack.output

    ordinary = run_cli(foundation_app, "search", "interop*", "--json")
    assert ordinary.exit_code == 0 and '"subject": ' in ordinary.output
    one_leading = run_cli(foundation_app, "search", "*terop*", "--json")
    assert one_leading.exit_code == 0 and '"subject": ' in one_leading.output


def test_the_api_refuses_the_attack_with_a_400_problem_detail(
    foundation_client: FlaskClient,
) -> None:
    query = wildcards(199)  # the API takes queries of up to 1,000 characters
    response = foundation_client.get("/api/v1/search", query_string={"q": query})
    assert response.status_code == 400
    assert response.mimetype == "application/problem+json"
    problem = response.get_json()
    assert SCAN_REFUSAL in problem["detail"] and SCAN_REFUSAL in problem["errors"]["q"]


def test_the_search_page_tells_the_reader_why(foundation_client: FlaskClient) -> None:
    response = foundation_client.get("/search", query_string={"q": wildcards(300)})
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert 'role="alert"' in page and SCAN_REFUSAL in page
    assert "0 messages match" not in page


def test_a_query_searches_at_most_max_terms_words_typed_or_expanded(foundation_app: Flask) -> None:
    typed = run_cli(foundation_app, "search", " OR ".join(f"word{n}" for n in range(300)))
    assert typed.exit_code == 2
    assert "This query searches 300 words" in typed.output and "at most 256" in typed.output
    assert run_cli(foundation_app, "search", "s* OR t*").exit_code == 0  # 40 words once expanded


def test_the_limits_are_read_from_the_settings_file(
    foundation_app: Flask, database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "quorum.toml"
    config.write_text("[search]\nmax_scanned_words = 50\nmax_terms = 3\n")
    monkeypatch.setenv("QUORUM_CONFIG", str(config))
    strict = create_app(
        {
            "home": foundation_app.config["QUORUM"].home,
            "database_url": database_url,
            "env": "development",
        }
    )
    try:
        refused = run_cli(strict, "search", "*terop*")
        assert refused.exit_code == 2
        assert "more than 50 indexed words" in refused.output
        typed = run_cli(strict, "search", "board vote reactor call").output
        assert "at most 3 are allowed" in typed
        expanded = run_cli(strict, "search", "s*").output  # the foundation list has 20 words in s
        assert "This query searches 20 words once its wildcards" in expanded
        assert run_cli(strict, "search", "interop*").exit_code == 0
    finally:
        strict.extensions["quorum.engine"].dispose()
