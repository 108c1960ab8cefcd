"""The web app: its blueprints, template filters and staff sign-in. It stands beside the JSON
API (app.api), neither importing the other; app.create_app registers both."""

from __future__ import annotations

from flask import Flask

from app.web import (
    admin_lists,
    admin_sources,
    auth,
    browse,
    decisions,
    feeds,
    filters,
    messages,
    people,
    review,
    search_page,
    staff,
    tokens_page,
)


def register_web(app: Flask) -> None:
    """The pages, their filters and staff sign-in (which the API's tokens then join)."""
    for blueprint in (
        browse.bp,
        messages.bp,
        people.bp,
        feeds.bp,
        decisions.bp,
        staff.bp,
        review.bp,
        admin_lists.bp,
        admin_sources.bp,
        search_page.bp,
        tokens_page.bp,
    ):
        app.register_blueprint(blueprint)
    filters.register(app)
    auth.init_login(app)
