"""The JSON API under /api/v1/: the archive, positions, search, decisions and tags for
researchers and integrators, with an OpenAPI 3.1 document describing exactly that.

Reads follow the pages' visibility rules (app.access); writes go through the same
domain services and role table as the web forms (app.governance, app.permissions).
"""

from __future__ import annotations

from flask import Flask
from flask_wtf.csrf import CSRFProtect

# The route modules are imported for the views they add to the blueprint.
from app.api import archive, decisions, docs, positions, search  # noqa: F401
from app.api.blueprint import bp
from app.api.identity import init_identity
from app.api.problems import Problem, from_problem


def register_api(app: Flask, csrf: CSRFProtect) -> None:
    """The API's routes, answered with tokens rather than the session cookie, and so exempt
    from `csrf` (which the web's forms need). Registered after the web app: tokens join
    its Flask-Login identity (app.access rules then apply to both alike)."""
    app.register_blueprint(bp)
    app.register_error_handler(Problem, from_problem)
    csrf.exempt(bp)
    init_identity(app)
