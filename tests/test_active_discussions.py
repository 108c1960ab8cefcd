"""The "active discussions" of the home and list pages: what is being discussed and decided
comes before bot reports and junk, runs of near-identical subjects fold into one entry, and
the plain newest-first listing is one click away.

The archive mixes what a real list holds in a month: a weekly bot report, a run of
near-identical digests sent back to the list, a release announcement, a four-person debate,
a two-person thread that informed a decision, and a private board list's own debate."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from bs4 import BeautifulSoup
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import update

from app.discussions import CANDIDATES_PER_ENTRY
from app.models import Message
from app.web.browse import HOME_DISCUSSIONS
from ingest.subjects import run_key
from tests.helpers import run_cli, sessions_of, signed_in

DEBATE = "Should we drop Python 2 support?"
LOGO = "Logo vote"
BOT = "Weekly Bug Summary"
RELEASE = "Release 1.0 is out"
BUDGET = "Budget for the sprint"
DIGEST_SENDERS = ("carol", "dave", "erin", "frank", "gina")


def mail(
    n: str, day: int, sender: str, subject: str, parent: str | None = None, month: str = "May"
) -> str:
    """One message of 2021 in mbox form; `n` names its Message-ID."""
    lines = [
        f"From {sender}@example.org Sat {month} {day:2d} 12:00:00 2021",
        f"From: {sender.title()} <{sender}@example.org>",
        f"Subject: [Project] {'Re: ' if parent else ''}{subject}",
        f"Message-ID: <{n}@example.org>",
        f"Date: Sat, {day:02d} {month} 2021 12:00:00 +0000",
    ]
    if parent:
        lines.append(f"In-Reply-To: <{parent}@example.org>")
    return "\n".join(lines) + f"\n\nMessage {n}.\n\n"


def project_month() -> str:
    debate = [("alice", 10), ("bob", 12), ("carol", 14), ("dave", 16), ("alice", 18), ("erin", 20)]
    return "".join(
        [
            mail("logo-1", 1, "alice", LOGO),
            mail("logo-2", 3, "bob", LOGO, parent="logo-1"),
            *(
                mail(f"debate-{i}", day, who, DEBATE, parent=f"debate-{i - 1}" if i else None)
                for i, (who, day) in enumerate(debate)
            ),
            *(mail(f"bugs-{day}", day, "bugbot", BOT) for day in (7, 14, 21, 28)),
            *(  # issues 16-20 sent back to the list by five readers, May 21-25
                mail(f"digest-{issue}", issue + 5, who, f"Project Digest, Vol 90, Issue {issue}")
                for issue, who in zip(range(16, 21), DIGEST_SENDERS, strict=True)
            ),
            mail("release", 26, "releaser", RELEASE),
        ]
    )


def board_month() -> str:
    return "".join(
        mail(f"budget-{i}", 29, who, BUDGET, parent=f"budget-{i - 1}" if i else None)
        for i, who in enumerate(("alice", "treasurer", "chair"))
    )


def link_decision(app: Flask, tmp_path: Path, slug: str, thread: str) -> None:
    record = {
        "slug": slug,
        "title": f"Decision {slug}",
        "status": "accepted",
        "decided_on": "2021-06-01",
        "links": [
            {"relation": "discussion", "state": "confirmed", "list": "project"}
            | {"thread_id": f"<{thread}@example.org>", "message_id": None}
        ],
    }
    path = tmp_path / f"{slug}.jsonl"
    path.write_text(json.dumps(record) + "\n")
    assert "1 links added" in run_cli(app, "import", "decisions", str(path)).output


@pytest.fixture
def archive(app: Flask, tmp_path: Path) -> Flask:
    (tmp_path / "project.mbox").write_text(project_month())
    (tmp_path / "board.mbox").write_text(board_month())
    run_cli(app, "ingest", str(tmp_path / "project.mbox"), "--list", "project")
    run_cli(app, "ingest", str(tmp_path / "board.mbox"), "--list", "board")
    assert run_cli(app, "lists", "set", "board", "--private").exit_code == 0
    link_decision(app, tmp_path, "logo", "logo-1")
    return app


def home_entries(client: FlaskClient, url: str = "/") -> list[tuple[str, list[str]]]:
    """The home page's listing: each entry's subject with the subjects folded under it."""
    html = client.get(url).get_data(as_text=True)
    soup = BeautifulSoup(html, "html.parser")
    listing = soup.select_one("#threads-h").find_next("ul")
    return [
        (item.a.get_text(), [a.get_text() for a in item.select("details.similar li > a")])
        for item in listing.find_all("li", recursive=False)
    ]


def list_entries(client: FlaskClient, url: str) -> list[str]:
    soup = BeautifulSoup(client.get(url).get_data(as_text=True), "html.parser")
    return [cell.a.get_text() for cell in soup.select("table.threads td.subject")]


def test_decided_and_debated_threads_come_first_and_runs_fold(archive: Flask) -> None:
    entries = home_entries(archive.test_client())
    assert [subject for subject, _ in entries] == [
        LOGO,  # informed a decision: first, though only two people took part
        DEBATE,  # four people
        BOT,  # then single-author threads, newest first, each run folded
        RELEASE,
        "Project Digest, Vol 90, Issue 20",
    ]
    folded = dict(entries)
    assert folded[BOT] == [BOT] * 3
    assert folded["Project Digest, Vol 90, Issue 20"] == [
        f"Project Digest, Vol 90, Issue {issue}" for issue in (19, 18, 17, 16)
    ]
    assert list_entries(archive.test_client(), "/lists/project") == [
        subject for subject, _ in entries
    ]


def test_newest_first_is_one_click_away_and_folds_nothing(archive: Flask) -> None:
    client = archive.test_client()
    home = client.get("/").get_data(as_text=True)
    assert 'href="/?view=newest"' in home
    newest = home_entries(client, "/?view=newest")
    assert [subject for subject, _ in newest][:3] == [
        BOT,
        RELEASE,
        "Project Digest, Vol 90, Issue 20",
    ]
    assert all(similar == [] for _, similar in newest)
    listing = list_entries(client, "/lists/project?view=newest")
    assert listing.count(BOT) == 4 and listing[0] == BOT and listing[-1] == LOGO


def test_a_private_list_is_ranked_for_staff_only(archive: Flask) -> None:
    for url in ("/", "/?view=newest"):
        assert BUDGET not in archive.test_client().get(url).get_data(as_text=True)
    viewer = signed_in(archive, "viewer")
    assert [subject for subject, _ in home_entries(viewer)][:3] == [LOGO, DEBATE, BUDGET]


def test_people_are_counted_from_the_messages_the_reader_may_see(archive: Flask) -> None:
    with sessions_of(archive)() as session:
        session.execute(
            update(Message)
            .where(Message.message_id.like("<debate-%"), Message.from_address.not_like("alice@%"))
            .values(hidden=True)
        )
        session.commit()
    public = [subject for subject, _ in home_entries(archive.test_client())]
    assert public.index(DEBATE) > public.index(BOT)  # one visible author: no longer a debate
    editor = signed_in(archive, "editor")  # editors see hidden messages, to restore them
    assert [subject for subject, _ in home_entries(editor)][:2] == [LOGO, DEBATE]


def test_a_new_decision_link_reranks_the_cached_page(archive: Flask, tmp_path: Path) -> None:
    client = archive.test_client()
    assert [subject for subject, _ in home_entries(client)][1] == DEBATE  # now in the cache
    link_decision(archive, tmp_path, "release", "release")
    assert [subject for subject, _ in home_entries(client)][:3] == [LOGO, RELEASE, DEBATE]


def test_an_old_debate_gives_way_once_a_month_holds_enough_recent_threads(
    app: Flask, tmp_path: Path
) -> None:
    """The month up to the newest thread, widened on a quiet list to twice as many of the
    latest threads as the page shows entries."""
    old = "".join(
        mail(f"old-{i}", 1 + i, who, "An old debate", f"old-{i - 1}" if i else None, "Feb")
        for i, who in enumerate(("alice", "bob", "carol", "dave", "erin"))
    )
    lunch = mail("lunch-1", 26, "alice", "Lunch plans") + mail(
        "lunch-2", 27, "bob", "Lunch plans", parent="lunch-1"
    )

    def notices(numbers: range) -> str:
        return "".join(mail(f"notice-{i}", 1 + i % 25, "bot", f"Notice {i}") for i in numbers)

    widened_to = CANDIDATES_PER_ENTRY * HOME_DISCUSSIONS
    half = widened_to // 2
    (tmp_path / "first.mbox").write_text(old + lunch + notices(range(half)))
    run_cli(app, "ingest", str(tmp_path / "first.mbox"), "--list", "project")
    client = app.test_client()
    assert [subject for subject, _ in home_entries(client)][:2] == ["An old debate", "Lunch plans"]

    (tmp_path / "second.mbox").write_text(notices(range(half, widened_to)))
    run_cli(app, "ingest", str(tmp_path / "second.mbox"), "--list", "project")
    entries = home_entries(client)
    assert [subject.split()[0] for subject, _ in entries] == ["Lunch", "Notice"]
    assert len(entries[1][1]) == widened_to - 1  # every other notice, folded under one


def test_a_thread_with_no_date_anywhere_is_ranked_after_the_dated_ones(
    app: Flask, tmp_path: Path
) -> None:
    (tmp_path / "dated.mbox").write_text(mail("dated", 1, "alice", RELEASE))
    (tmp_path / "undated.eml").write_text(
        "From: Bob <bob@example.org>\nSubject: [Project] Undated remark\n"
        "Message-ID: <undated@example.org>\n\nNo Date header, Received line or envelope.\n"
    )
    run_cli(app, "ingest", str(tmp_path / "dated.mbox"), "--list", "project")
    run_cli(app, "ingest", str(tmp_path / "undated.eml"), "--list", "project", "--format", "eml")
    client = app.test_client()
    assert client.get("/").status_code == 200
    assert [subject for subject, _ in home_entries(client)] == [RELEASE, "Undated remark"]
    assert list_entries(client, "/lists/project") == [RELEASE, "Undated remark"]


def test_subjects_that_differ_only_in_numbers_and_marks_share_a_run_key() -> None:
    assert run_key("[Twisted-Python] Weekly Bug Summary") == run_key("Weekly Bug Summary")
    assert run_key("Digest, Vol 90, Issue 16") == run_key("Re: Digest, Vol 91, Issue 2")
    assert run_key("Twisted 21.2.0rc1 released!") == run_key("Twisted 21.7.0rc2 released")
    assert run_key("Weekly Bug Summary") != run_key("Weekly sprint summary")
    assert run_key("Should we drop Python 2?") != run_key("Release 1.0 is out")
