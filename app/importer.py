"""The ingest command's engine: archives on disk → parsed messages → stored batches.

Sources and parsing are pure (``ingest``); this module owns the transactions. Every path is
checked before anything is written, so a typo on the command line changes nothing.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker
from tqdm import tqdm

from app.models import IngestRun, utcnow
from app.positions import derive_positions
from app.search import index_threads
from app.settings import Settings
from app.store import Account, BatchStore, Outcome
from ingest.parse import parse_message
from ingest.records import RawMessage, RejectedMessage
from ingest.sources import SourceError, detect_format, iter_archive, list_files

log = logging.getLogger(__name__)


def plan(paths: list[Path], fmt: str) -> tuple[list[tuple[Path, str]], list[str]]:
    """(file, format) for every archive under `paths`, and the files found in folders that
    are not mail (a README beside the archives). Raises SourceError before any write when a
    named path is missing, unreadable or not mail."""
    archives: list[tuple[Path, str]] = []
    ignored: list[str] = []
    for path, explicit in list_files(paths):
        if fmt != "auto":
            archives.append((path, fmt))
            continue
        try:
            archives.append((path, detect_format(path)))
        except SourceError:
            if explicit:
                raise
            ignored.append(str(path))
    return archives, ignored


def outcomes_of(raw_messages: Iterator[RawMessage]) -> Iterator[Outcome]:
    """Parse each raw message; hostile input becomes a rejection with its reason, never a
    crash of the whole ingest."""
    for raw in raw_messages:
        try:
            yield Outcome(raw, parsed=parse_message(raw))
        except RejectedMessage as exc:
            yield Outcome(raw, reason=exc.reason)
        except Exception as exc:  # a parser bug must not lose the message: quarantine it
            yield Outcome(raw, reason=f"parser error: {type(exc).__name__}: {exc}")


def run_ingest(
    sessions: sessionmaker[Session],
    settings: Settings,
    paths: list[Path],
    list_name: str | None = None,
    fmt: str = "auto",
    progress: bool | None = None,
) -> Account:
    files, ignored = plan(paths, fmt)
    account = Account(ignored_files=ignored)
    show_bar = sys.stderr.isatty() if progress is None else progress
    batch_size = settings.ingest.batch_size
    with sessions() as session:
        run = IngestRun(paths=[str(p) for p in paths], list_name=list_name)
        session.add(run)
        session.commit()
        store = BatchStore(
            session,
            settings.quarantine_dir,
            list_name,
            settings.ingest.subject_window_days,
            run_id=run.id,
        )
        bar = tqdm(total=len(files), unit="file", disable=not show_bar, dynamic_ncols=True)
        try:
            # Batches run across files: a folder of single-message files commits as rarely
            # as one big mbox does.
            batch: list[Outcome] = []
            read = 0
            started = time.monotonic()
            for done, (path, file_format) in enumerate(files, 1):
                for outcome in outcomes_of(iter_archive(path, file_format)):
                    read += 1
                    batch.append(outcome)
                    if len(batch) >= batch_size:
                        _commit_batch(session, store, batch, account, run, settings.index_dir)
                        batch = []
                        bar.set_postfix(_rate(read, started), refresh=False)
                bar.update(1)
                bar.set_postfix(_rate(read, started))
                if not show_bar:
                    log.info("%s: %d/%d files, %d messages read", path, done, len(files), read)
            _commit_batch(session, store, batch, account, run, settings.index_dir)
        finally:
            bar.close()
        run.finished_at = utcnow()
        session.commit()
    return account


def _rate(read: int, started: float) -> dict[str, str]:
    """The progress bar's figures: messages read so far and per second."""
    elapsed = max(time.monotonic() - started, 1e-6)
    return {"messages": str(read), "msg/s": f"{read / elapsed:.0f}"}


def _commit_batch(
    session: Session,
    store: BatchStore,
    batch: list[Outcome],
    account: Account,
    run: IngestRun,
    index_dir: Path,
) -> None:
    """One atomic step: the batch's messages, threads, positions and the run's counts;
    then the search index catches up with the threads it touched."""
    if not batch:
        return
    try:
        touched = store.store(batch, account)
        derive_positions(session, touched)
        for key in ("read", "stored", "duplicate", "skipped", "rejected"):
            setattr(run, key, getattr(account, key))
        run.per_file = {k: dict(v) for k, v in account.per_file.items()}
        session.commit()
    except BaseException:
        session.rollback()
        raise
    # After the commit: the index is derived from what the database now holds.
    index_threads(session, index_dir, touched)
