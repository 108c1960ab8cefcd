"""The background indexer: a child process that indexes the threads it is sent, one job at a
time, hands its errors to the parent, and never outlives it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import Engine

from app.search import index_of, search
from app.search.background import BackgroundIndexer, IndexWorkerFailed
from app.search.index_store import IndexBusy
from tests.helpers import ROOT, mbox, run_cli


def engine_of(app: Flask) -> Engine:
    engine: Engine = app.extensions["quorum.engine"]
    return engine


def replace_indexing(monkeypatch: pytest.MonkeyPatch, job: object) -> None:
    """What the child runs for each job (it is forked, so it inherits the replacement)."""
    monkeypatch.setattr("app.search.background.index_threads", job)


def running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


def test_the_child_indexes_committed_threads_with_its_own_connection(
    sqlite_app: Flask, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("app.ingestion.StaleThreads.flush", lambda self, session: None)
    run_cli(sqlite_app, "ingest", str(mbox(tmp_path / "a.mbox", 4)), "--list", "load")
    assert search(index_of(sqlite_app), "common").total == 0  # stored, not indexed

    indexer = BackgroundIndexer(engine_of(sqlite_app), sqlite_app.config["QUORUM"].index_dir)
    indexer.submit({1, 2})
    indexer.submit({3, 4})  # waits for the first job
    indexer.close()
    assert search(index_of(sqlite_app), "common").total == 4


def _busy(*_args: object) -> int:
    raise IndexBusy("the search index is being written by pid 1")


def _unpicklable(*_args: object) -> int:
    class Unpicklable(Exception):  # a local class: pickle cannot name it
        pass

    raise Unpicklable("disk on fire")


@pytest.mark.parametrize(
    ("failure", "raised", "message"),
    [(_busy, IndexBusy, "pid 1"), (_unpicklable, RuntimeError, "Unpicklable: disk on fire")],
)
def test_an_error_in_the_child_is_raised_in_the_parent(
    sqlite_app: Flask,
    monkeypatch: pytest.MonkeyPatch,
    failure: Callable[..., int],
    raised: type[Exception],
    message: str,
) -> None:
    """As itself, or as its description when it cannot be sent."""
    replace_indexing(monkeypatch, failure)
    indexer = BackgroundIndexer(engine_of(sqlite_app), sqlite_app.config["QUORUM"].index_dir)
    indexer.submit({1})
    with pytest.raises(raised, match=message):
        indexer.close()


def test_a_child_that_dies_during_a_job_is_reported(
    sqlite_app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    def die(*_args: object) -> int:
        os.kill(os.getpid(), signal.SIGKILL)
        return 0

    replace_indexing(monkeypatch, die)
    indexer = BackgroundIndexer(engine_of(sqlite_app), sqlite_app.config["QUORUM"].index_dir)
    indexer.submit({1})
    with pytest.raises(IndexWorkerFailed, match=r"exit code -9.*next ingest"):
        indexer.close()


def test_stop_ends_a_job_at_once(sqlite_app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    replace_indexing(monkeypatch, lambda *_args: time.sleep(60))
    indexer = BackgroundIndexer(engine_of(sqlite_app), sqlite_app.config["QUORUM"].index_dir)
    indexer.submit({1})
    started = time.monotonic()
    indexer.stop()
    assert time.monotonic() - started < 10


def test_the_child_exits_when_its_parent_is_killed(tmp_path: Path) -> None:
    """A killed ingest (SIGKILL) must not leave its indexer waiting forever for jobs."""
    parent = subprocess.Popen(
        [
            sys.executable,
            "-c",
            textwrap.dedent(
                f"""
                import sys, time
                from sqlalchemy import create_engine
                from app.search.background import BackgroundIndexer
                indexer = BackgroundIndexer(create_engine("sqlite://"), {str(tmp_path)!r})
                print(indexer._child.pid, flush=True)
                time.sleep(600)
                """
            ),
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert parent.stdout is not None
    child = int(parent.stdout.readline())
    assert running(child)
    parent.send_signal(signal.SIGKILL)
    parent.wait(timeout=30)
    deadline = time.monotonic() + 30
    while running(child) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not running(child)
