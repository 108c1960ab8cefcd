"""`quorum sync` over HTTP: a pipermail archive and an mbox URL served by a real server on
127.0.0.1 (tests/archive_server.py), followed pass after pass like a live list."""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from app.models import IngestRun, Message, Source
from app.search import index_of, search
from app.sync.runner import SourceReport, sync_pass
from tests.archive_server import Site, serving
from tests.helpers import FIXTURES, build_app, run_cli, sessions_of

PIPERMAIL = FIXTURES / "live" / "pipermail"
ARCHIVE = "/pipermail/governance/"
#: Quick retries: these tests fail servers on purpose.
FAST_RETRIES = {"attempts": 2, "retry_wait_seconds": 0.01, "timeout_seconds": 10}


def pipermail_site() -> Site:
    site = Site()
    site.put(ARCHIVE, (PIPERMAIL / "index.html").read_bytes())
    site.put(
        ARCHIVE + "2026-October.txt.gz",
        gzip.compress((PIPERMAIL / "2026-October.txt").read_bytes()),
    )
    site.put(ARCHIVE + "2026-November.txt", (PIPERMAIL / "2026-November.txt").read_bytes())
    for page in ("thread.html", "000001.html", "000002.html"):
        site.put(
            ARCHIVE + f"2026-September/{page}", (PIPERMAIL / "2026-September" / page).read_bytes()
        )
    return site


@pytest.fixture
def site() -> Iterator[tuple[Site, str]]:
    served = pipermail_site()
    with serving(served) as base:
        yield served, base


def following(
    database_url: str, home: Path, sources: dict[str, list[dict[str, Any]]], **sync: Any
) -> Flask:
    """The app with these sources configured, per list."""
    return build_app(
        database_url,
        home,
        lists={name: {"sources": tables} for name, tables in sources.items()},
        sync={**FAST_RETRIES, **sync},
    )


def one_pass(app: Flask, **kwargs: Any) -> list[SourceReport]:
    return sync_pass(sessions_of(app), app.config["QUORUM"], **kwargs)


def stored_ids(app: Flask) -> set[str]:
    with sessions_of(app)() as session:
        return set(session.scalars(select(Message.message_id)))


def source_row(app: Flask) -> Source:
    with sessions_of(app)() as session:
        return session.scalars(select(Source)).one()


def hits(app: Flask, query: str) -> list[str]:
    return [h.message_id for h in search(index_of(app), query).hits]


ALL_SIX = {
    "<charter-1@live.example.org>",
    "<charter-2@live.example.org>",
    "<budget-1@live.example.org>",
    "<budget-2@live.example.org>",
    "<proposal-1@live.example.org>",
    "<reply-1@live.example.org>",
}


def test_a_pipermail_archive_is_followed_month_by_month(
    database_url: str, tmp_path: Path, site: tuple[Site, str]
) -> None:
    served, base = site
    app = following(
        database_url,
        tmp_path / "home",
        {"governance": [{"type": "pipermail", "url": base + ARCHIVE}]},
    )

    # First pass: every month, the text files and the month offered only as HTML pages.
    [first] = one_pass(app)
    assert first.status == "ok", first.error
    assert first.account is not None
    assert (first.account.read, first.account.stored) == (6, 6)
    assert stored_ids(app) == ALL_SIX
    assert hits(app, "xylophone") and hits(app, "marimba") and hits(app, "harmonica")
    row = source_row(app)
    assert (row.list_name, row.kind, row.stored, row.failures) == ("governance", "pipermail", 6, 0)
    assert set(row.cursor["months"]) == {"2026-September", "2026-October", "2026-November"}

    # Nothing new: every month is one conditional request answered 304, nothing is read.
    served.log.clear()
    [second] = one_pass(app)
    assert second.status == "ok" and second.account is not None and second.account.read == 0
    assert served.statuses(ARCHIVE + "2026-November.txt") == [304]
    assert served.statuses(ARCHIVE + "2026-October.txt.gz") == [304]
    assert served.statuses(ARCHIVE + "2026-September/thread.html") == [304]
    assert served.statuses(ARCHIVE + "2026-September/000001.html") == []

    # A new message in the current month: the month is read again, the one new message is
    # stored, threaded under its parent and searchable when the pass returns.
    served.put(
        ARCHIVE + "2026-November.txt",
        (PIPERMAIL / "2026-November.txt").read_bytes()
        + (PIPERMAIL / "2026-November-later.txt").read_bytes(),
    )
    [third] = one_pass(app)
    assert third.account is not None
    assert (third.account.read, third.account.stored, third.account.duplicate) == (3, 1, 2)
    assert hits(app, "ocarina") == ["<late-1@live.example.org>"]
    assert app.test_client().get("/m/late-1@live.example.org").status_code == 200
    with sessions_of(app)() as session:
        late = session.scalars(
            select(Message).where(Message.message_id == "<late-1@live.example.org>")
        ).one()
        proposal = session.scalars(
            select(Message).where(Message.message_id == "<proposal-1@live.example.org>")
        ).one()
        assert (late.thread_id, late.parent_message_id) == (
            proposal.thread_id,
            "<reply-1@live.example.org>",
        )
        # Passes that found nothing left no ingest run behind; the others did.
        assert session.scalar(select(func.count()).select_from(IngestRun)) == 2
    assert source_row(app).stored == 7


def test_a_server_without_validators_costs_a_download_but_no_ingest(tmp_path: Path) -> None:
    served = pipermail_site()
    served.validators = False
    with serving(served) as base:
        app = following(
            "", tmp_path / "home", {"governance": [{"type": "pipermail", "url": base + ARCHIVE}]}
        )
        one_pass(app)
        [again] = one_pass(app)
    assert served.statuses(ARCHIVE + "2026-November.txt") == [200, 200]
    # The same bytes as last time: the month is not read again.
    assert again.status == "ok" and again.account is not None and again.account.read == 0


def test_an_archive_that_moved_and_a_server_that_drops_idle_connections(tmp_path: Path) -> None:
    served = pipermail_site()
    # The old address redirects (an archive moved to a new path, or to https) ...
    served.moved["/old/governance/"] = ARCHIVE
    # ... and the server closes every connection after one answer, unannounced: each kept-
    # alive connection is found closed on the next request and replaced at once.
    served.drop_idle = True
    with serving(served) as base:
        app = following(
            "",
            tmp_path / "home",
            {"governance": [{"type": "pipermail", "url": base + "/old/governance/"}]},
            attempts=1,  # no retries: the closed connections must be replaced at once
        )
        [report] = one_pass(app)
    assert report.status == "ok", report.error
    assert stored_ids(app) == ALL_SIX
    assert served.statuses("/old/governance/") == [301]
    # The months are read relative to where the index was asked for.
    assert served.statuses(ARCHIVE + "2026-November.txt") == [200]


def test_a_failing_month_is_reported_backed_off_and_caught_up_later(
    database_url: str, tmp_path: Path, site: tuple[Site, str]
) -> None:
    served, base = site
    app = following(
        database_url,
        tmp_path / "home",
        {"governance": [{"type": "pipermail", "url": base + ARCHIVE}]},
    )
    served.failing.add(ARCHIVE + "2026-October.txt.gz")

    [failed] = one_pass(app)
    assert failed.status == "failed"
    assert failed.error == (
        f"{base}{ARCHIVE}2026-October.txt.gz: the server answered 500 Internal Server Error"
        " (after 2 attempts)"
    )
    # The server was unreachable for that file after the retries: the pass stopped there,
    # keeping what the earlier month brought in.
    assert served.statuses(ARCHIVE + "2026-October.txt.gz") == [500, 500]
    assert stored_ids(app) == {"<charter-1@live.example.org>", "<charter-2@live.example.org>"}
    row = source_row(app)
    assert (row.failures, row.last_error) == (1, failed.error)
    assert row.next_attempt_at is not None and row.last_attempt_at is not None
    assert row.next_attempt_at - row.last_attempt_at == timedelta(seconds=60)

    # A pass before the back-off is over leaves the server alone.
    served.log.clear()
    [waiting] = one_pass(app)
    assert (waiting.status, waiting.error) == ("waiting", failed.error)
    assert served.log == []

    # Failing again doubles the wait; once the server is mended, the next pass catches up
    # and the source is healthy again.
    [again] = one_pass(app, force=True)
    assert again.status == "failed"
    row = source_row(app)
    assert row.failures == 2 and row.next_attempt_at - row.last_attempt_at == timedelta(seconds=120)
    served.failing.clear()
    [mended] = one_pass(app, force=True)
    assert mended.status == "ok" and mended.account is not None and mended.account.stored == 4
    assert stored_ids(app) == ALL_SIX
    row = source_row(app)
    assert (row.failures, row.next_attempt_at, row.last_error) == (0, None, failed.error)


def test_a_download_cut_short_is_never_ingested(tmp_path: Path, site: tuple[Site, str]) -> None:
    served, base = site
    app = following(
        "", tmp_path / "home", {"governance": [{"type": "pipermail", "url": base + ARCHIVE}]}
    )
    served.cut.add(ARCHIVE + "2026-November.txt")

    [cut] = one_pass(app)
    assert cut.status == "failed"
    assert cut.error is not None and "the download stopped at" in cut.error
    # Half a month file holds the first message whole: it must not be stored from it.
    assert "<proposal-1@live.example.org>" not in stored_ids(app)
    assert "2026-November" not in source_row(app).cursor["months"]

    served.cut.clear()
    [mended] = one_pass(app, force=True)
    assert mended.status == "ok"
    assert stored_ids(app) == ALL_SIX


def test_a_damaged_gzip_month_is_refused_whole_and_the_others_go_on(
    tmp_path: Path, site: tuple[Site, str]
) -> None:
    served, base = site
    whole = served.files[ARCHIVE + "2026-October.txt.gz"]
    served.put(ARCHIVE + "2026-October.txt.gz", whole[: len(whole) - 20])
    app = following(
        "", tmp_path / "home", {"governance": [{"type": "pipermail", "url": base + ARCHIVE}]}
    )

    [damaged] = one_pass(app)
    assert damaged.status == "failed"
    assert (
        damaged.error is not None
        and "2026-October.txt.gz: not a complete gzip file" in damaged.error
    )
    # A refused file does not hold back the months after it.
    assert stored_ids(app) == ALL_SIX - {
        "<budget-1@live.example.org>",
        "<budget-2@live.example.org>",
    }


def test_an_mbox_url_is_fetched_conditionally_from_the_day_before_the_last_pass(
    tmp_path: Path,
) -> None:
    served = Site()
    served.put(
        "/export/governance.mbox",
        (FIXTURES / "live" / "pipermail" / "2026-November.txt").read_bytes(),
    )
    with serving(served) as base:
        url = base + "/export/governance.mbox?start={since}"
        app = following("", tmp_path / "home", {"governance": [{"type": "mbox-url", "url": url}]})
        [first] = one_pass(app)
        [second] = one_pass(app)
    assert first.account is not None and first.account.stored == 2
    assert second.account is not None and second.account.read == 0
    (first_path, first_status), (second_path, second_status) = served.log
    assert (first_path, first_status) == ("/export/governance.mbox?start=1970-01-01", 200)
    assert second_path != first_path and second_status == 304
    assert source_row(app).cursor["since"] == second_path.rsplit("=", 1)[1]


def test_the_same_message_from_two_sources_is_stored_once(
    tmp_path: Path, site: tuple[Site, str]
) -> None:
    served, base = site
    served.put("/governance.mbox", (FIXTURES / "live" / "proposal.eml").read_bytes())
    app = following(
        "",
        tmp_path / "home",
        {
            "governance": [
                {"type": "pipermail", "url": base + ARCHIVE},
                {"type": "mbox-url", "url": base + "/governance.mbox"},
            ]
        },
    )
    pipermail, mbox = one_pass(app)
    assert pipermail.status == mbox.status == "ok"
    assert mbox.account is not None and (mbox.account.read, mbox.account.duplicate) == (1, 1)
    assert stored_ids(app) == ALL_SIX


def test_sync_and_sources_on_the_command_line(tmp_path: Path, site: tuple[Site, str]) -> None:
    served, base = site
    served.failing.add(ARCHIVE + "2026-November.txt")
    app = following(
        "", tmp_path / "home", {"governance": [{"type": "pipermail", "url": base + ARCHIVE}]}
    )

    failed = run_cli(app, "sync", "--json")
    assert failed.exit_code == 1
    report = json.loads(failed.stdout)
    assert (report["list"], report["status"], report["stored"], report["read"]) == (
        "governance",
        "failed",
        4,
        4,
    )

    waiting = run_cli(app, "sync")
    assert waiting.exit_code == 1
    assert waiting.stdout.startswith(f"governance  {base}{ARCHIVE}  waiting until ")

    served.failing.clear()
    mended = run_cli(app, "sync", "--force", "--list", "GOVERNANCE")
    assert mended.exit_code == 0
    account = "read 2 = stored 2 + duplicate 0 + skipped 0 + rejected 0"
    assert mended.stdout == f"governance  {base}{ARCHIVE}  {account}\n"

    shown = run_cli(app, "sources")
    assert shown.exit_code == 0
    lines = shown.stdout.splitlines()
    assert lines[0] == f"governance  {base}{ARCHIVE}  (pipermail)  ok"
    assert any(
        line.startswith("  last error ") and "500 Internal Server Error" in line for line in lines
    )
    assert "  read 6 = stored 6 + duplicate 0 + skipped 0 + rejected 0" in lines
    assert "  at 3 months seen" in lines
    [as_json] = [json.loads(line) for line in run_cli(app, "sources", "--json").stdout.splitlines()]
    assert (as_json["state"], as_json["stored"], as_json["failures"]) == ("ok", 6, 0)


def test_sync_says_what_is_missing(sqlite_app: Flask) -> None:
    none = run_cli(sqlite_app, "sync")
    assert none.exit_code == 2
    assert "no sources configured (add [[lists.NAME.sources]] to the settings)" in none.output
    assert "no sources configured" in run_cli(sqlite_app, "sources").stdout


def test_every_takes_a_duration(tmp_path: Path) -> None:
    app = following(
        "", tmp_path / "home", {"governance": [{"type": "maildir", "path": str(tmp_path)}]}
    )
    bad = run_cli(app, "sync", "--every", "soon")
    assert bad.exit_code == 2
    assert "'soon' is not a duration such as 30s, 15m, 1h or 1d" in bad.output
