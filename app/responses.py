"""What every response shares, page or API: requests naming something with a NUL are
refused, errors are answered in the asker's format (an error page, or an API problem), and
security headers are set. One place, so the web app and the API cannot drift apart."""

from __future__ import annotations

import logging

from flask import Flask, Response, abort, render_template, request
from werkzeug.exceptions import HTTPException

from app.api.problems import from_http_exception, is_api_path, problem_response

log = logging.getLogger(__name__)

CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
)


def init_responses(app: Flask) -> None:
    @app.before_request
    def _refuse_nul() -> None:
        """Nothing is named with a NUL, and PostgreSQL cannot even look one up: a NUL in
        the path names nothing (404), one in a query string or a form is no value any page
        takes (400). The API checks its own parameters and answers with problems."""
        if is_api_path(request.path):
            return
        if "\x00" in request.path:
            abort(404)
        for key, value in (*request.args.items(multi=True), *request.form.items(multi=True)):
            if "\x00" in key or "\x00" in value:
                abort(400)

    @app.errorhandler(HTTPException)
    def _http_error(error: HTTPException) -> tuple[str, int] | Response:
        if is_api_path(request.path):
            return from_http_exception(error)
        code = error.code or 500
        template = f"errors/{code}.html" if code in (404, 410) else "errors/generic.html"
        return render_template(template, error=error), code

    @app.errorhandler(Exception)
    def _server_error(error: Exception) -> tuple[str, int] | Response:
        # Never a traceback for the reader; the log has it for the operator.
        log.exception("unhandled error on %s", request.path, exc_info=error)
        if is_api_path(request.path):
            return problem_response(500)
        return render_template("errors/500.html"), 500

    @app.after_request
    def _security_headers(response: Response) -> Response:
        response.headers.setdefault("Content-Security-Policy", CSP)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault("X-Frame-Options", "DENY")
        return response
