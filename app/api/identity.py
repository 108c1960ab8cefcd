"""Who is calling the API: a bearer token names a staff user, whose role then counts exactly
as on the web (app.permissions). Writes take the token only, never the session cookie, so
no other site can make a signed-in browser write (the API is exempt from CSRF forms)."""

from __future__ import annotations

from datetime import timedelta

from flask import Flask, current_app, g, request
from sqlalchemy import func, select

from app.access import StaffUser
from app.api.problems import Problem, is_api_path
from app.api_tokens import user_for_token
from app.db import db_session
from app.models import DecisionEvent, utcnow
from app.permissions import allowed
from app.settings import settings_of

_CHALLENGE = 'Bearer realm="quorum"'
RATE_WINDOW = timedelta(minutes=1)


def token_user() -> StaffUser | None:
    """The user of the request's bearer token (once per request), None without a header;
    a header that names no valid token is a 401 problem, not an anonymous request."""
    if "api_user" in g:
        cached: StaffUser | None = g.api_user
        return cached
    g.api_user = None
    header = request.headers.get("Authorization")
    if header is None:
        return None
    scheme, _, secret = header.partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        raise Problem(
            401,
            "Send the token as 'Authorization: Bearer <token>'.",
            headers={"WWW-Authenticate": _CHALLENGE},
        )
    session = db_session()
    user = user_for_token(session, secret.strip())
    if user is None:
        session.rollback()
        raise Problem(
            401,
            "The token is unknown or revoked, or its user is inactive.",
            headers={"WWW-Authenticate": f'{_CHALLENGE}, error="invalid_token"'},
        )
    session.commit()
    staff = StaffUser(user.id, user.name, user.role)
    g.api_user = staff
    return staff


def require(action: str) -> StaffUser:
    """The token's user, if their role allows `action` and they are within the write rate
    limit; else 401, 403 or 429."""
    user = token_user()
    if user is None:
        raise Problem(
            401,
            "Writes need an API token: 'Authorization: Bearer <token>'.",
            headers={"WWW-Authenticate": _CHALLENGE},
        )
    if not allowed(user.role, action):
        raise Problem(403, f"The {user.role} role may not {action.replace('_', ' ')}.")
    _check_rate(user)
    return user


def _check_rate(user: StaffUser) -> None:
    """At most `api.writes_per_minute` writes per user. Writes are counted in the append-only
    history every write adds to, so the limit holds across all worker processes."""
    limit = settings_of(current_app).api.writes_per_minute
    since = utcnow() - RATE_WINDOW
    recent = db_session().scalar(
        select(func.count()).where(
            DecisionEvent.user_id == user.id,
            DecisionEvent.created_at > since,
            DecisionEvent.subject_type != "user",  # account changes are not API writes
        )
    )
    if (recent or 0) >= limit:
        raise Problem(
            429,
            f"At most {limit} writes a minute; try again shortly.",
            headers={"Retry-After": str(int(RATE_WINDOW.total_seconds()))},
        )


def init_identity(app: Flask) -> None:
    """Tokens authenticate API requests for Flask-Login too, so the web's read rules
    (app.access) apply to token holders unchanged."""

    def _from_token(_request: object) -> StaffUser | None:
        return token_user() if is_api_path(request.path) else None

    # Flask-Login's init_app keeps its manager on the app, an attribute Flask does not declare.
    app.login_manager.request_loader(_from_token)  # type: ignore[attr-defined]
