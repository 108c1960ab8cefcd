"""Shared fixtures: a real database (SQLite, and PostgreSQL when CI provides one), the app
built on it, and the `quorum` command run in-process."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from flask import Flask
from flask.cli import ScriptInfo

from app import create_app
from app.cli import main
from app.db import throwaway_database, upgrade

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
FIXTURES = Path(__file__).resolve().parent / "fixtures"
CORPORA = ROOT.parent / "shared" / "corpora"
PG_URL = os.environ.get("QUORUM_TEST_DATABASE_URL", "")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "corpus" in item.keywords and not CORPORA.is_dir():
            item.add_marker(pytest.mark.skip(reason=f"corpora not found at {CORPORA}"))


@contextmanager
def fresh_database(kind: str, folder: Path) -> Iterator[str]:
    """The URL of a new, empty database: a SQLite file in `folder`, or a throwaway
    PostgreSQL database (dropped afterwards); skips the test when no server is configured."""
    if kind == "sqlite":
        yield f"sqlite:///{folder / 'test.sqlite3'}"
        return
    if not PG_URL:
        pytest.skip("PostgreSQL tests need QUORUM_TEST_DATABASE_URL (.ci/run starts a server)")
    with throwaway_database(PG_URL, "quorum_test") as url:
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database of each kind; PostgreSQL gets a throwaway database per test."""
    with fresh_database(request.param, tmp_path) as url:
        yield url


def build_app(database_url: str, home: Path, **overrides: Any) -> Flask:
    """The app on a database, with settings overridden (``public_base_url``, ``lists`` …),
    its schema at the newest revision."""
    application = create_app({"home": str(home), "database_url": database_url, **overrides})
    application.config["TESTING"] = True
    upgrade(application.extensions["quorum.engine"])
    return application


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


def run_cli(app: Flask, *args: str, input: str | None = None) -> Result:
    """Run `quorum ARGS…` against `app`, as the console script would."""
    return CliRunner().invoke(
        main,
        list(args),
        obj=ScriptInfo(create_app=lambda: app),
        input=input,
        catch_exceptions=False,
    )
