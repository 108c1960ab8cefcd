"""The JSON API under /api/v1/: the archive, positions, search, decisions and tags for
researchers and integrators, with an OpenAPI 3.1 document describing exactly that.

Reads follow the pages' visibility rules (app.access); writes go through the same
domain services and role table as the web forms (app.governance, app.permissions).
"""

from __future__ import annotations

from flask import Blueprint, Flask, Response, request
from flask_wtf.csrf import CSRFProtect

from app.api.identity import init_identity, token_user
from app.api.problems import Problem, from_problem

bp = Blueprint("api", __name__, url_prefix="/api/v1")

#: Reads may come from any origin (the data is public or token-protected, never
#: cookie-protected across sites); writes get no CORS headers, so browsers on other sites
#: cannot send them.
READ_METHODS = ("GET", "HEAD", "OPTIONS")
CORS_READ = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Methods": ", ".join(READ_METHODS),
    "Access-Control-Allow-Headers": "Authorization",
    "Access-Control-Expose-Headers": "Link, Retry-After",
    "Access-Control-Max-Age": "86400",
}


@bp.before_request
def _authenticate() -> None:
    """A bad token is refused up front, whether or not the view asks who is calling."""
    token_user()


@bp.after_request
def _cors_and_vary(response: Response) -> Response:
    if request.method in READ_METHODS:
        response.headers.update(CORS_READ)
    # What a reader sees depends on their token: no cache may serve one caller's answer
    # to another.
    response.vary.add("Authorization")
    return response


def register_api(app: Flask, csrf: CSRFProtect) -> None:
    """The API's routes, answered with tokens rather than the session cookie, and so exempt
    from `csrf` (which the web's forms need). Registered after the web app: tokens join
    its Flask-Login identity (app.access rules then apply to both alike)."""
    from app.api import archive, decisions, docs, positions, search  # noqa: F401 (routes)

    app.register_blueprint(bp)
    app.register_error_handler(Problem, from_problem)
    csrf.exempt(bp)
    init_identity(app)
