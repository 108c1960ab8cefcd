"""`quorum deliver --list NAME`: the command a mail server pipes each message to, run as the
mail server runs it (a process, the message on standard input, the exit status read the
sendmail way: 0 accounted for, 75 keep it and retry)."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select, text

from app.db import upgrade
from app.models import Message, Rejection
from tests.helpers import FIXTURES, ROOT, fresh_database

LIVE = FIXTURES / "live"
QUORUM = Path(sys.executable).parent / "quorum"
EX_TEMPFAIL = 75


def quorum(
    home: Path, url: str, *args: str, stdin: bytes = b""
) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "QUORUM_HOME": str(home),
        "QUORUM_DATABASE_URL": url,
        "QUORUM_CONFIG": str(ROOT / "config" / "default.toml"),
    }
    done = subprocess.run(
        [str(QUORUM), *args], input=stdin, env=env, capture_output=True, timeout=120, check=False
    )
    return subprocess.CompletedProcess(
        done.args, done.returncode, done.stdout.decode(), done.stderr.decode()
    )


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> object:
    with fresh_database(request.param, tmp_path) as database_url:
        yield database_url


def test_a_delivered_message_is_stored_threaded_and_searchable_on_return(
    url: str, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    # Postfix's pipe (flag F) and procmail hand over the mbox envelope line first.
    reply = (
        b"From bob@live.example.org  Mon Nov  2 10:30:00 2026\n" + (LIVE / "reply.eml").read_bytes()
    )
    first = quorum(home, url, "deliver", "--list", "Governance", stdin=reply)
    assert (first.returncode, first.stdout) == (0, "stored into governance\n"), first.stderr
    second = quorum(
        home, url, "deliver", "--list", "governance", stdin=(LIVE / "proposal.eml").read_bytes()
    )
    assert (second.returncode, second.stdout) == (0, "stored into governance\n"), second.stderr

    found = quorum(home, url, "search", "harmonica", "--json")
    assert found.returncode == 0 and "<reply-1@live.example.org>" in found.stdout
    engine = create_engine(url)
    with engine.connect() as conn:
        rows = {
            r.message_id: r
            for r in conn.execute(
                select(
                    Message.message_id,
                    Message.thread_id,
                    Message.parent_message_id,
                    Message.subject,
                )
            )
        }
    engine.dispose()
    # The reply came first and hung on a placeholder; its parent joined the same thread.
    assert (
        rows["<reply-1@live.example.org>"].thread_id
        == rows["<proposal-1@live.example.org>"].thread_id
    )
    assert rows["<reply-1@live.example.org>"].subject.startswith("[Governance] Re: Proposal")


def test_a_second_delivery_of_the_same_message_is_a_duplicate_and_succeeds(
    url: str, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    message = (LIVE / "proposal.eml").read_bytes()
    assert quorum(home, url, "deliver", "--list", "governance", stdin=message).returncode == 0
    again = quorum(home, url, "deliver", "--list", "governance", stdin=message)
    assert (again.returncode, again.stdout) == (0, "duplicate into governance\n")
    engine = create_engine(url)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM messages")).scalar() == 1
    engine.dispose()


def test_garbage_is_quarantined_with_its_reason_and_acknowledged(url: str, tmp_path: Path) -> None:
    home = tmp_path / "home"
    garbage = b"\x00\xff\xfe this is not mail at all \x89PNG\r\n"
    done = quorum(home, url, "deliver", "--list", "governance", stdin=garbage)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("rejected into governance: not a mail message")
    engine = create_engine(url)
    with engine.connect() as conn:
        rejection = conn.execute(select(Rejection.reason, Rejection.source_file)).one()
    engine.dispose()
    assert rejection.source_file == "deliver"
    kept = list((home / "quarantine").glob("*.eml"))
    assert [p.read_bytes() for p in kept] == [garbage]


def test_an_unwritable_sqlite_database_is_a_temporary_failure(tmp_path: Path) -> None:
    home = tmp_path / "home"
    path = tmp_path / "quorum.sqlite3"
    engine = create_engine(f"sqlite:///{path}")
    upgrade(engine)
    engine.dispose()
    # Opened read-only (root ignores file modes, SQLite's own read-only mode does not).
    read_only = f"sqlite:///file:{path}?mode=ro&uri=true"
    done = quorum(
        home,
        read_only,
        "deliver",
        "--list",
        "governance",
        stdin=(LIVE / "proposal.eml").read_bytes(),
    )
    assert done.returncode == EX_TEMPFAIL
    assert "not stored, try again later" in done.stderr and "readonly" in done.stderr
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT count(*) FROM messages").fetchone() == (0,)


def test_a_read_only_postgresql_database_is_a_temporary_failure(tmp_path: Path) -> None:
    with fresh_database("postgresql", tmp_path) as url:
        engine = create_engine(url, isolation_level="AUTOCOMMIT")
        upgrade(engine)
        name = engine.url.database
        with engine.connect() as conn:
            conn.execute(text(f'ALTER DATABASE "{name}" SET default_transaction_read_only = on'))
        engine.dispose()
        done = quorum(
            tmp_path / "home",
            url,
            "deliver",
            "--list",
            "governance",
            stdin=(LIVE / "proposal.eml").read_bytes(),
        )
        assert done.returncode == EX_TEMPFAIL
        assert "read-only transaction" in done.stderr
