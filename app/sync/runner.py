"""A `quorum sync` pass: every configured source pulled through the one ingest path.

Each source keeps a row (app.models.Source) with its cursor and health. A pass over one
source is one ingest run: the messages go through ``Ingestion`` (accounted, threaded,
positions, indexed before the pass returns) and the cursor moves in the same transaction
as the messages it covers. A source that fails is recorded with its error and left alone
for a while that doubles with each failure in a row, so a broken source is reported and
never retried in a hot loop, while the others go on.
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from app.ingestion import Ingestion
from app.message_store import OUTCOMES, Account
from app.models import Source, utcnow
from app.settings import Settings
from app.source_settings import SourceSettings
from app.sync.errors import SyncError
from app.sync.http import HttpClient, Retry
from app.sync.imap import pull_imap
from app.sync.maildir import pull_maildir
from app.sync.sink import Sink
from app.sync.web_archives import pull_mbox_url, pull_pipermail
from ingest.records import RawMessage, SizeLimit

log = logging.getLogger(__name__)

Puller = Callable[[SourceSettings, dict[str, Any], Sink], None]
PULLERS: dict[str, Puller] = {
    "pipermail": pull_pipermail,
    "mbox-url": pull_mbox_url,
    "imap": pull_imap,
    "maildir": pull_maildir,
}


@dataclass
class SourceReport:
    """What one pass did with one source: ``status`` is "ok", "failed" (this pass) or
    "waiting" (failing, not retried before ``next_attempt_at``)."""

    list_name: str
    key: str
    kind: str
    status: str
    account: Account | None = None
    error: str | None = None
    next_attempt_at: datetime | None = None

    def as_dict(self) -> dict[str, object]:
        account = self.account or Account()
        return {
            "list": self.list_name,
            "source": self.key,
            "type": self.kind,
            "status": self.status,
            "error": self.error,
            "next_attempt_at": iso_utc(self.next_attempt_at),
            **{key: getattr(account, key) for key in ("read", *OUTCOMES)},
            "rejections": account.rejections,
        }

    def describe(self) -> str:
        """The pass for a terminal: the source's account, or why it failed."""
        head = f"{self.list_name}  {self.key}"
        if self.status == "waiting":
            return f"{head}  waiting until {utc_text(self.next_attempt_at)} after: {self.error}"
        account = self.account or Account()
        line = (
            f"{head}  read {account.read} = stored {account.stored}"
            f" + duplicate {account.duplicate} + skipped {account.skipped}"
            f" + rejected {account.rejected}"
        )
        if self.status == "failed":
            line += (
                f"\n  FAILED: {self.error} (next attempt after {utc_text(self.next_attempt_at)})"
            )
        return line


class _SourceSink:
    """The Sink a puller writes into: the pass's ingestion and the source's row.

    A cursor is set on the row only once every message it covers has been taken, and is
    written by the next batch commit, together with the last of those messages (or with
    later ones): the database never holds a cursor ahead of its mail. Batches run across
    months and chunks as they do across files in `quorum ingest`."""

    def __init__(
        self,
        ingestion: Ingestion,
        row: Source,
        list_name: str,
        limit: SizeLimit,
        workdir: Path,
        retry: Retry,
    ) -> None:
        self.ingestion = ingestion
        self.row = row
        self.list_name = list_name
        self.limit = limit
        self.workdir = workdir
        self.retry = retry
        self.http = HttpClient(retry)

    def take(self, raw_messages: Iterable[RawMessage], cursor: dict[str, Any]) -> None:
        self.ingestion.add(raw_messages)
        self.row.cursor = cursor

    def save_cursor(self, cursor: dict[str, Any]) -> None:
        if cursor != self.row.cursor:  # most months of most passes are unchanged
            self.row.cursor = cursor


def configured_sources(
    settings: Settings, list_name: str | None
) -> list[tuple[str, SourceSettings]]:
    """(list, source) for every source in the settings, or the named list's."""
    return [
        (name, source)
        for name, declared in sorted(settings.lists.items())
        if list_name is None or name == list_name
        for source in declared.sources
    ]


def sync_pass(
    sessions: sessionmaker[Session],
    settings: Settings,
    list_name: str | None = None,
    force: bool = False,
) -> list[SourceReport]:
    """Pull every configured source (of ``list_name``) once. Sources that are waiting after
    a failure are skipped unless ``force``."""
    return [
        _pull(sessions, settings, name, source, force)
        for name, source in configured_sources(settings, list_name)
    ]


def _pull(
    sessions: sessionmaker[Session],
    settings: Settings,
    list_name: str,
    source: SourceSettings,
    force: bool,
) -> SourceReport:
    with sessions() as session:
        row = _row(session, list_name, source)
        now = utcnow()
        if not force and row.next_attempt_at is not None and row.next_attempt_at > now:
            return SourceReport(
                list_name, source.key, source.kind, "waiting", None, row.last_error,
                row.next_attempt_at,
            )  # fmt: skip
        row.last_attempt_at = now
        session.commit()
        ingestion = Ingestion(session, settings, [source.key], list_name)
        error = _run_puller(session, settings, ingestion, row, list_name, source)
        try:
            account = ingestion.finish()
        except BaseException:
            ingestion.abandon()
            raise
        _record(session, settings, row, ingestion, account, error, now)
        session.commit()
        status = "ok" if error is None else "failed"
        return SourceReport(
            list_name, source.key, source.kind, status, account, error, row.next_attempt_at
        )


def _row(session: Session, list_name: str, source: SourceSettings) -> Source:
    row = session.scalar(
        select(Source).where(Source.list_name == list_name, Source.key == source.key)
    )
    if row is None:
        row = Source(
            list_name=list_name, key=source.key, kind=source.kind, cursor={}, failures=0,
            read=0, stored=0, duplicate=0, skipped=0, rejected=0,
        )  # fmt: skip
        session.add(row)
        session.commit()
    return row


def _run_puller(
    session: Session,
    settings: Settings,
    ingestion: Ingestion,
    row: Source,
    list_name: str,
    source: SourceSettings,
) -> str | None:
    """Run the source's puller; the error that stopped it, if any. What it stored before
    the error stays stored, and its cursor with it."""
    limit = SizeLimit(settings.ingest.max_message_bytes, settings.quarantine_dir)
    retry = Retry(
        settings.sync.attempts, settings.sync.retry_wait_seconds, settings.sync.timeout_seconds
    )
    with tempfile.TemporaryDirectory(prefix="quorum-sync-") as workdir:
        sink = _SourceSink(ingestion, row, list_name, limit, Path(workdir), retry)
        try:
            PULLERS[source.kind](source, dict(row.cursor or {}), sink)
        except SyncError as exc:
            # The source failed, not Quorum: what it brought in before is whole (complete
            # months, fetched chunks) and is stored with its cursor by ``finish``.
            return str(exc)
        except Exception as exc:  # a pass must not stop the others: record it, go on
            log.exception("sync of %s failed", source.key)
            # Quorum itself failed (the database, say): what was taken but not committed is
            # dropped, and read again next time from the cursor that was not moved.
            session.rollback()
            ingestion.discard()
            return f"{source.key}: {type(exc).__name__}: {exc}"
        finally:
            sink.http.close()
    return None


def _record(
    session: Session,
    settings: Settings,
    row: Source,
    ingestion: Ingestion,
    account: Account,
    error: str | None,
    now: datetime,
) -> None:
    """The pass's counts and health on the source's row."""
    for key in ("read", *OUTCOMES):
        setattr(row, key, getattr(row, key) + getattr(account, key))
    if error is None:
        row.failures = 0
        row.last_success_at = now
        row.next_attempt_at = None
    else:
        row.failures += 1
        row.last_error, row.last_error_at = error, now
        row.next_attempt_at = now + backoff(settings, row.failures)
        log.warning("sync failed: %s (next attempt after %s)", error, row.next_attempt_at)
    if account.read == 0:
        # Passes that find nothing new leave no ingest run behind (a timer runs many).
        session.delete(ingestion.run)


def backoff(settings: Settings, failures: int) -> timedelta:
    """How long a source is left alone after ``failures`` failed passes in a row."""
    seconds = settings.sync.backoff_seconds * 2 ** min(failures - 1, 30)
    return timedelta(seconds=min(seconds, settings.sync.max_backoff_seconds))


def iso_utc(moment: datetime | None) -> str | None:
    """A stored (naive UTC) time for JSON output."""
    return None if moment is None else moment.isoformat(timespec="seconds") + "Z"


def utc_text(moment: datetime | None) -> str:
    """A stored (naive UTC) time for people."""
    return "-" if moment is None else f"{moment:%Y-%m-%d %H:%M:%S} UTC"
