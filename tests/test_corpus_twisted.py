"""The twisted-python archive (../shared/corpora): the whole account, duplicates from its
double import, the three HTML month folders, and order-free results."""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import func, select

from app import create_app
from app.db import upgrade
from app.ingestion import run_ingest
from app.message_store import Account
from app.models import Message
from app.settings import settings_of
from tests.helpers import CORPORA, run_cli, sessions_of

ARCHIVE = CORPORA / "twisted-python" / "archive"
pytestmark = pytest.mark.corpus


def fresh_app(home: Path) -> Flask:
    app = create_app({"home": str(home), "database_url": ""})
    upgrade(app.extensions["quorum.engine"])
    return app


def ingest(app: Flask, *paths: Path) -> Account:
    return run_ingest(sessions_of(app), settings_of(app), list(paths), progress=False)


def exported(app: Flask) -> list[str]:
    return run_cli(app, "export", "messages").stdout.splitlines()


@pytest.fixture(scope="module")
def whole_archive(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Flask, Account]]:
    app = fresh_app(tmp_path_factory.mktemp("twisted"))
    yield app, ingest(app, *sorted(ARCHIVE.glob("*.txt.gz")))
    app.extensions["quorum.engine"].dispose()


def test_the_account_of_the_whole_archive_adds_up(whole_archive: tuple[Flask, Account]) -> None:
    _, account = whole_archive
    assert account.read == 65706
    assert account.read == account.stored + account.duplicate + account.skipped + account.rejected
    assert account.rejected == 0
    assert len(account.per_file) == 248


def test_the_double_import_stores_each_distinct_message_once(
    whole_archive: tuple[Flask, Account],
) -> None:
    """Copies that differ only in export artefacts (scrubbed-attachment notes, letters
    turned into "?", undecoded UTF-7, bodies cut at a "From " line) are duplicates; only
    copies with genuinely different text stay as flagged id conflicts, and they are few."""
    app, account = whole_archive
    with sessions_of(app)() as session:
        distinct_ids = session.scalar(
            select(func.count()).select_from(
                select(Message.list_id, Message.message_id).distinct().subquery()
            )
        )
        flagged = session.scalar(select(func.count()).where(Message.id_conflict))
    extra_copies = account.stored - distinct_ids
    assert extra_copies <= 30
    assert extra_copies < flagged <= 2 * extra_copies
    assert 33_000 < distinct_ids < 33_300


def test_the_2021_june_folder_gives_subjects_authors_dates_and_parents(tmp_path: Path) -> None:
    app = fresh_app(tmp_path)
    account = ingest(app, ARCHIVE / "2021-June")
    assert (account.read, account.stored) == (9, 9)
    records = {r["message_id"]: r for r in map(json.loads, exported(app))}
    wim = records["<20210615005818.GA76558@kosmos.hhhh.org>"]
    assert wim["subject"] == "[Twisted-Python] Strange recursion error with twisted.web"
    assert (wim["from_name"], wim["from_address"]) == ("Wim Lewis", "wiml@hhhh.org")
    assert wim["date"] == "2021-06-14T18:58:18-06:00"
    assert wim["parent_id"] == "<e08ccb45-1a20-4766-8076-9cf53c08a0a9@www.fastmail.com>"
    assert wim["parent_via"] == "pipermail-thread"
    assert wim["list"] == "twisted-python"


def test_the_2003_april_folder_counts_its_orphan_copies_as_duplicates(tmp_path: Path) -> None:
    app = fresh_app(tmp_path)
    account = ingest(app, ARCHIVE / "2003-April")
    assert account.read == 1006  # ~500 linked articles and ~500 orphans no index links
    assert account.stored + account.duplicate == account.read
    assert account.duplicate >= 480
    with sessions_of(app)() as session:
        synthetic = session.scalar(select(func.count()).where(Message.synthetic_id))
        itamar = session.scalar(
            select(Message).where(Message.article_url == "2003-April/035890.html")
        )
    assert synthetic == 0
    assert itamar.from_name == "Itamar Shtull-Trauring"
    # Its orphan copy is a Mailman 2.0 page, whose reply link shows the mail's In-Reply-To.
    assert itamar.parent_message_id == "<96CF4C0E-6439-11D7-8A58-000393C92466@dalkescientific.com>"
    assert itamar.parent_via == "in-reply-to"
    assert itamar.subject == "[Twisted-Python] supressess warnings"


def test_the_1945_february_folder_keeps_the_dates_the_archive_shows(tmp_path: Path) -> None:
    app = fresh_app(tmp_path)
    assert ingest(app, ARCHIVE / "1945-February").stored == 2
    dates = sorted(json.loads(line)["date"] for line in exported(app))
    assert dates == ["1945-02-07T20:28:34-04:00", "1945-02-08T17:40:04-04:00"]


def test_with_its_txt_month_an_html_folder_adds_article_urls_not_messages(
    tmp_path: Path,
) -> None:
    txt_only = fresh_app(tmp_path / "txt")
    stored = ingest(txt_only, ARCHIVE / "2003-April.txt.gz").stored
    app = fresh_app(tmp_path / "both")
    account = ingest(app, ARCHIVE / "2003-April", ARCHIVE / "2003-April.txt.gz")
    assert account.stored == stored
    with sessions_of(app)() as session:
        rows = session.execute(select(Message.date_source, Message.article_url)).all()
    assert all(source != "article" for source, _ in rows)  # full headers won
    assert sum(1 for _, url in rows if url) >= 0.9 * len(rows)


def test_shuffled_order_gives_the_same_export(tmp_path: Path) -> None:
    paths = [*sorted(ARCHIVE.glob("2003-*.txt.gz")), ARCHIVE / "2003-April"]
    in_order = fresh_app(tmp_path / "in-order")
    ingest(in_order, *paths)
    shuffled = fresh_app(tmp_path / "shuffled")
    random.Random(2003).shuffle(paths)
    for path in paths:  # one run per path, in another order
        ingest(shuffled, path)
    expected = exported(in_order)
    assert len(expected) > 3000
    assert exported(shuffled) == expected
