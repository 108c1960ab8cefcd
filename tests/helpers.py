"""What tests share besides fixtures: where things are, databases and apps made on demand,
the `quorum` command run in-process, the app's sessions, the shipped demo data loaded, mail
written as mbox files and ingested, and acting as staff (accounts, sign-in, CSRF tokens).

Test modules import these from here; fixtures live in conftest.py, which pytest loads itself.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from flask import Flask
from flask.cli import ScriptInfo
from flask.testing import FlaskClient
from sqlalchemy.orm import Session, sessionmaker

from app import create_app
from app.accounts import create_user
from app.cli import main
from app.db import throwaway_database, upgrade

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
FIXTURES = Path(__file__).resolve().parent / "fixtures"
CORPORA = ROOT.parent / "shared" / "corpora"
PG_URL = os.environ.get("QUORUM_TEST_DATABASE_URL", "")

PASSWORD = "correct horse battery"
_TOKEN = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')

#: What the `staff_client` fixture gives: a role (None for an anonymous reader) -> a client.
StaffClient = Callable[[str | None], FlaskClient]


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


def build_app(database_url: str, home: Path, **overrides: Any) -> Flask:
    """The app on a database, with settings overridden (``public_base_url``, ``lists`` …),
    its schema at the newest revision."""
    application = create_app({"home": str(home), "database_url": database_url, **overrides})
    application.config["TESTING"] = True
    upgrade(application.extensions["quorum.engine"])
    return application


def sessions_of(app: Flask) -> sessionmaker[Session]:
    """The app's sessionmaker: ``with sessions_of(app)() as session:`` reads and writes the
    app's database outside a request, as the commands do."""
    sessions: sessionmaker[Session] = app.extensions["quorum.sessionmaker"]
    return sessions


def run_cli(app: Flask, *args: str, input: str | None = None) -> Result:
    """Run `quorum ARGS…` against `app`, as the console script would."""
    return CliRunner().invoke(
        main,
        list(args),
        obj=ScriptInfo(create_app=lambda: app),
        input=input,
        catch_exceptions=False,
    )


def ingest_foundation(app: Flask) -> None:
    """The foundation list of examples/foundation (six messages, two threads), ingested
    (and so threaded, indexed and given positions) as `make demo` ingests it."""
    result = run_cli(app, "ingest", str(EXAMPLES / "foundation"), "--list", "foundation")
    assert result.exit_code == 0, result.output


def import_shipped_decisions(app: Flask) -> None:
    """The decision of examples/decisions.jsonl, linked to the foundation list's debate,
    imported as `make demo` imports it (after `ingest_foundation`)."""
    result = run_cli(app, "import", "decisions", str(EXAMPLES / "decisions.jsonl"))
    assert result.exit_code == 0, result.output


def mail(
    message_id: str,
    sender: str,
    subject: str,
    date: str,
    body: str,
    *,
    reply_to: str | None = None,
    attachment: bool = False,
) -> str:
    """One mbox entry (From_ line, headers, body)."""
    headers = [
        f"From: {sender}",
        f"Subject: {subject}",
        f"Message-ID: {message_id}",
        f"Date: {date}",
    ]
    if reply_to:
        headers += [f"In-Reply-To: {reply_to}", f"References: {reply_to}"]
    if attachment:
        headers += ["MIME-Version: 1.0", 'Content-Type: multipart/mixed; boundary="XX"']
        body = (
            "--XX\nContent-Type: text/plain\n\n"
            + body
            + "\n--XX\nContent-Type: application/octet-stream\n"
            'Content-Disposition: attachment; filename="plan.bin"\n\nAAAA\n--XX--\n'
        )
    return (
        "From someone@example.org Mon Jan  6 10:00:00 2014\n"
        + "\n".join(headers)
        + "\n\n"
        + body
        + "\n"
    )


def mbox(
    path: Path, count: int, start: int = 0, body: str = "common words about topic {i}"
) -> Path:
    """An mbox at `path` of `count` unrelated messages, numbered from `start`, each from its
    own writer, with `body` formatted with the message's number."""
    path.write_text(
        "\n".join(
            mail(
                f"<m{i}@load.example.org>",
                f"Writer {i} <w{i}@load.example.org>",
                f"Topic {i}",
                "Wed, 5 Feb 2014 10:00:00 +0000",
                body.format(i=i),
            )
            for i in range(start, start + count)
        )
    )
    return path


def ingest_list(app: Flask, folder: Path, name: str, messages: list[str]) -> None:
    """`messages` (mbox entries) written to FOLDER/NAME.mbox and ingested as the list NAME."""
    path = folder / f"{name}.mbox"
    path.write_text("\n".join(messages))
    result = run_cli(app, "ingest", str(path), "--list", name)
    assert result.exit_code == 0, result.output


def csrf_token(client: FlaskClient, url: str = "/login") -> str:
    html = client.get(url).get_data(as_text=True)
    match = _TOKEN.search(html)
    assert match, f"no CSRF token on {url}"
    return match.group(1)


def make_user(app: Flask, name: str, role: str) -> int:
    with sessions_of(app)() as session:
        user = create_user(session, name, role, PASSWORD)
        session.commit()
        return user.id


def signed_in(app: Flask, role: str | None) -> FlaskClient:
    """A client signed in with a new account of that role (None: an anonymous reader)."""
    client = app.test_client()
    if role is not None:
        make_user(app, f"{role}-user", role)
        response = client.post(
            "/login",
            data={"csrf_token": csrf_token(client), "name": f"{role}-user", "password": PASSWORD},
        )
        assert response.status_code == 302, response.get_data(as_text=True)
    return client
