"""Errors on API paths as problem details (RFC 9457, ``application/problem+json``).

A client of the API never gets an HTML error page: the app's error handlers ask
`is_api_path` and answer with `problem_response` instead. Views raise `Problem` for errors
that carry more than a status: a detail sentence, field errors, extra headers.
"""

from __future__ import annotations

from http import HTTPStatus

from flask import Response, json, request
from werkzeug.exceptions import HTTPException

API_PREFIX = "/api/"
PROBLEM_JSON = "application/problem+json"


class Problem(Exception):
    """An API error: the status, a sentence for the client, and optionally one message per
    invalid field (the ``errors`` member) and headers such as Retry-After."""

    def __init__(
        self,
        status: int,
        detail: str,
        *,
        errors: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.errors = errors
        self.headers = headers or {}


def is_api_path(path: str) -> bool:
    return path == API_PREFIX.rstrip("/") or path.startswith(API_PREFIX)


def problem_response(
    status: int,
    detail: str | None = None,
    *,
    errors: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    """The problem document: ``type`` is about:blank, so ``title`` is the status phrase."""
    body: dict[str, object] = {
        "type": "about:blank",
        "title": HTTPStatus(status).phrase,
        "status": status,
        "instance": request.path,
    }
    if detail:
        body["detail"] = detail
    if errors:
        body["errors"] = errors
    response = Response(json.dumps(body), status=status, mimetype=PROBLEM_JSON)
    response.headers.update(headers or {})
    return response


def from_problem(problem: Problem) -> Response:
    return problem_response(
        problem.status, problem.detail, errors=problem.errors, headers=problem.headers
    )


def from_http_exception(error: HTTPException) -> Response:
    """A werkzeug error (routing 404/405, bad JSON, abort()) as a problem; keeps the headers
    that matter to clients, such as Allow on 405."""
    status = error.code or 500
    kept = {k: v for k, v in error.get_headers() if k.lower() in ("allow", "retry-after")}
    return problem_response(status, error.description, headers=kept)
