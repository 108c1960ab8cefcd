"""Ingest keeps positions and the search index in step, in few large updates (the index's
written by a background process while the ingest goes on), and an interrupted run's threads
are brought up to date by the next ingest."""

from __future__ import annotations

import multiprocessing
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import ClassVar

import pytest
from flask import Flask
from sqlalchemy import func, select

from app import create_app, ingestion
from app import positions as positions_module
from app.db import upgrade
from app.models import IngestRun, Position
from app.search import index_of, search
from app.search.background import BackgroundIndexer
from tests.helpers import EXAMPLES, mail, mbox, run_cli, sessions_of


def one_message(path: Path, mid: str, word: str) -> Path:
    path.write_text(
        f"From a@example.org Mon Jan  6 10:00:00 2014\nFrom: A <a@example.org>\n"
        f"Subject: {word}\nMessage-ID: <{mid}@example.org>\n"
        f"Date: Mon, 6 Jan 2014 10:00:00 +0000\n\nAbout {word}.\n"
    )
    return path


def found(app: Flask, query: str) -> int:
    return search(index_of(app), query).total


def test_an_ingest_makes_everything_it_stored_searchable(sqlite_app: Flask) -> None:
    run_cli(sqlite_app, "ingest", str(EXAMPLES / "foundation"))
    assert found(sqlite_app, "supportive") == 1
    assert found(sqlite_app, "interoperability") == 5


def test_an_interrupted_runs_threads_are_indexed_by_the_next_ingest(
    sqlite_app: Flask, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run_cli(sqlite_app, "ingest", str(one_message(tmp_path / "a.mbox", "a", "alpha")))

    def killed(self: ingestion.StaleThreads, session: object) -> None:
        raise KeyboardInterrupt  # the process dies after committing, before indexing

    with monkeypatch.context() as patch:
        patch.setattr(ingestion.StaleThreads, "flush", killed)
        interrupted = run_cli(sqlite_app, "ingest", str(EXAMPLES / "foundation"))
        assert interrupted.exit_code != 0
    assert found(sqlite_app, "supportive") == 0  # stored, not yet indexed

    run_cli(sqlite_app, "ingest", str(one_message(tmp_path / "b.mbox", "b", "beta")))
    assert found(sqlite_app, "supportive") == 1
    assert found(sqlite_app, "beta") == 1


@pytest.fixture
def index_every_10(database_url: str, tmp_path: Path) -> Iterator[Flask]:
    """An app (each database) committing every 5 messages and updating the index every 10."""
    app = create_app(
        {
            "home": str(tmp_path / "home"),
            "database_url": database_url,
            "ingest": {"batch_size": 5, "index_every": 10},
        }
    )
    upgrade(app.extensions["quorum.engine"])
    yield app
    app.extensions["quorum.engine"].dispose()


class RecordingIndexer(BackgroundIndexer):
    """The real background indexer, noting what it was given."""

    started: ClassVar[list[RecordingIndexer]] = []

    def __init__(self, *args: object) -> None:
        super().__init__(*args)  # type: ignore[arg-type]
        self.jobs: list[set[int]] = []
        RecordingIndexer.started.append(self)

    def submit(self, thread_ids: Iterable[int]) -> None:
        self.jobs.append(set(thread_ids))
        super().submit(thread_ids)


@pytest.fixture
def recorded(monkeypatch: pytest.MonkeyPatch) -> list[RecordingIndexer]:
    RecordingIndexer.started = []
    monkeypatch.setattr(ingestion, "BackgroundIndexer", RecordingIndexer)
    return RecordingIndexer.started


def runs(app: Flask) -> list[IngestRun]:
    with sessions_of(app)() as session:
        return list(session.scalars(select(IngestRun).order_by(IngestRun.id)))


def test_a_long_ingest_is_indexed_by_one_background_process_and_ends_complete(
    index_every_10: Flask,
    tmp_path: Path,
    recorded: list[RecordingIndexer],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def not_here(*_args: object) -> int:
        raise AssertionError("the ingest process itself indexed")

    monkeypatch.setattr(ingestion, "index_threads", not_here)
    result = run_cli(index_every_10, "ingest", str(mbox(tmp_path / "a.mbox", 43)), "--list", "l")
    assert result.exit_code == 0, result.output
    [indexer] = recorded
    assert [len(job) for job in indexer.jobs] == [10, 10, 10, 10, 3]  # one thread per message
    assert search(index_of(index_every_10), "common").total == 43
    assert runs(index_every_10)[-1].indexed_at is not None
    assert multiprocessing.active_children() == []


def test_a_short_ingest_indexes_in_its_own_process(
    index_every_10: Flask, tmp_path: Path, recorded: list[RecordingIndexer]
) -> None:
    run_cli(index_every_10, "ingest", str(mbox(tmp_path / "a.mbox", 9)), "--list", "l")
    assert recorded == []
    assert search(index_of(index_every_10), "common").total == 9


def test_a_run_that_fails_while_the_background_process_indexes_is_caught_up(
    index_every_10: Flask,
    tmp_path: Path,
    recorded: list[RecordingIndexer],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def killed(self: ingestion.StaleThreads, session: object) -> None:
        raise KeyboardInterrupt  # Ctrl-C after the last batch, before the index caught up

    with monkeypatch.context() as patch:
        patch.setattr(ingestion.StaleThreads, "flush", killed)
        interrupted = run_cli(
            index_every_10, "ingest", str(mbox(tmp_path / "a.mbox", 43)), "--list", "l"
        )
        assert interrupted.exit_code != 0
    assert len(recorded) == 1
    assert multiprocessing.active_children() == []  # the indexer was stopped with the run
    assert search(index_of(index_every_10), "common").total < 43
    assert runs(index_every_10)[-1].indexed_at is None

    run_cli(index_every_10, "ingest", str(one_message(tmp_path / "b.mbox", "b", "beta")))
    assert search(index_of(index_every_10), "common").total == 43
    assert all(run.indexed_at is not None for run in runs(index_every_10))


def one_thread(path: Path, count: int) -> Path:
    """A proposal and `count - 1` replies to it, one minute apart."""
    path.write_text(
        "\n".join(
            mail(
                f"<t{i}@thread.example.org>",
                f"Writer {i % 4} <w{i % 4}@thread.example.org>",
                "Re: Plan" if i else "Plan",
                f"Wed, 5 Feb 2014 10:{i:02d}:00 +0000",
                f"Reply {i}: sounds good to me." if i else "Shall we adopt the plan?",
                reply_to="<t0@thread.example.org>" if i else None,
            )
            for i in range(count)
        )
    )
    return path


def positions(app: Flask) -> int:
    with sessions_of(app)() as session:
        return session.scalar(select(func.count()).select_from(Position)) or 0


def test_a_threads_positions_are_derived_once_per_index_step_not_once_per_batch(
    index_every_10: Flask, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    derived: list[set[int]] = []
    real = ingestion.derive_positions

    def recording(session: object, thread_ids: Iterable[int], model: object) -> int:
        derived.append(set(thread_ids))
        return real(session, thread_ids, model)  # type: ignore[arg-type]

    monkeypatch.setattr(ingestion, "derive_positions", recording)
    result = run_cli(index_every_10, "ingest", str(one_thread(tmp_path / "t.mbox", 20)))
    assert result.exit_code == 0, result.output
    # Four batches of five added to the thread; it was derived at 10 messages and at the end.
    assert len(derived) == 2 and len(derived[0] | derived[1]) == 1
    assert positions(index_every_10) == 20


def test_an_interrupted_runs_positions_are_derived_by_the_next_ingest(
    index_every_10: Flask, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def killed(self: ingestion.StaleThreads, session: object) -> None:
        raise KeyboardInterrupt  # the process dies after committing, before deriving

    with monkeypatch.context() as patch:
        patch.setattr(ingestion.StaleThreads, "flush", killed)
        interrupted = run_cli(index_every_10, "ingest", str(one_thread(tmp_path / "t.mbox", 8)))
        assert interrupted.exit_code != 0
    assert positions(index_every_10) == 0  # stored, not yet derived

    run_cli(index_every_10, "ingest", str(one_message(tmp_path / "b.mbox", "b", "beta")))
    assert positions(index_every_10) == 9
    assert search(index_of(index_every_10), "stance:support").total >= 1


def test_positions_are_derived_a_bounded_number_of_threads_at_a_time(
    app: Flask, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    read: list[int] = []
    real = positions_module.load_threads

    def recording(session: object, thread_ids: list[int]) -> object:
        read.append(len(thread_ids))
        return real(session, thread_ids)  # type: ignore[arg-type]

    monkeypatch.setattr(positions_module, "THREADS_AT_ONCE", 2)
    monkeypatch.setattr(positions_module, "load_threads", recording)
    result = run_cli(app, "ingest", str(mbox(tmp_path / "a.mbox", 5)), "--list", "l")
    assert result.exit_code == 0, result.output
    assert read == [2, 2, 1]  # five one-message threads, two at a time
    assert positions(app) == 5
