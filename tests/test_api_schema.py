"""The OpenAPI document is valid OpenAPI 3.1, and the live API keeps its promises: every
operation is fuzzed by schemathesis with a bounded number of examples, and any server error,
undocumented status, wrong content type or response that violates the schema fails."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, settings
from openapi_spec_validator import validate
from sqlalchemy import update

from app.api.openapi import document
from app.api_tokens import issue_token
from app.models import MailingList, Message, User
from tests.helpers import (
    build_app,
    fresh_database,
    import_shipped_decisions,
    ingest_foundation,
    make_user,
    run_cli,
    sessions_of,
)

#: Examples per operation: enough to reach every parameter's edge cases, bounded so that
#: the whole fuzz run stays well under two minutes on two cores.
EXAMPLES_PER_OPERATION = 30
HIDDEN = "<52F2296B.6040304@openstack.org>"
PRIVATE_MBOX = (
    b"From staff@example.org Mon Jan  6 10:00:00 2014\n"
    b"From: Staff Member <staff@example.org>\n"
    b"Subject: Board minutes draft\n"
    b"Message-ID: <private-1@example.org>\n"
    b"Date: Mon, 6 Jan 2014 10:00:00 +0100\n\n"
    b"Not for the public yet.\n"
)


def fuzz_app(home: Path, database_url: str) -> tuple[Flask, str]:
    """The demo archive plus a private list and a hidden message, and an editor's token."""
    app = build_app(database_url, home, api={"writes_per_minute": 1_000_000})
    ingest_foundation(app)
    import_shipped_decisions(app)
    private = home / "board.mbox"
    private.write_bytes(PRIVATE_MBOX)
    run_cli(app, "ingest", str(private), "--list", "board")
    make_user(app, "fuzzer", "editor")
    with sessions_of(app)() as session:
        session.execute(
            update(MailingList).where(MailingList.name == "board").values(visibility="private")
        )
        hidden = session.query(Message).filter(Message.message_id == HIDDEN).one()
        hidden.hidden = True
        user = session.query(User).filter_by(name="fuzzer").one()
        _, secret = issue_token(session, user, "fuzz", None)
        session.commit()
    return app, secret


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def fuzzed(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Flask, str]]:
    """One live app per database for the whole module: every operation is fuzzed on both."""
    folder = tmp_path_factory.mktemp("fuzz")
    with fresh_database(request.param, folder) as url:
        app, secret = fuzz_app(folder, url)
        yield app, secret
        app.extensions["quorum.engine"].dispose()


def test_the_document_is_valid_openapi_3_1(sqlite_app: Flask) -> None:
    response = sqlite_app.test_client().get("/api/v1/openapi.json")
    assert response.status_code == 200
    document = response.get_json()
    assert document["openapi"] == "3.1.0"
    validate(document)


def test_the_document_has_a_page_for_people_linked_from_the_footer(sqlite_app: Flask) -> None:
    client = sqlite_app.test_client()
    home = client.get("/").get_data(as_text=True)
    assert 'href="/api/v1/docs"' in home
    page = client.get("/api/v1/docs").get_data(as_text=True)
    assert "GET /api/v1/messages/{message_id}" in page
    assert 'href="/api/v1/openapi.json"' in page


# The document is built without an app (it is the same dict the app serves), so the
# operations are known when pytest collects the tests.
# Schema-valid input that the schema cannot judge — an opaque cursor, a date such as
# 2014-02-30, a Message-ID nobody archived — is answered with the documented 400/404/410/422.
schema = schemathesis.openapi.from_dict(
    document(),
    config=schemathesis.Config.from_dict(
        {
            "checks": {
                "positive_data_acceptance": {
                    "expected-statuses": ["2xx", "400", "401", "403", "404", "410", "422", "429"]
                }
            }
        }
    ),
)


@schema.parametrize()
@settings(
    max_examples=EXAMPLES_PER_OPERATION,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_the_api_keeps_the_promises_of_its_document(case: Any, fuzzed: tuple[Flask, str]) -> None:
    app, secret = fuzzed
    # Every request, including those the checks send again without the token, goes to the
    # live app through WSGI.
    case.operation.schema.app = case.operation.app = app
    headers = {"Authorization": f"Bearer {secret}"} if case.method != "GET" else None
    case.call_and_validate(headers=headers)
