"""Per-user API tokens: issued once (the secret is shown to its owner and never stored),
looked up by the SHA-256 of the secret, revocable. Used by the CLI, the web and the API."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.governance import ValidationError, record
from app.models import ApiToken, User, utcnow

#: Recognisable in logs and secret scanners; the rest is 256 random bits.
PREFIX = "qrm_"
USE_RESOLUTION = timedelta(minutes=1)


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()


def issue_token(
    session: Session, user: User, label: str, by_user_id: int | None
) -> tuple[ApiToken, str]:
    """A new token for `user`: the row (flushed) and the secret, which only the caller sees.
    `by_user_id` is who issued it: the user in the app, None for the operator's command."""
    label = label.strip()
    if len(label) > 100:
        raise ValidationError({"label": "Keep the label under 100 characters."})
    secret = PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(user_id=user.id, label=label, token_hash=digest(secret), created_at=utcnow())
    session.add(token)
    session.flush()
    record(
        session,
        "token.created",
        by_user_id,
        subject_type="user",
        subject_id=user.id,
        changes={"token_id": token.id, "label": label},
    )
    return token, secret


def revoke_token(session: Session, token: ApiToken, by_user_id: int | None) -> None:
    if token.revoked_at is not None:
        return
    token.revoked_at = utcnow()
    record(
        session,
        "token.revoked",
        by_user_id,
        subject_type="user",
        subject_id=token.user_id,
        changes={"token_id": token.id, "label": token.label},
    )


def user_for_token(session: Session, secret: str) -> User | None:
    """The active user owning this unrevoked token, or None. Marks the token as used (to
    the minute: a busy client does not turn every read into a write)."""
    if not secret.startswith(PREFIX) or len(secret) > 200:
        return None
    row = session.execute(
        select(ApiToken, User)
        .join(User, User.id == ApiToken.user_id)
        .where(ApiToken.token_hash == digest(secret), ApiToken.revoked_at.is_(None))
    ).first()
    if row is None:
        return None
    token, user = row
    if not user.active:
        return None
    now, last = utcnow(), token.last_used_at
    if last is None or now - last > USE_RESOLUTION:
        token.last_used_at = now
    return user


def tokens_of(session: Session, user: User) -> list[ApiToken]:
    return list(
        session.scalars(
            select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.id.desc())
        )
    )
