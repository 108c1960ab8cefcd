"""`quorum sync` from an IMAP mailbox on a real Dovecot server started by the tests
(tests/dovecot_server.py): incremental by UIDVALIDITY and UID, resumed exactly after a
restart, rescanned safely when UIDVALIDITY changes, never forgetting what the server
deleted, and failing clearly (nothing lost) on a wrong password."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from app.models import Message, Source
from app.search import index_of, search
from app.sync.runner import SourceReport, sync_pass
from tests.dovecot_server import Dovecot, dovecot_or_skip
from tests.helpers import FIXTURES, build_app, sessions_of

LIVE = FIXTURES / "live"
PASSWORD = "correct horse imap"
PASSWORD_VARIABLE = "QUORUM_TEST_IMAP_PASSWORD"


@pytest.fixture
def dovecot() -> Iterator[Dovecot]:
    dovecot_or_skip()
    server = Dovecot("archive", PASSWORD)
    try:
        server.start()
        yield server
    finally:
        server.remove()


@pytest.fixture
def password(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    monkeypatch.setenv(PASSWORD_VARIABLE, PASSWORD)
    return monkeypatch


def following(database_url: str, home: Path, server: Dovecot, **source: Any) -> Flask:
    table = {
        "type": "imap",
        "host": "127.0.0.1",
        "port": server.port,
        "tls": False,
        "user": "archive",
        "password_env": PASSWORD_VARIABLE,
        **source,
    }
    return build_app(
        database_url,
        home,
        lists={"governance": {"sources": [table]}},
        sync={"attempts": 2, "retry_wait_seconds": 0.01, "timeout_seconds": 10},
    )


def one_pass(app: Flask, **kwargs: Any) -> SourceReport:
    [report] = sync_pass(sessions_of(app), app.config["QUORUM"], **kwargs)
    return report


def counts(report: SourceReport) -> tuple[int, int, int]:
    assert report.account is not None
    return report.account.read, report.account.stored, report.account.duplicate


def stored_ids(app: Flask) -> set[str]:
    with sessions_of(app)() as session:
        return set(session.scalars(select(Message.message_id)))


def cursor(app: Flask) -> dict[str, Any]:
    with sessions_of(app)() as session:
        return session.scalars(select(Source.cursor)).one()


def message(name: str) -> bytes:
    return (LIVE / name).read_bytes()


def test_a_mailbox_is_followed_by_uid_and_a_restart_resumes_exactly(
    database_url: str, tmp_path: Path, dovecot: Dovecot, password: pytest.MonkeyPatch
) -> None:
    dovecot.deliver(message("proposal.eml"))
    dovecot.deliver(message("reply.eml"))
    app = following(database_url, tmp_path / "home", dovecot)

    first = one_pass(app)
    assert first.status == "ok", first.error
    assert counts(first) == (2, 2, 0)
    assert stored_ids(app) == {"<proposal-1@live.example.org>", "<reply-1@live.example.org>"}
    uidvalidity = int(
        dovecot.doveadm(
            "-f", "flow", "mailbox", "status", "-u", "archive", "uidvalidity", "INBOX"
        ).split("=")[1]
    )
    assert cursor(app) == {"uidvalidity": uidvalidity, "last_uid": 2}

    # The server restarts and new mail arrives: only the new UID is read.
    dovecot.restart()
    dovecot.deliver(message("late.eml"))
    resumed = one_pass(app)
    assert counts(resumed) == (1, 1, 0)
    assert [h.message_id for h in search(index_of(app), "ocarina").hits] == [
        "<late-1@live.example.org>"
    ]
    assert cursor(app) == {"uidvalidity": uidvalidity, "last_uid": 3}

    assert counts(one_pass(app)) == (0, 0, 0)


def test_a_new_uidvalidity_rescans_the_mailbox_and_nothing_doubles(
    tmp_path: Path, dovecot: Dovecot, password: pytest.MonkeyPatch
) -> None:
    dovecot.deliver(message("proposal.eml"))
    dovecot.deliver(message("reply.eml"))
    app = following("", tmp_path / "home", dovecot)
    assert counts(one_pass(app)) == (2, 2, 0)

    dovecot.doveadm("mailbox", "update", "-u", "archive", "--uid-validity", "4242", "INBOX")
    dovecot.deliver(message("late.eml"))
    rescan = one_pass(app)
    assert counts(rescan) == (3, 1, 2)
    assert cursor(app) == {"uidvalidity": 4242, "last_uid": 3}
    with sessions_of(app)() as session:
        assert session.scalar(select(func.count()).select_from(Message)) == 3


def test_a_message_deleted_on_the_server_is_kept(
    tmp_path: Path, dovecot: Dovecot, password: pytest.MonkeyPatch
) -> None:
    dovecot.deliver(message("proposal.eml"))
    dovecot.deliver(message("reply.eml"))
    app = following("", tmp_path / "home", dovecot)
    one_pass(app)

    dovecot.doveadm("expunge", "-u", "archive", "mailbox", "INBOX", "uid", "1")
    dovecot.deliver(message("late.eml"))
    after = one_pass(app)
    assert counts(after) == (1, 1, 0)
    assert stored_ids(app) == {
        "<proposal-1@live.example.org>",
        "<reply-1@live.example.org>",
        "<late-1@live.example.org>",
    }


def test_a_wrong_password_is_a_clear_error_and_loses_nothing(
    tmp_path: Path, dovecot: Dovecot, password: pytest.MonkeyPatch
) -> None:
    dovecot.deliver(message("proposal.eml"))
    app = following("", tmp_path / "home", dovecot)
    assert counts(one_pass(app)) == (1, 1, 0)
    before = cursor(app)

    password.setenv(PASSWORD_VARIABLE, "not the password")
    dovecot.deliver(message("reply.eml"))
    refused = one_pass(app)
    assert refused.status == "failed"
    assert refused.error == (
        f"imap://archive@127.0.0.1:{dovecot.port}/INBOX: the server refused the login of"
        " 'archive' ([AUTHENTICATIONFAILED] Authentication failed.): check the password"
    )
    assert cursor(app) == before
    assert stored_ids(app) == {"<proposal-1@live.example.org>"}

    password.setenv(PASSWORD_VARIABLE, PASSWORD)
    mended = one_pass(app, force=True)
    assert mended.status == "ok" and counts(mended) == (1, 1, 0)
    assert stored_ids(app) == {"<proposal-1@live.example.org>", "<reply-1@live.example.org>"}


def test_the_password_comes_from_a_file_or_a_variable_that_must_exist(
    tmp_path: Path, dovecot: Dovecot, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(PASSWORD_VARIABLE, raising=False)
    dovecot.deliver(message("proposal.eml"))
    unset = one_pass(following("", tmp_path / "a", dovecot))
    key = f"imap://archive@127.0.0.1:{dovecot.port}/INBOX"
    assert unset.error == f"{key}: the variable {PASSWORD_VARIABLE} is not set"
    secret = tmp_path / "imap-password"
    secret.write_text(PASSWORD + "\n")
    from_file = one_pass(
        following("", tmp_path / "b", dovecot, password_env="", password_file=str(secret))
    )
    assert from_file.status == "ok" and counts(from_file) == (1, 1, 0)


def test_an_unreachable_server_is_reported_after_the_retries(
    tmp_path: Path, dovecot: Dovecot, password: pytest.MonkeyPatch
) -> None:
    app = following("", tmp_path / "home", dovecot)
    dovecot.stop()
    down = one_pass(app)
    assert down.status == "failed"
    assert down.error is not None
    assert down.error.startswith(f"imap://archive@127.0.0.1:{dovecot.port}/INBOX: cannot connect (")
    assert down.error.endswith("; after 2 attempts)")
