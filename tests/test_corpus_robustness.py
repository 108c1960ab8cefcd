"""Hostile and odd real mail (../shared/corpora): every file ends in the account, stored or
rejected with a reason, never a crash and never a silent drop."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import select

from app.ingestion import run_ingest
from app.message_store import Account
from app.models import Message
from app.settings import settings_of
from tests.helpers import CORPORA, sessions_of

NOTMUCH = CORPORA / "notmuch-gpl3" / "test" / "corpora"


def ingest(app: Flask, *paths: Path) -> Account:
    return run_ingest(sessions_of(app), settings_of(app), list(paths), progress=False)


def assert_every_file_accounted_for(account: Account, root: Path) -> None:
    # Hidden files (.gitignore beside the mail) are not read, by design.
    files = {str(p) for p in root.rglob("*") if p.is_file() and not p.name.startswith(".")}
    seen = set(account.per_file) | set(account.ignored_files)
    # A maildir or pipermail folder is accounted as its files; other files as themselves.
    assert files <= seen | {f for f in files if any(f.startswith(s + "/") for s in seen)}
    assert account.read == account.stored + account.duplicate + account.skipped + account.rejected
    assert account.read == sum(per["read"] for per in account.per_file.values())
    assert not [r for r in account.rejections if "parser error" in str(r["reason"])]


@pytest.mark.corpus
def test_every_odd_message_is_stored_or_rejected_with_a_reason(sqlite_app: Flask) -> None:
    root = CORPORA / "odd-mail"
    account = ingest(sqlite_app, root)
    assert_every_file_accounted_for(account, root)
    assert account.stored > 250  # MIME fragments without From, Date or ids are rejected
    assert all(r["reason"] for r in account.rejections)


@pytest.mark.corpus
@pytest.mark.parametrize("corpus", ["broken", "duplicate", "threading"])
def test_notmuch_corpora_are_accounted_for(sqlite_app: Flask, corpus: str) -> None:
    root = NOTMUCH / corpus
    account = ingest(sqlite_app, root)
    assert_every_file_accounted_for(account, root)
    assert account.read == len([p for p in root.rglob("*") if p.is_file()])


@pytest.mark.corpus
def test_notmuch_copies_rewritten_by_relays_are_kept_and_flagged(sqlite_app: Flask) -> None:
    """notmuch's duplicate corpus holds one Message-ID delivered with different subjects and
    footers (a bug tracker rewrote them, some through other lists): different content, so
    every copy is stored, and copies in one list are flagged as id conflicts."""
    account = ingest(sqlite_app, NOTMUCH / "duplicate")
    assert (account.read, account.stored) == (9, 9)
    with sessions_of(sqlite_app)() as session:
        rows = session.execute(
            select(Message.list_id, Message.message_id, Message.id_conflict)
        ).all()
    assert len({message_id for _, message_id, _ in rows}) == 3
    shared = Counter((list_id, message_id) for list_id, message_id, _ in rows)
    assert all(flagged == (shared[(lst, mid)] > 1) for lst, mid, flagged in rows)
    assert any(flagged for *_, flagged in rows)
