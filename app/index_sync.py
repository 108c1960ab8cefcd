"""Keep the search index in step with staff changes.

Ingest indexes what each batch touched (app.ingestion). Staff changes — hiding a message,
tagging a thread, linking a decision, correcting a position — go through app.governance,
which notes the threads they touch in the session; once that transaction commits, their
documents are rewritten here, so every writer (web form, API, CLI) gets it without
remembering to. A purge also has the old documents erased from the index files.
"""

from __future__ import annotations

import logging
from pathlib import Path

from sqlalchemy import event
from sqlalchemy.orm import Session, sessionmaker

from app.governance import ERASED, TOUCHED_THREADS
from app.search import SearchIndexError, index_threads

log = logging.getLogger(__name__)

#: A web request must not hang behind a long reindex; an ingest releases the lock between
#: batches, well within this.
STAFF_WRITER_TIMEOUT = 60.0


def keep_index_in_step(sessions: sessionmaker[Session], index_dir: Path) -> None:
    @event.listens_for(sessions, "after_commit")
    def _reindex(session: Session) -> None:
        touched = session.info.pop(TOUCHED_THREADS, None)
        erase = session.info.pop(ERASED, False)
        if not touched:
            return
        # The committed session cannot run SQL any more: read through a fresh one.
        with sessions() as reader:
            try:
                index_threads(reader, index_dir, touched, timeout=STAFF_WRITER_TIMEOUT, erase=erase)
            except SearchIndexError:
                log.exception(
                    "search index not updated for threads %s: run `quorum reindex`", sorted(touched)
                )

    @event.listens_for(sessions, "after_rollback")
    def _forget(session: Session) -> None:
        session.info.pop(TOUCHED_THREADS, None)
        session.info.pop(ERASED, None)
