"""`quorum ingest` and `quorum export messages`, end to end on a real database."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from flask import Flask

from tests.helpers import EXAMPLES, run_cli

DEMO = EXAMPLES / "foundation"
SEED_THREAD = "<1391522712.2459.12.camel@sorcha.example>"


def exported(app: Flask, *args: str) -> list[dict[str, object]]:
    result = run_cli(app, "export", "messages", *args)
    assert result.exit_code == 0, result.output
    return [json.loads(line) for line in result.stdout.splitlines()]


def test_ingesting_the_demo_accounts_for_every_message(app: Flask) -> None:
    result = run_cli(app, "ingest", str(DEMO), "--json")
    assert result.exit_code == 0, result.output
    account = json.loads(result.stdout)
    assert account["read"] == 6
    assert (account["stored"], account["duplicate"], account["skipped"], account["rejected"]) == (
        6,
        0,
        0,
        0,
    )
    assert account["files"][str(DEMO / "2014-February.txt")]["stored"] == 6


def test_export_messages_gives_the_seed_thread_field_by_field(app: Flask) -> None:
    run_cli(app, "ingest", str(DEMO))
    records = {r["message_id"]: r for r in exported(app)}
    troy = records["<CF1A2E3B.3B1A2%troy.toman@rackspace.com>"]
    assert troy == {
        "message_id": "<CF1A2E3B.3B1A2%troy.toman@rackspace.com>",
        "list": "foundation",
        "thread_id": SEED_THREAD,
        "parent_id": "<52F2296B.6040304@openstack.org>",
        "parent_via": "references",
        "subject": "[OpenStack Foundation] The two types of interoperability",
        "date": "2014-02-05T16:44:46+00:00",
        "from_name": "Troy Toman",
        "from_address": "troy.toman@rackspace.com",
    }
    thierry = records["<52F2296B.6040304@openstack.org>"]
    assert thierry["date"] == "2014-02-05T13:05:31+01:00"
    assert thierry["from_address"] == "thierry@openstack.org"
    assert records[SEED_THREAD]["parent_id"] is None
    assert records[SEED_THREAD]["parent_via"] is None
    in_seed_thread = [r for r in records.values() if r["thread_id"] == SEED_THREAD]
    assert len(in_seed_thread) == 5
    board = records["<board-call-20140207@example.org>"]
    assert board["thread_id"] == "<board-call-20140207@example.org>"


def test_export_can_be_limited_to_one_list(app: Flask, tmp_path: Path) -> None:
    run_cli(app, "ingest", str(DEMO))
    other = tmp_path / "other.mbox"
    other.write_bytes(
        b"From someone@example.org Mon Jan  6 10:00:00 2014\n"
        b"From: Someone <someone@example.org>\nSubject: hello\n"
        b"Message-ID: <other-1@example.org>\nDate: Mon, 6 Jan 2014 10:00:00 +0000\n\nhi\n"
    )
    run_cli(app, "ingest", str(other), "--list", "other")
    assert [r["list"] for r in exported(app, "--list", "other")] == ["other"]
    assert len(exported(app, "--list", "foundation")) == 6


def test_rerunning_an_ingest_stores_nothing_new(app: Flask) -> None:
    run_cli(app, "ingest", str(DEMO))
    before = exported(app)
    result = run_cli(app, "ingest", str(DEMO), "--json")
    account = json.loads(result.stdout)
    assert (account["stored"], account["duplicate"]) == (0, 6)
    assert exported(app) == before


def test_a_reply_ingested_before_its_parent_joins_it_when_the_parent_arrives(
    app: Flask, tmp_path: Path
) -> None:
    messages = (DEMO / "2014-February.txt").read_bytes().split(b"\n\nFrom ")
    later = tmp_path / "later"
    earlier = tmp_path / "earlier"
    later.mkdir()
    earlier.mkdir()
    # Troy's reply and everything after it first, then the two messages it answers.
    (later / "replies.mbox").write_bytes(b"From " + b"\n\nFrom ".join(messages[2:]))
    (earlier / "origins.mbox").write_bytes(b"\n\nFrom ".join(messages[:2]) + b"\n")
    run_cli(app, "ingest", str(later), "--list", "foundation")
    ghost_rooted = {r["message_id"]: r["thread_id"] for r in exported(app)}
    assert ghost_rooted["<CF1A2E3B.3B1A2%troy.toman@rackspace.com>"] == SEED_THREAD
    run_cli(app, "ingest", str(earlier), "--list", "foundation")
    in_order = exported(app)
    assert sum(1 for r in in_order if r["thread_id"] == SEED_THREAD) == 5


def test_a_missing_path_is_a_one_line_error_and_changes_nothing(app: Flask, tmp_path: Path) -> None:
    result = run_cli(app, "ingest", str(DEMO), str(tmp_path / "nope.mbox"))
    assert result.exit_code == 2
    assert (
        result.stderr.strip() == f"quorum ingest: {tmp_path / 'nope.mbox'}: no such file or folder"
    )
    assert exported(app) == []


def test_a_file_that_is_not_mail_is_refused_with_its_name(app: Flask, tmp_path: Path) -> None:
    junk = tmp_path / "photo.jpg"
    junk.write_bytes(b"\xff\xd8\xff\xe0 not mail at all")
    result = run_cli(app, "ingest", str(junk))
    assert result.exit_code == 2
    assert str(junk) in result.stderr
    assert "not a mail archive" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_a_malformed_message_inside_an_mbox_is_quarantined(app: Flask, tmp_path: Path) -> None:
    box = tmp_path / "mixed.mbox"
    box.write_bytes(
        b"From a@example.org Mon Jan  6 10:00:00 2014\n"
        b"From: A <a@example.org>\nSubject: fine\nMessage-ID: <fine@example.org>\n"
        b"Date: Mon, 6 Jan 2014 10:00:00 +0000\n\nbody\n\n"
        b"From b@example.org Mon Jan  6 11:00:00 2014\n"
        b"X-Garbage: only a header that says nothing\n\n\x00\x01binary noise\n"
    )
    result = run_cli(app, "ingest", str(box), "--json")
    assert result.exit_code == 0
    account = json.loads(result.stdout)
    assert (account["read"], account["stored"], account["rejected"]) == (2, 1, 1)
    assert "no From, Subject, Message-ID or Date" in account["rejections"][0]["reason"]
    quarantined = list((Path(app.config["QUORUM"].quarantine_dir)).glob("*.eml"))
    assert len(quarantined) == 1
    assert b"binary noise" in quarantined[0].read_bytes()


def test_an_ingest_does_not_load_the_training_libraries(tmp_path: Path) -> None:
    """scikit-learn and SciPy weigh ~100 MB of memory, which only `positions train` needs."""
    probe = (
        "import sys\n"
        "from app.cli import main\n"
        "try:\n"
        f"    main(['ingest', {str(DEMO)!r}, '--list', 'foundation'])\n"
        "except SystemExit as end:\n"
        "    assert not end.code, end.code\n"
        "print(sorted({'sklearn', 'scipy'} & {m.split('.')[0] for m in sys.modules}))\n"
    )
    environment = {**os.environ, "QUORUM_HOME": str(tmp_path), "QUORUM_DATABASE_URL": ""}
    done = subprocess.run(
        [sys.executable, "-c", probe], env=environment, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1] == "[]"
