"""The subject fallback joins only a reply without references to an earlier message on
the same topic in the same list, within the window; it never merges unrelated threads."""

from __future__ import annotations

import json
from pathlib import Path

from flask import Flask

from tests.helpers import run_cli


def message(message_id: str, subject: str, date: str, list_id: str = "garden") -> bytes:
    return (
        f"From x@example.org Mon Jan  6 10:00:00 2014\nFrom: X <x@example.org>\n"
        f"Subject: {subject}\nMessage-ID: {message_id}\nDate: {date}\n"
        f"List-Id: <{list_id}.lists.example.org>\n\nbody\n\n"
    ).encode()


def threads_of(app: Flask, box: Path) -> dict[str, dict[str, object]]:
    assert run_cli(app, "ingest", str(box)).exit_code == 0
    lines = run_cli(app, "export", "messages").stdout.splitlines()
    return {r["message_id"]: r for r in map(json.loads, lines)}


def test_a_reply_without_references_joins_the_earlier_topic_within_the_window(
    app: Flask, tmp_path: Path
) -> None:
    box = tmp_path / "garden.mbox"
    box.write_bytes(
        message("<root@x>", "[Garden] Compost bins", "Mon, 6 Jan 2014 10:00:00 +0000")
        + message("<reply@x>", "AW: [Garden] compost  BINS", "Tue, 7 Jan 2014 10:00:00 +0000")
        + message("<late@x>", "Re: Compost bins", "Fri, 7 Mar 2014 10:00:00 +0000")
    )
    records = threads_of(app, box)
    assert records["<reply@x>"]["parent_id"] == "<root@x>"
    assert records["<reply@x>"]["parent_via"] == "subject"
    assert records["<reply@x>"]["thread_id"] == records["<root@x>"]["thread_id"]
    # Two months later is another conversation.
    assert records["<late@x>"]["parent_id"] is None
    assert records["<late@x>"]["thread_id"] != records["<root@x>"]["thread_id"]


def test_messages_that_merely_share_a_subject_stay_apart(app: Flask, tmp_path: Path) -> None:
    box = tmp_path / "garden.mbox"
    box.write_bytes(
        message("<a@x>", "Weekly summary", "Mon, 6 Jan 2014 10:00:00 +0000")
        + message("<b@x>", "Weekly summary", "Mon, 13 Jan 2014 10:00:00 +0000")
        + message("<other-list@x>", "Re: Weekly summary", "Tue, 14 Jan 2014 10:00:00 +0000", "bees")
        + message("<early@x>", "Re: Lunch", "Mon, 6 Jan 2014 09:00:00 +0000")
        + message("<lunch@x>", "Lunch", "Mon, 6 Jan 2014 12:00:00 +0000")
    )
    records = threads_of(app, box)
    assert records["<a@x>"]["thread_id"] != records["<b@x>"]["thread_id"]  # not replies
    assert records["<other-list@x>"]["parent_id"] is None  # another list
    assert records["<early@x>"]["parent_id"] is None  # the candidate came later


def test_the_subject_parent_does_not_depend_on_arrival_order(app: Flask, tmp_path: Path) -> None:
    first = tmp_path / "a" / "reply.mbox"
    second = tmp_path / "b" / "root.mbox"
    first.parent.mkdir()
    second.parent.mkdir()
    first.write_bytes(message("<reply@x>", "Re: Compost", "Tue, 7 Jan 2014 10:00:00 +0000"))
    second.write_bytes(
        message("<root@x>", "Compost", "Mon, 6 Jan 2014 10:00:00 +0000")
        + message("<other@x>", "Re: Compost", "Mon, 6 Jan 2014 18:00:00 +0000")
    )
    run_cli(app, "ingest", str(first))
    records = threads_of(app, second)
    assert records["<reply@x>"]["parent_id"] == "<root@x>"  # the original, not a reply
    assert records["<reply@x>"]["thread_id"] == records["<root@x>"]["thread_id"]
