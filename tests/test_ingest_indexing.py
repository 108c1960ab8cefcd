"""Ingest keeps the search index in step, in few large updates, and an interrupted run's
threads are indexed by the next ingest."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask import Flask

from app import importer
from app.search import index_of, search
from tests.conftest import EXAMPLES, run_cli


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

    def killed(self: importer.PendingIndex, session: object) -> None:
        raise KeyboardInterrupt  # the process dies after committing, before indexing

    with monkeypatch.context() as patch:
        patch.setattr(importer.PendingIndex, "flush", killed)
        interrupted = run_cli(sqlite_app, "ingest", str(EXAMPLES / "foundation"))
        assert interrupted.exit_code != 0
    assert found(sqlite_app, "supportive") == 0  # stored, not yet indexed

    run_cli(sqlite_app, "ingest", str(one_message(tmp_path / "b.mbox", "b", "beta")))
    assert found(sqlite_app, "supportive") == 1
    assert found(sqlite_app, "beta") == 1
