"""The admin page that makes lists private or public: the web side of `quorum lists`,
going through the same audited change (app.lists)."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, url_for
from sqlalchemy import select
from werkzeug.wrappers import Response

from app.db import db_session
from app.lists import list_rows, set_visibility
from app.models import MailingList
from app.settings import settings_of
from app.web.auth import current_user_id, requires
from app.web.forms import ListVisibilityForm

bp = Blueprint("lists_admin", __name__)


@bp.get("/admin/lists")
@requires("manage_lists")
def lists() -> str:
    rows = list_rows(db_session(), settings_of(current_app).lists)
    return render_template("admin/lists.html", rows=rows, form=ListVisibilityForm)


@bp.post("/admin/lists/<name>")
@requires("manage_lists")
def update(name: str) -> Response:
    session = db_session()
    mailing_list = session.scalar(select(MailingList).where(MailingList.name == name))
    if mailing_list is None:
        abort(404)
    form = ListVisibilityForm()
    if not form.validate_on_submit():
        abort(400)
    if set_visibility(session, mailing_list, form.visibility.data, current_user_id()):
        session.commit()
        flash(f"{mailing_list.name} is now {form.visibility.data}.")
    return redirect(url_for("lists_admin.lists"))
