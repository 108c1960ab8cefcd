"""Staff accounts: creation, password checks with a modern KDF, and sign-in throttling."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from app.governance import ValidationError, record
from app.models import ROLES, LoginAttempt, User, utcnow

MIN_PASSWORD = 10
THROTTLE_WINDOW = timedelta(minutes=15)
THROTTLE_FAILURES = 5
# Checking a password against a dummy hash when the name is unknown keeps the response time
# the same, so timing does not tell which account names exist.
_DUMMY_HASH = generate_password_hash("not a real password", method="scrypt")


def hash_password(password: str) -> str:
    return generate_password_hash(password, method="scrypt")


def create_user(
    session: Session, name: str, role: str, password: str, by_user_id: int | None = None
) -> User:
    errors = {}
    name = name.strip()
    if not name or len(name) > 100 or any(ch.isspace() for ch in name):
        errors["name"] = "A user name is one word of at most 100 characters."
    elif session.scalar(select(User.id).where(User.name == name)) is not None:
        errors["name"] = f"A user named {name!r} already exists."
    if role not in ROLES:
        errors["role"] = f"Role must be one of: {', '.join(ROLES)}."
    if len(password) < MIN_PASSWORD:
        errors["password"] = f"Passwords have at least {MIN_PASSWORD} characters."
    if errors:
        raise ValidationError(errors)
    user = User(name=name, role=role, password_hash=hash_password(password), active=True)
    session.add(user)
    session.flush()
    record(
        session,
        "user.created",
        by_user_id,
        subject_type="user",
        subject_id=user.id,
        changes={"name": name, "role": role},
    )
    return user


def update_user(
    session: Session, user: User, *, role: str, active: bool, by_user_id: int | None
) -> None:
    if role not in ROLES:
        raise ValidationError({"role": f"Role must be one of: {', '.join(ROLES)}."})
    changes = {}
    if user.role != role:
        changes["role"] = [user.role, role]
        user.role = role
    if user.active != active:
        changes["active"] = [user.active, active]
        user.active = active
    if changes:
        record(
            session,
            "user.updated",
            by_user_id,
            subject_type="user",
            subject_id=user.id,
            changes=changes,
        )


def throttled(session: Session, name: str, remote_addr: str) -> bool:
    """Too many recent failures for this account name or from this address."""
    since = utcnow() - THROTTLE_WINDOW
    failures = session.scalar(
        select(func.count()).where(
            LoginAttempt.at >= since,
            (LoginAttempt.name == name) | (LoginAttempt.remote_addr == remote_addr),
        )
    )
    return (failures or 0) >= THROTTLE_FAILURES


def authenticate(session: Session, name: str, password: str, remote_addr: str) -> User | None:
    """The active user with that name and password, or None (and the failure is counted).

    The caller checks `throttled` first and commits afterwards."""
    user = session.scalar(select(User).where(User.name == name.strip()))
    if user is None or not user.active:
        check_password_hash(_DUMMY_HASH, password)
        ok = False
    else:
        ok = check_password_hash(user.password_hash, password)
    if not ok:
        session.add(LoginAttempt(name=name.strip()[:100], remote_addr=remote_addr[:64]))
        session.execute(delete(LoginAttempt).where(LoginAttempt.at < utcnow() - THROTTLE_WINDOW))
        return None
    return user
