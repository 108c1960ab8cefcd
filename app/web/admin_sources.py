"""The admin page of `quorum sources`: where each list's mail comes from, whether the last
pass worked, what failed and when the next attempt is due."""

from __future__ import annotations

from flask import Blueprint, current_app, render_template

from app.db import db_session
from app.settings import settings_of
from app.sync.runner import utc_text
from app.sync.status import source_rows
from app.web.auth import requires

bp = Blueprint("sources_admin", __name__)


@bp.get("/admin/sources")
@requires("view_sources")
def sources() -> str:
    rows = source_rows(db_session(), settings_of(current_app))
    return render_template("admin/sources.html", rows=rows, when=utc_text)
