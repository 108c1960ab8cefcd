"""Killing `quorum ingest` (SIGKILL) at any moment and rerunning gives exactly the database
an uninterrupted run gives: batches are atomic, and a rerun finishes the job."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import create_engine, func, select

from app.models import Message

QUORUM = Path(sys.executable).parent / "quorum"
MESSAGES = 1000


def archive(path: Path) -> None:
    """Threads of five messages, each reply naming its parent; every tenth message twice."""
    with path.open("wb") as out:
        for n in range(MESSAGES):
            root = n - n % 5
            refs = f"References: <m{root}@example.org> <m{n - 1}@example.org>\n" if n % 5 else ""
            hour, minute, second = n // 3600 % 24, n // 60 % 60, n % 60
            message = (
                f"From p{n % 7}@example.org Mon Jan  6 10:00:00 2014\n"
                f"From: Person {n % 7} <p{n % 7}@example.org>\nSubject: topic {root}\n"
                f"Message-ID: <m{n}@example.org>\n{refs}"
                f"Date: Mon, 6 Jan 2014 {hour:02d}:{minute:02d}:{second:02d} +0000\n"
                f"\nMessage number {n}.\n\n"
            ).encode()
            out.write(message * (2 if n % 10 == 0 else 1))


def quorum(env: dict[str, str], *args: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [str(QUORUM), *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL
    )


def environment(tmp_path: Path, name: str, database_url: str) -> dict[str, str]:
    config = tmp_path / "small-batches.toml"
    config.write_text("[ingest]\nbatch_size = 20\n")
    home = tmp_path / name
    env = {**os.environ, "QUORUM_HOME": str(home), "QUORUM_CONFIG": str(config)}
    env["QUORUM_DATABASE_URL"] = database_url
    return env


def export(env: dict[str, str]) -> list[str]:
    out, _ = quorum(env, "export", "messages").communicate(timeout=300)
    return out.decode().splitlines()


def test_a_killed_ingest_rerun_equals_an_uninterrupted_one(
    tmp_path: Path, database_url: str
) -> None:
    """Killed on the database under test; the reference run is on a fresh SQLite file, as
    the export is the same whatever the database."""
    box = tmp_path / "list.mbox"
    archive(box)
    killed = environment(tmp_path, "killed", database_url)
    process = quorum(killed, "ingest", str(box), "--list", "l")
    engine = create_engine(database_url)
    stored_at_kill = 0
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and process.poll() is None:
        try:
            with engine.connect() as conn:
                stored_at_kill = conn.execute(select(func.count(Message.id))).scalar_one()
        except Exception:  # the schema is not there yet
            stored_at_kill = 0
        if stored_at_kill > 0:
            process.send_signal(signal.SIGKILL)
            break
        time.sleep(0.01)
    process.wait(timeout=60)
    engine.dispose()
    assert 0 < stored_at_kill < MESSAGES, "the kill must land in the middle of the ingest"

    rerun = quorum(killed, "ingest", str(box), "--list", "l", "--json")
    account = json.loads(rerun.communicate(timeout=300)[0])
    assert account["read"] == MESSAGES + MESSAGES // 10
    assert account["stored"] + account["duplicate"] == account["read"]

    whole = environment(tmp_path, "whole", f"sqlite:///{tmp_path / 'whole.sqlite3'}")
    quorum(whole, "ingest", str(box), "--list", "l").communicate(timeout=300)
    after_rerun = export(killed)
    assert len(after_rerun) == MESSAGES
    assert after_rerun == export(whole)
