"""Decisions and staff actions in the web app: who may do what, forms, safety, history.

Every test starts from the foundation list and one decision of its own,
"Interoperability first" (the `interoperability_first` fixture)."""

from __future__ import annotations

import json
import re
from datetime import date

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from app.governance import DecisionFields, create_decision
from app.models import Decision, DecisionEvent, DecisionLink, Message, User
from app.positions import active_model, derive_positions
from app.settings import settings_of
from tests.helpers import PASSWORD, StaffClient, csrf_token, make_user, run_cli, sessions_of

SEED = "/lists/foundation/threads/1391522712.2459.12.camel@sorcha.example"
TROY = "CF1A2E3B.3B1A2%25troy.toman@rackspace.com"
XSS = "<script>alert('x')</script><img src=x onerror=alert(1)>"

pytestmark = pytest.mark.usefixtures("interoperability_first")


@pytest.fixture
def interoperability_first(foundation_app: Flask) -> None:
    """One decision added to the foundation list: "Interoperability first", accepted on
    2014-03-01 by the Board of Directors, tagged interop, linked to nothing yet."""
    with sessions_of(foundation_app)() as session:
        create_decision(
            session,
            DecisionFields(
                title="Interoperability first",
                status="accepted",
                decided_on=date(2014, 3, 1),
                decided_by="Board of Directors",
                tags=["interop"],
            ),
            None,
        )
        session.commit()


def seed_ids(app: Flask) -> tuple[int, int, int]:
    """(decision id, seed thread id, Troy's message pk)."""
    with sessions_of(app)() as session:
        decision = session.scalar(select(Decision.id))
        troy = session.scalars(select(Message).where(Message.message_id.like("<CF1A2E3B%"))).one()
        return decision, troy.thread_id, troy.id  # type: ignore[return-value]


def write_requests(app: Flask) -> list[tuple[str, str, dict[str, object]]]:
    """Every staff write endpoint, with data that would succeed for an allowed role."""
    decision, _thread, _troy = seed_ids(app)
    with sessions_of(app)() as session:
        participant = session.scalar(
            select(Message.participant_id).where(Message.message_id.like("<CF1A2E3B%"))
        )
        link = DecisionLink(decision_id=decision, thread_id=_thread, relation="other")
        session.add(link)
        session.commit()
        link_id = link.id
    other_user = make_user(app, "somebody", "viewer")
    return [
        ("create decision", "/decisions/new", {"title": "A new policy", "status": "proposed"}),
        (
            "edit decision",
            "/decisions/interoperability-first/edit",
            {"title": "Interoperability first", "status": "accepted", "decided_on": "2014-03-02"},
        ),
        ("suggest", "/decisions/interoperability-first/suggestions", {}),
        ("unlink", f"/decisions/interoperability-first/links/{link_id}/remove", {}),
        ("link thread", f"{SEED}/link", {"decision": decision, "relation": "discussion"}),
        ("link message", f"/m/{TROY}/link", {"decision": decision, "relation": "vote"}),
        ("tag thread", f"{SEED}/tags", {"tags": "interop"}),
        (
            "correct position",
            f"{SEED}/positions",
            {"participant": participant, "stance": "oppose", "note": "misread"},
        ),
        ("hide", f"/m/{TROY}/hide", {"note": "takedown request"}),
        ("create user", "/admin/users", {"name": "newbie", "role": "viewer", "password": PASSWORD}),
        ("update user", f"/admin/users/{other_user}", {"role": "editor", "active": "y"}),
    ]


EDITOR_REFUSED = {"create user", "update user"}


@pytest.mark.parametrize("role", [None, "viewer", "editor", "admin"])
def test_permissions_matrix(
    foundation_app: Flask, staff_client: StaffClient, role: str | None
) -> None:
    client = staff_client(role)
    for name, url, data in write_requests(foundation_app):
        response = client.post(url, data={"csrf_token": csrf_token(client), **data})
        refused = role in (None, "viewer") or (role == "editor" and name in EDITOR_REFUSED)
        if refused:
            assert response.status_code == 403, (role, name)
        else:
            assert response.status_code in (200, 302), (role, name, response.status_code)


def test_purging_is_for_admins_only(foundation_app: Flask, staff_client: StaffClient) -> None:
    editor = staff_client("editor")
    editor.post(f"/m/{TROY}/hide", data={"csrf_token": csrf_token(editor), "note": "request"})
    assert (
        editor.post(f"/m/{TROY}/purge", data={"csrf_token": csrf_token(editor)}).status_code == 403
    )
    admin = staff_client("admin")
    response = admin.post(
        f"/m/{TROY}/purge", data={"csrf_token": csrf_token(admin), "note": "gdpr"}
    )
    assert response.status_code == 302
    with sessions_of(foundation_app)() as session:
        tomb = session.scalars(select(Message).where(Message.message_id.like("<CF1A2E3B%"))).one()
        assert (tomb.purged, tomb.body, tomb.raw, tomb.from_address) == (True, "", b"", "")
        assert tomb.thread_id is not None
    anonymous = foundation_app.test_client()
    assert anonymous.get(f"/m/{TROY}").status_code == 410


def test_a_form_posted_without_its_csrf_token_is_refused(
    foundation_app: Flask, staff_client: StaffClient
) -> None:
    client = staff_client("editor")
    response = client.post("/decisions/new", data={"title": "No token", "status": "proposed"})
    assert response.status_code == 400
    with sessions_of(foundation_app)() as session:
        assert session.scalar(select(Decision).where(Decision.title == "No token")) is None


def test_anonymous_readers_see_decisions_but_no_edit_controls(
    foundation_client: FlaskClient,
) -> None:
    html = foundation_client.get("/decisions/interoperability-first").get_data(as_text=True)
    assert "Interoperability first" in html and "Board of Directors" in html
    assert "Edit" not in html and "Suggest discussions" not in html
    assert foundation_client.get("/decisions/new").status_code == 302  # to the sign-in page
    thread = foundation_client.get(SEED).get_data(as_text=True)
    assert "Link this thread" not in thread and "Correct a position" not in thread


def test_invalid_decisions_show_inline_errors(staff_client: StaffClient) -> None:
    client = staff_client("editor")
    response = client.post(
        "/decisions/new",
        data={
            "csrf_token": csrf_token(client),
            "title": "",
            "status": "accepted",
            "announced_by": "<nope@example.org>",
        },
    )
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert 'aria-invalid="true"' in html
    assert "This field is required." in html or "A decision needs a title." in html


def test_decision_fields_are_escaped_and_markdown_is_sanitised(staff_client: StaffClient) -> None:
    client = staff_client("editor")
    response = client.post(
        "/decisions/new",
        data={
            "csrf_token": csrf_token(client),
            "title": f"T {XSS}",
            "summary": XSS,
            "status": "accepted",
            "decided_on": "2014-03-01",
            "decided_by": XSS,
            "outcome": XSS,
            "rationale": XSS,
            "body_markdown": "**kept** [ok](https://example.org) "
            f"[bad](javascript:alert(1))\n\n{XSS}",
        },
    )
    assert response.status_code == 302
    for url in (response.headers["Location"], "/decisions", "/", "/decisions/feed.atom"):
        html = client.get(url).get_data(as_text=True)
        assert "<script>" not in html and "<img" not in html, url
    html = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "<strong>kept</strong>" in html
    assert 'href="https://example.org"' in html and 'href="javascript:' not in html


def test_linking_from_thread_and_message_shows_on_both_sides(
    foundation_app: Flask, staff_client: StaffClient
) -> None:
    decision, _, _ = seed_ids(foundation_app)
    client = staff_client("editor")
    client.post(
        f"{SEED}/link",
        data={
            "csrf_token": csrf_token(client),
            "decision": decision,
            "relation": "discussion",
            "note": "the debate",
        },
    )
    client.post(
        f"/m/{TROY}/link",
        data={"csrf_token": csrf_token(client), "decision": decision, "relation": "vote"},
    )
    page = (
        foundation_app.test_client().get("/decisions/interoperability-first").get_data(as_text=True)
    )
    assert "the debate" in page and "The two types of interoperability" in page
    assert "Troy Toman: The two types of interoperability" in page
    assert "Who argued what" in page and "simpler first steps" in page
    assert "Interoperability first" in foundation_app.test_client().get(SEED).get_data(as_text=True)
    assert "Interoperability first" in foundation_app.test_client().get(f"/m/{TROY}").get_data(
        as_text=True
    )


def test_every_change_is_an_event_in_the_history_and_the_audit(
    foundation_app: Flask, staff_client: StaffClient
) -> None:
    decision, _, _ = seed_ids(foundation_app)
    editor = staff_client("editor")
    editor.post(
        "/decisions/interoperability-first/edit",
        data={
            "csrf_token": csrf_token(editor),
            "title": "Interoperability first",
            "status": "accepted",
            "decided_on": "2014-03-05",
            "outcome": "Adopted",
        },
    )
    editor.post(
        f"{SEED}/link",
        data={"csrf_token": csrf_token(editor), "decision": decision, "relation": "proposal"},
    )
    editor.post(f"{SEED}/tags", data={"csrf_token": csrf_token(editor), "tags": "interop"})
    with sessions_of(foundation_app)() as session:
        kinds = [e.kind for e in session.scalars(select(DecisionEvent).order_by(DecisionEvent.id))]
        updated = session.scalars(
            select(DecisionEvent).where(DecisionEvent.kind == "decision.updated")
        ).one()
    assert kinds[-3:] == ["decision.updated", "link.added", "thread.tagged"]
    assert updated.changes["decided_on"] == ["2014-03-01", "2014-03-05"]
    assert updated.changes["outcome"] == ["", "Adopted"]
    page = (
        foundation_app.test_client().get("/decisions/interoperability-first").get_data(as_text=True)
    )
    assert "· editor · decision.updated" in page and "editor-user" not in page  # role only
    staff_page = editor.get("/decisions/interoperability-first").get_data(as_text=True)
    assert "· editor-user · decision.updated" in staff_page
    admin = staff_client("admin")
    audit = admin.get("/admin/audit").get_data(as_text=True)
    assert "thread.tagged" in audit and "editor-user" in audit
    assert staff_client("viewer").get("/admin/audit").status_code == 403


def test_a_staff_correction_shows_and_survives_recomputation(
    foundation_app: Flask, staff_client: StaffClient
) -> None:
    _, thread, _ = seed_ids(foundation_app)
    client = staff_client("editor")
    with sessions_of(foundation_app)() as session:
        troy = session.scalar(
            select(Message.participant_id).where(Message.message_id.like("<CF1A2E3B%"))
        )
    client.post(
        f"{SEED}/positions",
        data={
            "csrf_token": csrf_token(client),
            "participant": troy,
            "stance": "concern",
            "note": "reads as conditional",
        },
    )
    with sessions_of(foundation_app)() as session:
        derive_positions(session, [thread], active_model(settings_of(foundation_app).home))
        session.commit()
    html = foundation_app.test_client().get(SEED).get_data(as_text=True)
    panel = html[html.index("positions-h") :]
    row = re.search(r"Troy Toman</a></td>\s*<td[^>]*>(.*?)</td>", panel, re.S)
    assert row and "concern" in row.group(1) and "corrected by staff" in row.group(1)


def test_hidden_messages_are_410_for_the_public_but_staff_can_restore(
    foundation_app: Flask, staff_client: StaffClient
) -> None:
    editor = staff_client("editor")
    editor.post(f"/m/{TROY}/hide", data={"csrf_token": csrf_token(editor), "note": "request"})
    assert foundation_app.test_client().get(f"/m/{TROY}").status_code == 410
    staff_view = editor.get(f"/m/{TROY}")
    assert staff_view.status_code == 200 and "Hidden from the public" in staff_view.get_data(
        as_text=True
    )
    editor.post(f"/m/{TROY}/restore", data={"csrf_token": csrf_token(editor)})
    assert foundation_app.test_client().get(f"/m/{TROY}").status_code == 200


def test_a_hidden_message_is_not_counted_in_its_thread(
    foundation_app: Flask, staff_client: StaffClient
) -> None:
    editor = staff_client("editor")
    count = re.compile(r"(\d+) messages?, ")
    before = int(count.findall(foundation_app.test_client().get(SEED).get_data(as_text=True))[0])
    editor.post(f"/m/{TROY}/hide", data={"csrf_token": csrf_token(editor), "note": "request"})
    hidden = foundation_app.test_client().get(SEED).get_data(as_text=True)
    assert int(count.findall(hidden)[0]) == before - 1
    editor.post(f"/m/{TROY}/restore", data={"csrf_token": csrf_token(editor)})
    restored = foundation_app.test_client().get(SEED).get_data(as_text=True)
    assert int(count.findall(restored)[0]) == before


def test_tag_pages_list_tagged_decisions_and_threads(
    foundation_app: Flask, staff_client: StaffClient
) -> None:
    editor = staff_client("editor")
    editor.post(f"{SEED}/tags", data={"csrf_token": csrf_token(editor), "tags": "Interop, defcore"})
    html = foundation_app.test_client().get("/tags/interop").get_data(as_text=True)
    assert "Interoperability first" in html and "The two types of interoperability" in html
    assert foundation_app.test_client().get("/tags/nothing-here").status_code == 404


def test_decision_index_filters_and_downloads(foundation_app: Flask) -> None:
    with sessions_of(foundation_app)() as session:
        create_decision(
            session,
            DecisionFields(
                title="Release cadence", status="deferred", decided_by="Technical Committee"
            ),
            None,
        )
        session.commit()
    client = foundation_app.test_client()
    html = client.get("/decisions?status=deferred").get_data(as_text=True)
    assert "Release cadence" in html and "Interoperability first" not in html
    assert "Interoperability first" in client.get("/decisions?tag=interop").get_data(as_text=True)
    assert "Release cadence" not in client.get("/decisions?year=2014").get_data(as_text=True)
    assert "Release cadence" in client.get("/decisions?q=cadence").get_data(as_text=True)
    rows = client.get("/decisions.csv?body=Technical+Committee").get_data(as_text=True).splitlines()
    assert rows[0].startswith("slug,title") and len(rows) == 2
    records = json.loads(client.get("/decisions.json").get_data(as_text=True))
    assert {r["slug"] for r in records} == {"interoperability-first", "release-cadence"}


def test_export_decisions_prints_json_lines_with_links(foundation_app: Flask) -> None:
    decision, thread, _ = seed_ids(foundation_app)
    with sessions_of(foundation_app)() as session:
        session.add(DecisionLink(decision_id=decision, thread_id=thread, relation="discussion"))
        session.commit()
    result = run_cli(foundation_app, "export", "decisions")
    record = json.loads(result.stdout.splitlines()[0])
    assert record["slug"] == "interoperability-first"
    assert record["tags"] == ["interop"]
    assert record["links"][0]["thread_id"] == "<1391522712.2459.12.camel@sorcha.example>"
    assert record["links"][0]["list"] == "foundation"


def test_sign_in_is_throttled_after_repeated_failures(foundation_app: Flask) -> None:
    make_user(foundation_app, "ada", "admin")
    client = foundation_app.test_client()
    for _ in range(5):
        response = client.post(
            "/login",
            data={"csrf_token": csrf_token(client), "name": "ada", "password": "wrong password!"},
        )
        assert response.status_code == 401
    response = client.post(
        "/login", data={"csrf_token": csrf_token(client), "name": "ada", "password": PASSWORD}
    )
    assert response.status_code == 429


def test_users_create_command_hashes_the_password(foundation_app: Flask) -> None:
    result = run_cli(
        foundation_app,
        "users",
        "create",
        "grace",
        "--role",
        "editor",
        "--password-stdin",
        input=f"{PASSWORD}\n",
    )
    assert result.exit_code == 0, result.output
    with sessions_of(foundation_app)() as session:
        user = session.scalars(select(User).where(User.name == "grace")).one()
    assert user.role == "editor" and PASSWORD not in user.password_hash
    assert user.password_hash.startswith("scrypt:")
    bad = run_cli(
        foundation_app,
        "users",
        "create",
        "x",
        "--role",
        "editor",
        "--password-stdin",
        input="short\n",
    )
    assert bad.exit_code == 2 and "at least" in bad.stderr


def test_session_cookies_are_httponly_and_samesite(foundation_app: Flask) -> None:
    client = foundation_app.test_client()
    make_user(foundation_app, "cookie", "viewer")
    response = client.post(
        "/login", data={"csrf_token": csrf_token(client), "name": "cookie", "password": PASSWORD}
    )
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_staff_see_whole_addresses_where_readers_see_them_obfuscated(
    foundation_client: FlaskClient, staff_client: StaffClient
) -> None:
    anonymous = foundation_client.get(SEED).get_data(as_text=True)
    assert ">troy.toman at rackspace.com<" in anonymous
    staff = staff_client("viewer").get(SEED).get_data(as_text=True)
    assert ">troy.toman@rackspace.com<" in staff
