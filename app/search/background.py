"""Index updates in a child process, so that a long ingest goes on storing the next batches
on one core while the index catches up with the previous ones on another.

The child reads the committed rows itself, with its own connections, and takes the writer
lock for each job like any other writer. One job runs at a time and the next waits for it:
an ingest that outpaces the index is held back rather than piling up work. The child is
forked (it starts at once and needs no configuration), ignores Ctrl-C (the parent stops
it) and exits when the parent does, even when the parent is killed: a job cut short is
caught up by the next ingest, as are the jobs of a killed run.
"""

from __future__ import annotations

import multiprocessing
import pickle
import signal
import traceback
from collections.abc import Iterable
from multiprocessing.connection import Connection
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from app.search.index_store import SearchIndexError
from app.search.indexing import index_threads


class IndexWorkerFailed(SearchIndexError):
    """The child stopped without finishing a job (it died, or was killed)."""


class BackgroundIndexer:
    """A child process that indexes threads sent to it (``index_threads``), one job at a
    time."""

    def __init__(self, engine: Engine, index_dir: Path) -> None:
        context = multiprocessing.get_context("fork")
        self._jobs, child_end = context.Pipe()
        self._child = context.Process(
            target=_serve,
            args=(engine, index_dir, child_end, self._jobs),
            name="quorum-indexer",
            daemon=True,
        )
        self._child.start()
        child_end.close()
        self._busy = False

    def submit(self, thread_ids: Iterable[int]) -> None:
        """Queue these threads once the job before has finished (raising its error)."""
        self.wait()
        self._jobs.send(sorted(thread_ids))
        self._busy = True

    def wait(self) -> None:
        """Until the last job is done; its error is raised here."""
        if not self._busy:
            return
        try:
            outcome = self._jobs.recv()
        except EOFError:
            self._child.join()
            raise IndexWorkerFailed(
                f"the index worker stopped during an update (exit code {self._child.exitcode})."
                " The messages are stored: the next ingest indexes them, or run `quorum reindex`"
            ) from None
        finally:
            self._busy = False
        if isinstance(outcome, BaseException):
            raise outcome

    def close(self) -> None:
        """Wait for the last job, then let the child exit."""
        try:
            self.wait()
        finally:
            self._jobs.close()
            self._child.join()

    def stop(self) -> None:
        """End the child now, whatever it is doing (the parent is failing): Whoosh commits
        a segment by renaming its table of contents, so the index keeps its last commit."""
        self._child.terminate()
        self._child.join()
        self._jobs.close()


def _serve(engine: Engine, index_dir: Path, jobs: Connection, parent_end: Connection) -> None:
    # The parent's end is closed here so that the parent's death reads as end of input.
    parent_end.close()
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # Connections inherited from the parent belong to it; the child opens its own.
    engine.dispose(close=False)
    while True:
        try:
            thread_ids = jobs.recv()
        except EOFError:
            return
        try:
            with Session(engine) as session:
                outcome: int | BaseException = index_threads(session, index_dir, thread_ids)
        except Exception as exc:  # handed to the parent, which raises it
            outcome = _portable(exc)
        try:
            jobs.send(outcome)
        except BrokenPipeError:  # the parent is gone
            return


def _portable(exc: Exception) -> BaseException:
    """The error itself if it survives the trip to the parent, else its description."""
    try:
        copy: BaseException = pickle.loads(pickle.dumps(exc))
        return copy
    except Exception:
        return RuntimeError("".join(traceback.format_exception_only(exc)).strip())
