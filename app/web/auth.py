"""Staff identity for the web: Flask-Login sessions, sign-in with throttling, sign-out, and
the role checks every staff view goes through."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, Flask, abort, redirect, render_template, request, url_for
from flask_login import LoginManager, UserMixin, current_user, login_user, logout_user
from werkzeug.wrappers import Response

from app.accounts import authenticate, throttled
from app.models import User
from app.permissions import allowed

bp = Blueprint("auth", __name__)


@dataclass(frozen=True)
class StaffUser(UserMixin):  # type: ignore[misc]
    id: int
    name: str
    role: str

    def get_id(self) -> str:
        return str(self.id)


def current_role() -> str | None:
    return current_user.role if getattr(current_user, "is_authenticated", False) else None


def can(action: str) -> bool:
    return allowed(current_role(), action)


def current_user_id() -> int | None:
    return current_user.id if getattr(current_user, "is_authenticated", False) else None


def requires(action: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Staff-only views: anonymous readers are sent to sign in, others get 403."""

    def decorate(view: Callable[..., Any]) -> Callable[..., Any]:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if current_role() is None:
                if request.method == "GET":
                    return redirect(url_for("auth.login", next=request.full_path))
                abort(403)
            if not can(action):
                abort(403)
            return view(*args, **kwargs)

        return wrapped

    return decorate


def _safe_next(target: str | None) -> str:
    """Only same-site paths: a crafted ?next= must not send a signed-in user elsewhere."""
    if target and target.startswith("/") and not target.startswith("//"):
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc:
            return target
    return url_for("browse.home")


@bp.route("/login", methods=["GET", "POST"])
def login() -> str | Response | tuple[str, int]:
    from app.web import db_session
    from app.web.forms import LoginForm

    form = LoginForm(next=request.args.get("next", ""))
    error = None
    if form.validate_on_submit():
        session = db_session()
        remote = request.remote_addr or "unknown"
        if throttled(session, form.name.data, remote):
            return render_template(
                "login.html",
                form=form,
                error="Too many failed attempts. Wait 15 minutes and try again.",
            ), 429
        user = authenticate(session, form.name.data, form.password.data, remote)
        session.commit()
        if user is not None:
            login_user(StaffUser(user.id, user.name, user.role))
            return redirect(_safe_next(form.next.data))
        error = "Wrong user name or password."
    return render_template("login.html", form=form, error=error), (401 if error else 200)


@bp.post("/logout")
def logout() -> Response:
    from app.web.forms import ActionForm

    if not ActionForm().validate_on_submit():
        abort(400)
    logout_user()
    return redirect(url_for("browse.home"))


def init_login(app: Flask) -> None:
    manager = LoginManager()
    manager.init_app(app)
    manager.login_view = "auth.login"
    app.register_blueprint(bp)

    @manager.user_loader
    def _load(user_id: str) -> StaffUser | None:
        from app.web import db_session

        if not user_id.isdigit():
            return None
        user = db_session().get(User, int(user_id))
        if user is None or not user.active:
            return None
        return StaffUser(user.id, user.name, user.role)

    @app.context_processor
    def _staff() -> dict[str, Any]:
        from app.web.forms import ActionForm

        return {
            "can": can,
            "staff_name": current_user.name if current_role() else None,
            "action_form": ActionForm,
        }
