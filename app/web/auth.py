"""Staff identity for the web: Flask-Login sessions, sign-in with throttling, sign-out that
ends the session for good, the role checks every staff view goes through, and keeping
what a signed-in user sees out of caches."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    Flask,
    abort,
    current_app,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import LoginManager, current_user, login_user, logout_user
from itsdangerous import BadSignature, URLSafeSerializer
from werkzeug.wrappers import Response

from app.access import StaffUser, can, current_role
from app.accounts import Throttled, end_sessions, sign_in
from app.db import db_session
from app.models import User
from app.web.forms import ActionForm, LoginForm

bp = Blueprint("auth", __name__)

#: The session key holding the user's session generation at sign-in.
GENERATION_KEY = "quorum_generation"
#: A long-lived cookie naming the account this browser last signed in to (signed, so it
#: cannot be made up): such a browser is spared the account-wide sign-in throttle.
KNOWN_BROWSER_COOKIE = "quorum_known_browser"
KNOWN_BROWSER_DAYS = 365


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
    form = LoginForm(next=request.args.get("next", ""))
    error = None
    if form.validate_on_submit():
        db = db_session()
        try:
            user = sign_in(
                db,
                form.name.data,
                form.password.data,
                request.remote_addr or "unknown",
                browser_account=_known_browser_account(),
            )
        except Throttled:
            return render_template(
                "login.html",
                form=form,
                error="Too many failed attempts. Wait 15 minutes and try again.",
            ), 429
        db.commit()
        if user is not None:
            login_user(StaffUser(user.id, user.name, user.role))
            session[GENERATION_KEY] = user.session_generation
            response = redirect(_safe_next(form.next.data))
            _remember_browser(response, user.name)
            return response
        error = "Wrong user name or password."
    return render_template("login.html", form=form, error=error), (401 if error else 200)


@bp.post("/logout")
def logout() -> Response:
    if not ActionForm().validate_on_submit():
        abort(400)
    user_id = current_user_id()
    if user_id is not None:
        db = db_session()
        end_sessions(db, user_id)
        db.commit()
    logout_user()
    return redirect(url_for("browse.home"))


def _browser_signer() -> URLSafeSerializer:
    # create_app always sets it; Flask's `secret_key` property is typed as possibly unset.
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=KNOWN_BROWSER_COOKIE)


def _known_browser_account() -> str | None:
    """The account this browser signed in to before, if its cookie is genuine."""
    cookie = request.cookies.get(KNOWN_BROWSER_COOKIE)
    if cookie is None:
        return None
    try:
        name = _browser_signer().loads(cookie)
    except BadSignature:
        return None
    return name if isinstance(name, str) else None


def _remember_browser(response: Response, name: str) -> None:
    response.set_cookie(
        KNOWN_BROWSER_COOKIE,
        _browser_signer().dumps(name),
        max_age=KNOWN_BROWSER_DAYS * 24 * 3600,
        httponly=True,
        samesite="Lax",
        secure=current_app.config["SESSION_COOKIE_SECURE"],
    )


def init_login(app: Flask) -> None:
    manager = LoginManager()
    manager.init_app(app)
    manager.login_view = "auth.login"
    app.register_blueprint(bp)

    def _load(user_id: str) -> StaffUser | None:
        if not user_id.isdigit():
            return None
        user = db_session().get(User, int(user_id))
        if user is None or not user.active:
            return None
        if session.get(GENERATION_KEY) != user.session_generation:
            return None  # a session from before a sign-out or deactivation
        return StaffUser(user.id, user.name, user.role)

    manager.user_loader(_load)

    @app.after_request
    def _private_pages_are_not_stored(response: Response) -> Response:
        """What a signed-in user gets (staff pages, private lists, a new token's secret) must
        not stay in a browser's or a proxy's cache for the next user of the machine.
        Anonymous pages are the same for everyone and stay cacheable. A request that
        carries credentials counts as signed in whether or not they are valid: loading the
        user here could raise (a malformed token header) after the response was made."""
        if "Authorization" in request.headers or session.get("_user_id") is not None:
            response.headers["Cache-Control"] = "no-store"
        return response

    @app.context_processor
    def _staff() -> dict[str, Any]:
        return {
            "can": can,
            "staff_name": current_user.name if current_role() else None,
            "action_form": ActionForm,
        }
