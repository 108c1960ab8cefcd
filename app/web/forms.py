"""Flask-WTF forms: every form posts with a CSRF token; validation messages show inline.
The link form's decisions are read from the database when it is made (`link_form`), for
the thread and message pages that show it and the staff views that take it."""

from __future__ import annotations

from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import (
    BooleanField,
    DateField,
    HiddenField,
    PasswordField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional

from app.db import db_session
from app.models import DECISION_STATUSES, LINK_RELATIONS, ROLES, STANCES, Decision
from app.settings import VISIBILITIES


class LoginForm(FlaskForm):  # type: ignore[misc]  # Flask-WTF is untyped
    name = StringField("User name", validators=[DataRequired(), Length(max=100)])
    password = PasswordField("Password", validators=[DataRequired()])
    next = HiddenField()


class ActionForm(FlaskForm):  # type: ignore[misc]  # Flask-WTF is untyped
    """A button that changes something: only its CSRF token and an optional note."""

    note = StringField("Note", validators=[Optional(), Length(max=2000)])


class DecisionForm(FlaskForm):  # type: ignore[misc]  # Flask-WTF is untyped
    title = StringField("Title", validators=[DataRequired(), Length(max=500)])
    summary = TextAreaField("Summary", validators=[Optional(), Length(max=5000)])
    body_markdown = TextAreaField("Body (Markdown)", validators=[Optional()])
    decided_by = StringField(
        "Decided by (e.g. Board of Directors)", validators=[Optional(), Length(max=200)]
    )
    status = SelectField("Status", choices=list(DECISION_STATUSES))
    decided_on = DateField("Decided on", validators=[Optional()])
    outcome = TextAreaField("Outcome", validators=[Optional()])
    rationale = TextAreaField("Rationale", validators=[Optional()])
    announced_by = StringField("Announced by (Message-ID)", validators=[Optional()])
    supersedes = StringField("Supersedes (slug of an earlier decision)", validators=[Optional()])
    tags = StringField("Tags (comma-separated)", validators=[Optional()])


class LinkForm(FlaskForm):  # type: ignore[misc]  # Flask-WTF is untyped
    decision = SelectField("Decision", coerce=int)
    relation = SelectField("Relation", choices=list(LINK_RELATIONS))
    note = StringField("Note", validators=[Optional(), Length(max=2000)])


def link_form() -> LinkForm:
    """The link form, its decision choices filled (newest first)."""
    form = LinkForm()
    form.decision.choices = [
        SelectChoice(str(d.id), d.title)
        for d in db_session().scalars(select(Decision).order_by(Decision.updated_at.desc()))
    ]
    return form


class TagsForm(FlaskForm):  # type: ignore[misc]  # Flask-WTF is untyped
    tags = StringField("Tags (comma-separated)", validators=[Optional(), Length(max=1000)])


class CorrectionForm(FlaskForm):  # type: ignore[misc]  # Flask-WTF is untyped
    participant = SelectField("Participant", coerce=int)
    stance = SelectField("Stance", choices=list(STANCES))
    vote = StringField("Vote (optional)", validators=[Optional(), Length(max=16)])
    note = StringField("Why", validators=[DataRequired(), Length(max=2000)])
    #: The database id of the message whose machine position is judged (the row's).
    message = HiddenField()


class UserForm(FlaskForm):  # type: ignore[misc]  # Flask-WTF is untyped
    name = StringField("User name", validators=[DataRequired(), Length(max=100)])
    role = SelectField("Role", choices=list(ROLES))
    password = PasswordField("Password", validators=[DataRequired()])


class UserUpdateForm(FlaskForm):  # type: ignore[misc]  # Flask-WTF is untyped
    role = SelectField("Role", choices=list(ROLES))
    active = BooleanField("Active")


class ListVisibilityForm(FlaskForm):  # type: ignore[misc]  # Flask-WTF is untyped
    visibility = SelectField("Visibility", choices=list(VISIBILITIES))
