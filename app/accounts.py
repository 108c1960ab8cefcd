"""Staff accounts: creation, password checks with a modern KDF, sign-in throttling, and
ending every session of an account."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from app.governance import ValidationError, record
from app.models import ROLES, LoginAttempt, User, utcnow

MIN_PASSWORD = 10
THROTTLE_WINDOW = timedelta(minutes=15)
#: Failed sign-ins allowed within the window (see `throttled` for why these three).
PAIR_FAILURES = 5
ADDRESS_FAILURES = 20
ACCOUNT_FAILURES = 20
# Checking a password against a dummy hash when the name is unknown keeps the response time
# the same, so timing does not tell which account names exist.
_DUMMY_HASH = generate_password_hash("not a real password", method="scrypt")


def hash_password(password: str) -> str:
    return generate_password_hash(password, method="scrypt")


class Throttled(Exception):
    """Too many recent failed sign-ins: the attempt was not checked."""


def login_name(name: str) -> str:
    """The account a typed name means, the one form every lookup and count uses. Surrounding
    spaces go (a name is one word, so they were never part of it). Case stays: names are
    case-sensitive, so a guess at "ADA" can never open "ada" and need not count against it."""
    return name.strip()


def create_user(
    session: Session, name: str, role: str, password: str, by_user_id: int | None = None
) -> User:
    errors = {}
    name = login_name(name)
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
    changes: dict[str, list[str | bool]] = {}
    if user.role != role:
        changes["role"] = [user.role, role]
        user.role = role
    if user.active != active:
        changes["active"] = [user.active, active]
        user.active = active
        if not active:
            # Reactivating the account later must not revive the sessions it had.
            end_sessions(session, user.id)
    if changes:
        record(
            session,
            "user.updated",
            by_user_id,
            subject_type="user",
            subject_id=user.id,
            changes=changes,
        )


def end_sessions(session: Session, user_id: int) -> None:
    """Every session cookie issued to the user stops working (see `User.session_generation`).

    Sessions live in signed cookies, so the server cannot delete one; it can only stop
    accepting it. A per-user generation does that without a session store, at the price that
    signing out in one browser signs the user out in all of them."""
    session.execute(
        update(User)
        .where(User.id == user_id)
        .values(session_generation=User.session_generation + 1)
    )


def throttled(session: Session, name: str, remote_addr: str, *, known_browser: bool) -> bool:
    """Whether a sign-in as `name` from `remote_addr` must wait, from the recent failures.

    Three counts, each against its own limit within `THROTTLE_WINDOW`:

    - this name from this address (`PAIR_FAILURES`): one guesser at one account;
    - anything from this address (`ADDRESS_FAILURES`): one guesser trying many names;
    - this name from everywhere (`ACCOUNT_FAILURES`): guessing spread over many addresses.

    Counting the name alone would let a stranger lock the owner out from anywhere, so the
    account-wide count spares a browser the account has signed in from before
    (`known_browser`), and one address can never reach it by itself: the pair limit stops
    it first. A distributed guesser is then capped per account, while the owner's own
    browser still gets in."""
    since = utcnow() - THROTTLE_WINDOW

    def failures(*conditions: Any) -> int:
        counted = select(func.count()).where(LoginAttempt.at >= since, *conditions)
        return session.scalar(counted) or 0

    here = LoginAttempt.remote_addr == remote_addr[:64]
    return (
        failures(here, LoginAttempt.name == name) >= PAIR_FAILURES
        or failures(here) >= ADDRESS_FAILURES
        or (not known_browser and failures(LoginAttempt.name == name) >= ACCOUNT_FAILURES)
    )


def sign_in(
    session: Session,
    name: str,
    password: str,
    remote_addr: str,
    *,
    browser_account: str | None = None,
) -> User | None:
    """The active user with that name and password, or None (and the failure is counted);
    `Throttled` when too many failures came first. `browser_account` is the account the
    browser proved it signed in to before, if any. The caller commits.

    The name is normalised once, here, so the throttle counts exactly the account the
    password is checked against."""
    name = login_name(name)
    if throttled(session, name, remote_addr, known_browser=browser_account == name):
        raise Throttled
    user = session.scalar(select(User).where(User.name == name))
    if user is None or not user.active:
        check_password_hash(_DUMMY_HASH, password)
        ok = False
    else:
        ok = check_password_hash(user.password_hash, password)
    if not ok:
        session.add(LoginAttempt(name=name[:100], remote_addr=remote_addr[:64]))
        session.execute(delete(LoginAttempt).where(LoginAttempt.at < utcnow() - THROTTLE_WINDOW))
        return None
    return user
