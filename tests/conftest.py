"""Shared fixtures: a real database (SQLite, and PostgreSQL when CI provides one) and the app
built on it. Plain helpers are in tests/helpers.py."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask

from app import create_app
from app.db import upgrade
from tests.helpers import CORPORA, fresh_database


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
    application = create_app(
        {"home": str(tmp_path / "home"), "database_url": database_url, "env": "development"}
    )
    application.config["TESTING"] = True
    upgrade(application.extensions["quorum.engine"])
    yield application
    application.extensions["quorum.engine"].dispose()


@pytest.fixture
def sqlite_app(tmp_path: Path) -> Iterator[Flask]:
    """The app on SQLite only, for tests about behaviour that no database changes."""
    application = create_app({"home": str(tmp_path / "home"), "database_url": ""})
    application.config["TESTING"] = True
    upgrade(application.extensions["quorum.engine"])
    yield application
    application.extensions["quorum.engine"].dispose()
