"""Shared fixtures: a real database (SQLite, and PostgreSQL when CI provides one), the app
built on it, and that app holding the shipped foundation list, read anonymously or by staff.
Plain helpers are in tests/helpers.py.

Every fixture here is function-scoped: each test gets its own database, so a test may change
what it was given without another test seeing it. A module that needs more than the
foundation list builds on `foundation_app` with a fixture named for what it adds."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.helpers import (
    CORPORA,
    StaffClient,
    build_app,
    fresh_database,
    ingest_foundation,
    signed_in,
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "corpus" in item.keywords and not CORPORA.is_dir():
            item.add_marker(pytest.mark.skip(reason=f"corpora not found at {CORPORA}"))


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database of each kind; PostgreSQL gets a throwaway database per test."""
    with fresh_database(request.param, tmp_path) as url:
        yield url


@pytest.fixture
def app(database_url: str, tmp_path: Path) -> Iterator[Flask]:
    """The app on each database, empty, with its schema at the newest revision."""
    application = build_app(database_url, tmp_path / "home", env="development")
    yield application
    application.extensions["quorum.engine"].dispose()


@pytest.fixture
def sqlite_app(tmp_path: Path) -> Iterator[Flask]:
    """The app on SQLite only, for tests about behaviour that no database changes."""
    application = build_app("", tmp_path / "home")
    yield application
    application.extensions["quorum.engine"].dispose()


@pytest.fixture
def foundation_app(app: Flask) -> Flask:
    """The app, on each database, holding the foundation list of examples/foundation as
    `make demo` ingests it. The shipped decision is left out: pages, queues and exports then
    show only what a test adds (`import_shipped_decisions` adds it)."""
    ingest_foundation(app)
    return app


@pytest.fixture
def foundation_client(foundation_app: Flask) -> FlaskClient:
    """An anonymous reader's client on `foundation_app`."""
    return foundation_app.test_client()


@pytest.fixture
def staff_client(foundation_app: Flask) -> StaffClient:
    """``staff_client(role)``: a client on `foundation_app` signed in with a new account of
    that role (``"viewer"``, ``"editor"``, ``"admin"``; None for an anonymous reader), one
    account per role in a test."""
    return lambda role: signed_in(foundation_app, role)
