"""The API's blueprint, under /api/v1/, with what every API request goes through: a bad
token is refused up front, reads get CORS headers, and every answer varies by token. The
route modules add their views to it; app.api registers it."""

from __future__ import annotations

from flask import Blueprint, Response, request

from app.api.identity import token_user

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
