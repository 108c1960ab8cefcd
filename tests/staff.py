"""Helpers for tests that act as staff: accounts, sign-in and CSRF tokens."""

from __future__ import annotations

import re

from flask import Flask
from flask.testing import FlaskClient

from app.accounts import create_user

PASSWORD = "correct horse battery"
_TOKEN = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')


def csrf_token(client: FlaskClient, url: str = "/login") -> str:
    html = client.get(url).get_data(as_text=True)
    match = _TOKEN.search(html)
    assert match, f"no CSRF token on {url}"
    return match.group(1)


def make_user(app: Flask, name: str, role: str) -> int:
    with app.extensions["quorum.sessionmaker"]() as session:
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
