"""The page where staff manage their own API tokens: create one (its secret is shown once,
in that response only — never stored, flashed or put in a cookie) and revoke old ones."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_wtf import FlaskForm
from sqlalchemy import select
from werkzeug.wrappers import Response
from wtforms import StringField
from wtforms.validators import Length, Optional

from app.api_tokens import issue_token, revoke_token, tokens_of
from app.db import db_session
from app.models import ApiToken, User
from app.web.auth import current_user_id, requires
from app.web.forms import ActionForm

bp = Blueprint("api_tokens", __name__)


class TokenForm(FlaskForm):  # type: ignore[misc]  # Flask-WTF is untyped
    label = StringField("What is it for?", validators=[Optional(), Length(max=100)])


def _me() -> User:
    user = db_session().get(User, current_user_id())
    if user is None:
        abort(403)
    return user


@bp.route("/account/tokens", methods=["GET", "POST"])
@requires("read_private")
def tokens() -> str:
    session = db_session()
    user = _me()
    form = TokenForm()
    secret = None
    if form.validate_on_submit():
        _, secret = issue_token(session, user, form.label.data or "", user.id)
        session.commit()
        form = TokenForm(formdata=None)
    return render_template(
        "api_tokens.html", tokens=tokens_of(session, user), form=form, secret=secret
    )


@bp.post("/account/tokens/<int:token_id>/revoke")
@requires("read_private")
def revoke(token_id: int) -> Response:
    if not ActionForm().validate_on_submit():
        abort(400)
    session = db_session()
    token = session.scalar(
        select(ApiToken).where(ApiToken.id == token_id, ApiToken.user_id == current_user_id())
    )
    if token is None:
        abort(404)
    revoke_token(session, token, current_user_id())
    session.commit()
    flash("Token revoked.")
    return redirect(url_for("api_tokens.tokens"))
