"""Private lists can be declared — on the command line, in the settings before a list's first
ingest, and by admins on the web — every change is audited, and mail cannot smuggle itself
into a private list through its List-Id header."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from app.models import DecisionEvent, MailingList, Message
from app.settings import SettingsError, load_settings
from tests.helpers import (
    StaffClient,
    build_app,
    csrf_token,
    ingest_foundation,
    run_cli,
    sessions_of,
)

SEED_THREAD = "/lists/foundation/threads/1391522712.2459.12.camel@sorcha.example"


def mail(message_id: str, list_id: str | None = None, subject: str = "hello") -> bytes:
    header = f"List-Id: Somebody's list <{list_id}>\n" if list_id else ""
    return (
        f"From x@example.org Mon Jan  6 10:00:00 2014\n"
        f"From: X <x@example.org>\nSubject: {subject}\nMessage-ID: <{message_id}>\n"
        f"{header}Date: Mon, 6 Jan 2014 10:00:00 +0000\n\nsome words\n\n"
    ).encode()


@pytest.fixture
def board_app(database_url: str, tmp_path: Path) -> Iterator[Flask]:
    """An install whose settings declare a private list "board" before any mail arrived."""
    application = build_app(
        database_url, tmp_path / "home", lists={"board": {"visibility": "private"}}
    )
    yield application
    application.extensions["quorum.engine"].dispose()


def visibility(app: Flask, name: str) -> str | None:
    with sessions_of(app)() as session:
        return session.scalar(select(MailingList.visibility).where(MailingList.name == name))


def stored_in(app: Flask, name: str) -> int:
    with sessions_of(app)() as session:
        return (
            session.scalar(
                select(func.count(Message.id))
                .join(MailingList, MailingList.id == Message.list_id)
                .where(MailingList.name == name)
            )
            or 0
        )


def events(app: Flask, kind: str) -> list[dict[str, Any]]:
    with sessions_of(app)() as session:
        return [
            {"user_id": e.user_id, "subject_type": e.subject_type, **e.changes}
            for e in session.scalars(select(DecisionEvent).where(DecisionEvent.kind == kind))
        ]


def ingest_json(app: Flask, *args: str) -> dict[str, Any]:
    result = run_cli(app, "ingest", *args, "--json")
    assert result.exit_code == 0, result.output
    account: dict[str, Any] = json.loads(result.output)
    assert account["read"] == sum(
        account[k] for k in ("stored", "duplicate", "skipped", "rejected")
    )
    return account


def test_quorum_lists_shows_each_list_with_visibility_and_counts(foundation_app: Flask) -> None:
    listed = json.loads(run_cli(foundation_app, "lists", "--json").output)
    assert listed == [
        {"name": "foundation", "visibility": "public", "messages": 6, "threads": 2, "created": True}
    ]
    table = run_cli(foundation_app, "lists").output.splitlines()
    assert table[0].split() == ["name", "visibility", "messages", "threads"]
    assert table[1].split() == ["foundation", "public", "6", "2"]


def test_quorum_lists_set_makes_a_list_private_and_public_again_with_an_audit_trail(
    foundation_app: Flask,
) -> None:
    reader = foundation_app.test_client()
    assert reader.get(SEED_THREAD).status_code == 200

    result = run_cli(foundation_app, "lists", "set", "foundation", "--private")
    assert result.exit_code == 0 and "foundation is now private" in result.output
    assert visibility(foundation_app, "foundation") == "private"
    assert reader.get(SEED_THREAD).status_code == 404

    run_cli(foundation_app, "lists", "set", "foundation", "--public")
    assert reader.get(SEED_THREAD).status_code == 200
    assert events(foundation_app, "list.visibility") == [
        {"user_id": None, "subject_type": "list", "name": "foundation", "visibility": old_new}
        for old_new in (["public", "private"], ["private", "public"])
    ]


def test_quorum_lists_set_refuses_an_unknown_list_or_a_missing_choice(app: Flask) -> None:
    unknown = run_cli(app, "lists", "set", "nosuch", "--private")
    assert unknown.exit_code == 2 and "no list named 'nosuch'" in unknown.output
    ingest_foundation(app)
    assert run_cli(app, "lists", "set", "foundation").exit_code == 2
    assert events(app, "list.visibility") == []


def test_a_list_declared_private_in_the_settings_is_private_from_its_first_message(
    board_app: Flask, tmp_path: Path
) -> None:
    listed = json.loads(run_cli(board_app, "lists", "--json").output)
    assert listed == [
        {"name": "board", "visibility": "private", "messages": 0, "threads": 0, "created": False}
    ]
    assert "board  private (declared)" in run_cli(board_app, "lists").output
    box = tmp_path / "board.mbox"
    box.write_bytes(mail("minutes-1@example.org"))
    assert ingest_json(board_app, str(box), "--list", "board")["stored"] == 1
    assert visibility(board_app, "board") == "private"
    assert json.loads(run_cli(board_app, "lists", "--json").output)[0]["created"] is True
    assert board_app.test_client().get("/lists/board").status_code == 404


def test_mail_naming_a_private_list_in_its_list_id_is_quarantined_not_stored(
    board_app: Flask, tmp_path: Path
) -> None:
    box = tmp_path / "public-archive.mbox"
    box.write_bytes(
        mail("ok-1@example.org", "general.lists.example.org")
        + mail("forged-1@example.org", "board.evil.example", subject="urgent: wire money")
    )
    account = ingest_json(board_app, str(box))
    assert (account["stored"], account["rejected"]) == (1, 1)
    reason = account["rejections"][0]["reason"]
    assert "private list 'board'" in reason and "--list board" in reason
    assert stored_in(board_app, "board") == 0
    assert stored_in(board_app, "general") == 1
    quarantined = [
        json.loads(p.read_text()) for p in (tmp_path / "home" / "quarantine").glob("*.json")
    ]
    assert [q["reason"] for q in quarantined] == [reason]


def test_a_list_made_private_later_is_guarded_too(app: Flask, tmp_path: Path) -> None:
    box = tmp_path / "board.mbox"
    box.write_bytes(mail("minutes-1@example.org", "board.lists.example.org"))
    assert ingest_json(app, str(box))["stored"] == 1
    run_cli(app, "lists", "set", "board", "--private")
    box.write_bytes(mail("minutes-2@example.org", "board.lists.example.org"))
    assert ingest_json(app, str(box))["rejected"] == 1
    assert stored_in(app, "board") == 1


def test_naming_the_private_list_lets_its_mail_in(board_app: Flask, tmp_path: Path) -> None:
    box = tmp_path / "board.mbox"
    box.write_bytes(mail("minutes-1@example.org", "board.lists.example.org"))
    assert ingest_json(board_app, str(box), "--list", "board")["stored"] == 1
    assert stored_in(board_app, "board") == 1


def test_a_private_list_configured_to_accept_its_list_id_takes_such_mail(
    database_url: str, tmp_path: Path
) -> None:
    application = build_app(
        database_url,
        tmp_path / "home",
        lists={"board": {"visibility": "private", "accept_list_id": True}},
    )
    box = tmp_path / "board.mbox"
    box.write_bytes(mail("minutes-1@example.org", "board.lists.example.org"))
    assert ingest_json(application, str(box))["stored"] == 1
    assert stored_in(application, "board") == 1
    assert visibility(application, "board") == "private"
    application.extensions["quorum.engine"].dispose()


def test_list_settings_are_read_from_the_settings_file_and_checked(tmp_path: Path) -> None:
    config = tmp_path / "quorum.toml"
    config.write_text('[lists.board]\nvisibility = "private"\naccept_list_id = true\n')
    settings = load_settings(environ={"QUORUM_CONFIG": str(config)})
    assert settings.lists["board"].visibility == "private"
    assert settings.lists["board"].accept_list_id is True
    for bad, error in (
        ('[lists.board]\nvisibility = "secret"\n', "visibility"),
        ('[lists.board]\nvisibilty = "private"\n', "visibilty"),
        ('[lists.Board]\nvisibility = "private"\n', "lower case"),
    ):
        config.write_text(bad)
        with pytest.raises(SettingsError, match=error):
            load_settings(environ={"QUORUM_CONFIG": str(config)})


def test_admins_change_visibility_on_the_web_with_csrf_and_an_audit_trail(
    foundation_app: Flask, staff_client: StaffClient
) -> None:
    assert foundation_app.test_client().get("/admin/lists").status_code == 302
    assert staff_client("editor").get("/admin/lists").status_code == 403

    admin = staff_client("admin")
    page = admin.get("/admin/lists").get_data(as_text=True)
    assert "foundation" in page and "public" in page
    assert admin.post("/admin/lists/foundation", data={"visibility": "private"}).status_code == 400
    assert visibility(foundation_app, "foundation") == "public"

    token = csrf_token(admin, "/admin/lists")
    response = admin.post(
        "/admin/lists/foundation", data={"csrf_token": token, "visibility": "private"}
    )
    assert response.status_code == 302
    assert visibility(foundation_app, "foundation") == "private"
    assert foundation_app.test_client().get(SEED_THREAD).status_code == 404
    [event] = events(foundation_app, "list.visibility")
    assert event["visibility"] == ["public", "private"] and event["user_id"] is not None
    audit = admin.get("/admin/audit").get_data(as_text=True)
    assert "list.visibility" in audit and "admin-user" in audit


def test_an_editor_cannot_change_visibility(
    foundation_app: Flask, staff_client: StaffClient
) -> None:
    editor = staff_client("editor")
    token = csrf_token(editor, "/decisions/new")
    response = editor.post(
        "/admin/lists/foundation", data={"csrf_token": token, "visibility": "private"}
    )
    assert response.status_code == 403
    assert visibility(foundation_app, "foundation") == "public"
