"""Staff identity for the web: Flask-Login loads the signed-in account for each request.

Anonymous readers have no account; every role (viewer, editor, admin) may read private lists.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import Flask
from flask_login import LoginManager, UserMixin

from app.models import User


@dataclass(frozen=True)
class StaffUser(UserMixin):  # type: ignore[misc]
    id: int
    name: str
    role: str

    def get_id(self) -> str:
        return str(self.id)


def init_login(app: Flask) -> None:
    manager = LoginManager()
    manager.init_app(app)

    @manager.user_loader
    def _load(user_id: str) -> StaffUser | None:
        from app.web import db_session

        if not user_id.isdigit():
            return None
        user = db_session().get(User, int(user_id))
        if user is None or not user.active:
            return None
        return StaffUser(user.id, user.name, user.role)
