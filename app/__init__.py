"""Quorum's web application and everything that owns the database and the index."""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask_wtf.csrf import CSRFProtect

from app import db
from app.api import register_api
from app.index_sync import keep_index_in_step
from app.numbers import BoundedInteger
from app.responses import init_responses
from app.search.pg_documents import keep_vectors_in_step
from app.secret_key import home_secret_key
from app.settings import load_settings
from app.web import register_web


def create_app(config_overrides: dict[str, Any] | None = None) -> Flask:
    """Build the app from settings (file < QUORUM_* environment < `config_overrides`)."""
    settings = load_settings(config_overrides)
    app = Flask(__name__, template_folder="web/templates", static_folder="web/static")
    app.config["SECRET_KEY"] = settings.secret_key or home_secret_key(settings.home)
    app.config["QUORUM"] = settings
    # Session cookies: never readable by scripts, not sent on cross-site requests, and only
    # over HTTPS outside development.
    app.config.update(
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.production,
        REMEMBER_COOKIE_HTTPONLY=True,
        REMEMBER_COOKIE_SAMESITE="Lax",
        REMEMBER_COOKIE_SECURE=settings.production,
        WTF_CSRF_TIME_LIMIT=None,
    )
    if not settings.database_url:
        settings.home.mkdir(parents=True, exist_ok=True)
    db.init_app(app, db.make_engine(settings.sqlalchemy_url))

    if settings.search.backend == "postgres":
        keep_vectors_in_step(app.extensions["quorum.sessionmaker"])
    else:
        keep_index_in_step(app.extensions["quorum.sessionmaker"], settings.index_dir)

    # Before any route is added: rules bind their converters when they are registered.
    app.url_map.converters.update(int=BoundedInteger, id=BoundedInteger)
    # Every form that changes something carries a CSRF token; the token-authenticated API
    # is exempt.
    csrf = CSRFProtect(app)
    register_web(app)
    register_api(app, csrf)
    init_responses(app)
    return app
