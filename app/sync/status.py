"""What `quorum sources` and the admin page show: every source, configured or once
configured, with its health, counts and how far it has read."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.message_store import OUTCOMES
from app.models import Source
from app.settings import Settings
from app.sync.runner import configured_sources, iso_utc


@dataclass
class SourceRow:
    list_name: str
    key: str
    kind: str
    #: "never synced", "ok", "failing" or "no longer configured".
    state: str
    failures: int = 0
    last_success_at: datetime | None = None
    last_error: str | None = None
    last_error_at: datetime | None = None
    next_attempt_at: datetime | None = None
    position: str = ""
    counts: dict[str, int] | None = None

    def as_dict(self) -> dict[str, object]:
        return {
            "list": self.list_name,
            "source": self.key,
            "type": self.kind,
            "state": self.state,
            "failures": self.failures,
            "last_success_at": iso_utc(self.last_success_at),
            "last_error": self.last_error,
            "last_error_at": iso_utc(self.last_error_at),
            "next_attempt_at": iso_utc(self.next_attempt_at),
            "position": self.position,
            **(self.counts or dict.fromkeys(("read", *OUTCOMES), 0)),
        }


def source_rows(session: Session, settings: Settings) -> list[SourceRow]:
    """The configured sources in settings order, then the rows of sources since removed
    from the settings (their history is kept)."""
    rows = {(r.list_name, r.key): r for r in session.scalars(select(Source))}
    shown: list[SourceRow] = []
    for list_name, source in configured_sources(settings, None):
        row = rows.pop((list_name, source.key), None)
        shown.append(_shown(list_name, source.key, source.kind, row, configured=True))
    for (list_name, key), row in sorted(rows.items()):
        shown.append(_shown(list_name, key, row.kind, row, configured=False))
    return shown


def _shown(list_name: str, key: str, kind: str, row: Source | None, configured: bool) -> SourceRow:
    if row is None:
        return SourceRow(list_name, key, kind, "never synced")
    if not configured:
        state = "no longer configured"
    elif row.failures:
        state = "failing"
    elif row.last_success_at is None:
        state = "never synced"
    else:
        state = "ok"
    return SourceRow(
        list_name,
        key,
        kind,
        state,
        failures=row.failures,
        last_success_at=row.last_success_at,
        last_error=row.last_error,
        last_error_at=row.last_error_at,
        next_attempt_at=row.next_attempt_at if row.failures else None,
        position=describe_cursor(kind, row.cursor or {}),
        counts={key: getattr(row, key) for key in ("read", *OUTCOMES)},
    )


def describe_cursor(kind: str, cursor: dict[str, Any]) -> str:
    """How far a source has read, in a few words."""
    if kind == "pipermail":
        months = cursor.get("months", {})
        return f"{len(months)} months seen" if months else ""
    if kind == "imap" and "uidvalidity" in cursor:
        return f"UIDVALIDITY {cursor['uidvalidity']}, UID {cursor.get('last_uid', 0)}"
    if kind == "maildir" and cursor.get("mtime_ns"):
        moment = datetime.fromtimestamp(cursor["mtime_ns"] / 1e9, UTC)
        return f"files up to {moment.strftime('%Y-%m-%d %H:%M:%S')} UTC"
    if kind == "mbox-url":
        parts = [f"{k} {cursor[k]}" for k in ("since", "etag", "last_modified") if cursor.get(k)]
        return ", ".join(parts)
    return ""
