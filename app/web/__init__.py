"""The web app's blueprints, request-scoped database sessions and security headers."""

from __future__ import annotations

from flask import Flask, Response, g
from sqlalchemy.orm import Session, sessionmaker


def db_session() -> Session:
    """The request's session, opened on first use and closed when the request ends."""
    if "db" not in g:
        sessions: sessionmaker[Session] = g.quorum_sessions
        g.db = sessions()
    session: Session = g.db
    return session


def register_web(app: Flask) -> None:
    from app.web import browse, filters

    app.register_blueprint(browse.bp)
    filters.register(app)

    @app.before_request
    def _bind_sessions() -> None:
        g.quorum_sessions = app.extensions["quorum.sessionmaker"]

    @app.teardown_appcontext
    def _close_session(_exc: BaseException | None) -> None:
        session = g.pop("db", None)
        if session is not None:
            session.close()

    @app.after_request
    def _security_headers(response: Response) -> Response:
        response.headers.setdefault(
            "Content-Security-Policy",
            "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
            "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'",
        )
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault("X-Frame-Options", "DENY")
        return response
