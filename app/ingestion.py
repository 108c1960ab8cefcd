"""The ingest command's engine: archives on disk → parsed messages → stored batches.

Sources and parsing are pure (``ingest``); this module owns the transactions. Every path is
checked before anything is written, so a typo on the command line changes nothing.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Iterable, Iterator
from pathlib import Path

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker
from tqdm import tqdm

from app.message_store import Account, BatchStore, Outcome
from app.models import IngestRun, Message, utcnow
from app.positions import active_model, derive_positions
from app.search import index_threads
from app.search.background import BackgroundIndexer
from app.settings import Settings
from ingest.parse import parse_message
from ingest.records import RawMessage, RejectedMessage, SizeLimit
from ingest.sources import SourceError, detect_format, iter_archive, list_files
from ingest.stance_model import StanceModel

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
    positions: bool = True,
) -> Account:
    """Ingest the archives under ``paths`` in atomic batches. Without ``positions`` the
    stance model is not applied (``quorum positions recompute`` derives them later; the
    stance model's own build ingests this way, before any model of its features exists)."""
    files, ignored = plan(paths, fmt)
    show_bar = sys.stderr.isatty() if progress is None else progress
    with sessions() as session:
        ingestion = Ingestion(
            session, settings, [str(p) for p in paths], list_name, positions=positions
        )
        ingestion.account.ignored_files = ignored
        bar = tqdm(total=len(files), unit="file", disable=not show_bar, dynamic_ncols=True)
        try:
            started = time.monotonic()
            for done, (path, file_format) in enumerate(files, 1):
                for _ in ingestion.feed(iter_archive(path, file_format, ingestion.limit)):
                    bar.set_postfix(_rate(ingestion.read, started), refresh=False)
                bar.update(1)
                bar.set_postfix(_rate(ingestion.read, started))
                if not show_bar:
                    log.info(
                        "%s: %d/%d files, %d messages read", path, done, len(files), ingestion.read
                    )
            ingestion.finish()
        except BaseException:
            ingestion.abandon()
            raise
        finally:
            bar.close()
    return ingestion.account


class Ingestion:
    """One ingest run over any stream of raw messages: archives on disk, a download, an
    IMAP mailbox, one delivered message. Every caller goes through here, so mail from any
    source is accounted, threaded, given positions and indexed the same way.

    Batches run across calls to ``feed``: a folder of single-message files commits as
    rarely as one big mbox does. A batch is also committed once its messages reach the size
    limit in bytes: however many large messages an archive holds, memory holds about one's
    worth. ``commit`` ends a batch early, for a caller that records how far it got (a sync
    cursor) only once what it read is stored."""

    def __init__(
        self,
        session: Session,
        settings: Settings,
        paths: list[str],
        list_name: str | None,
        positions: bool = True,
    ) -> None:
        self.session = session
        self.account = Account()
        self.batch_size = settings.ingest.batch_size
        # Checked before anything is written: a damaged model stops the run at once.
        self.model = active_model(settings.home) if positions else None
        # Messages over the limit are spilled beside the quarantine they will be moved into.
        self.limit = SizeLimit(settings.ingest.max_message_bytes, settings.quarantine_dir)
        # The postgres search backend writes each message's vector in its own transaction.
        index_dir = settings.index_dir if settings.search.backend == "whoosh" else None
        catch_up(session, self.model, index_dir)
        self.run = IngestRun(paths=paths, list_name=list_name)
        session.add(self.run)
        session.commit()
        self.store = BatchStore(
            session,
            settings.quarantine_dir,
            list_name,
            settings.ingest.subject_window_days,
            run_id=self.run.id,
            lists=settings.lists,
        )
        self.stale = StaleThreads(self.model, index_dir, settings.ingest.index_every)
        self.batch: list[Outcome] = []
        self.batch_bytes = 0
        self.read = 0

    def feed(self, raw_messages: Iterable[RawMessage]) -> Iterator[None]:
        """Take each message in turn (yielding after each, for a progress bar); a full
        batch is committed on the way. Nothing is stored until the generator is run."""
        for outcome in outcomes_of(iter(raw_messages)):
            self.read += 1
            self.batch.append(outcome)
            self.batch_bytes += len(outcome.raw.data)
            if len(self.batch) >= self.batch_size or self.batch_bytes >= self.limit.max_bytes:
                self.commit()
            yield None

    def add(self, raw_messages: Iterable[RawMessage]) -> None:
        """``feed`` without the progress: take every message."""
        for _ in self.feed(raw_messages):
            pass

    def commit(self) -> None:
        """Store the pending batch now: once this returns, every message taken so far is
        in the database (its positions and index documents follow at ``finish``)."""
        self.stale.add(
            self.session,
            _commit_batch(self.session, self.store, self.batch, self.account, self.run),
            len(self.batch),
        )
        self.batch, self.batch_bytes = [], 0

    def discard(self) -> None:
        """Forget the messages taken since the last commit (the step that took them
        failed, and will be read again): they are neither stored nor counted."""
        self.batch, self.batch_bytes = [], 0

    def finish(self) -> Account:
        """Store what is pending and return once it is searchable."""
        self.commit()
        self.stale.flush(self.session)
        self.run.finished_at = self.run.indexed_at = utcnow()
        self.session.commit()
        return self.account

    def abandon(self) -> None:
        """The run is failing: stop background indexing (the next ingest catches up)."""
        self.stale.stop()


class StaleThreads:
    """Threads whose derived data (positions, then index documents) is behind their
    messages, brought up to date every `every` messages and at the end of the run.

    Deriving per step rather than per batch does each touched thread's work once however
    many batches added to it, and keeps the batches, the part that must be atomic, to
    storing. Positions come first because index documents carry them. Each index update
    writes a segment, so one per few thousand messages costs far less than one per batch.
    A run that gets that far hands its index updates to a background indexer and goes on
    storing while they are written (two cores do the work of one); a shorter run indexes
    once, at the end, in this process. What is stale when a run is killed is caught up by
    the next ingest (see ``catch_up``)."""

    def __init__(self, model: StanceModel | None, index_dir: Path | None, every: int) -> None:
        #: None: positions are not derived in this run (``--no-positions``).
        self.model = model
        #: None: there is no index to keep (the postgres backend).
        self.index_dir = index_dir
        self.every = every
        self.threads: set[int] = set()
        self.messages = 0
        self.worker: BackgroundIndexer | None = None

    def add(self, session: Session, threads: set[int], messages: int) -> None:
        self.threads |= threads
        self.messages += messages
        if self.messages >= self.every:
            _derive_positions(session, self.model, self.threads)
            if self.index_dir is not None:
                if self.worker is None:
                    engine = session.get_bind()
                    assert isinstance(engine, Engine)
                    self.worker = BackgroundIndexer(engine, self.index_dir)
                self.worker.submit(self.threads)
            self.threads, self.messages = set(), 0

    def flush(self, session: Session) -> None:
        """Bring what is pending up to date and return once the index has everything added
        so far."""
        _derive_positions(session, self.model, self.threads)
        if self.worker is not None:
            if self.threads:
                self.worker.submit(self.threads)
            self.worker.close()
            self.worker = None
        elif self.threads and self.index_dir is not None:
            index_threads(session, self.index_dir, self.threads)
        self.threads, self.messages = set(), 0

    def stop(self) -> None:
        """Abandon the background work (the run is failing): the next ingest catches up."""
        if self.worker is not None:
            self.worker.stop()
            self.worker = None


def _derive_positions(session: Session, model: StanceModel | None, threads: set[int]) -> None:
    """The positions of every message of ``threads``, in a transaction of their own."""
    if model is not None and threads:
        derive_positions(session, threads, model)
        session.commit()


def catch_up(session: Session, model: StanceModel | None, index_dir: Path | None) -> None:
    """Derive the positions and index the threads of runs that stopped before their
    derived data caught up (killed, or failing)."""
    stale = list(session.scalars(select(IngestRun).where(IngestRun.indexed_at.is_(None))))
    if not stale:
        return
    threads = {
        thread
        for thread in session.scalars(
            select(Message.thread_id)
            .where(Message.ingest_run_id.in_([r.id for r in stale]))
            .distinct()
        )
        if thread is not None
    }
    if threads:
        log.info(
            "bringing %d threads left by %d interrupted runs up to date", len(threads), len(stale)
        )
        _derive_positions(session, model, threads)
        if index_dir is not None:
            index_threads(session, index_dir, threads)
    for run in stale:
        run.indexed_at = utcnow()
    session.commit()


def _rate(read: int, started: float) -> dict[str, str]:
    """The progress bar's figures: messages read so far and per second."""
    elapsed = max(time.monotonic() - started, 1e-6)
    return {"messages": str(read), "msg/s": f"{read / elapsed:.0f}"}


def _commit_batch(
    session: Session, store: BatchStore, batch: list[Outcome], account: Account, run: IngestRun
) -> set[int]:
    """One atomic step: the batch's messages, threads and the run's counts. Returns the
    threads it touched, whose positions and index documents are now stale."""
    if not batch:
        return set()
    try:
        touched = store.store(batch, account)
        for key in ("read", "stored", "duplicate", "skipped", "rejected"):
            setattr(run, key, getattr(account, key))
        run.per_file = {k: dict(v) for k, v in account.per_file.items()}
        session.commit()
    except BaseException:
        session.rollback()
        raise
    return touched
