"""`quorum sync` from a maildir a mail server delivers into: new files are read once, a
file a mail client moves from new/ to cur/ is not read again, and a file delivered late
(written before the last pass, moved into new/ after it) is still found."""

from __future__ import annotations

import os
import time
from pathlib import Path

from flask import Flask

from app.sync.runner import SourceReport, sync_pass
from tests.helpers import FIXTURES, build_app, sessions_of

LIVE = FIXTURES / "live"


def maildir(root: Path) -> Path:
    for sub in ("cur", "new", "tmp"):
        (root / sub).mkdir(parents=True)
    return root


def deliver(folder: Path, name: str, fixture: str, mtime: float | None = None) -> Path:
    path = folder / "new" / name
    path.write_bytes((LIVE / fixture).read_bytes())
    if mtime is not None:
        os.utime(path, (mtime, mtime))
    return path


def one_pass(app: Flask) -> SourceReport:
    [report] = sync_pass(sessions_of(app), app.config["QUORUM"])
    return report


def read_stored(report: SourceReport) -> tuple[int, int]:
    assert report.status == "ok", report.error
    assert report.account is not None
    return report.account.read, report.account.stored


def test_a_maildir_is_read_as_mail_arrives(database_url: str, tmp_path: Path) -> None:
    folder = maildir(tmp_path / "Maildir")
    app = build_app(
        database_url,
        tmp_path / "home",
        lists={"governance": {"sources": [{"type": "maildir", "path": str(folder)}]}},
    )
    now = time.time()
    first = deliver(folder, "1700000001.a.host", "proposal.eml", now - 10)
    deliver(folder, "1700000002.b.host", "reply.eml", now - 5)
    assert read_stored(one_pass(app)) == (2, 2)
    assert read_stored(one_pass(app)) == (0, 0)

    # A mail client marks the first one seen: same unique name, same time, not read again.
    first.rename(folder / "cur" / "1700000001.a.host:2,S")
    assert read_stored(one_pass(app)) == (0, 0)

    # Written half a minute before the newest file read, moved into new/ only now.
    deliver(folder, "1700000003.c.host", "late.eml", now - 35)
    assert read_stored(one_pass(app)) == (1, 1)


def test_a_folder_that_is_not_a_maildir_is_a_clear_error(tmp_path: Path) -> None:
    app = build_app(
        "",
        tmp_path / "home",
        lists={"governance": {"sources": [{"type": "maildir", "path": str(tmp_path / "none")}]}},
    )
    report = one_pass(app)
    assert report.status == "failed"
    assert report.error == f"{tmp_path / 'none'}: not a maildir (no cur/ and new/ folders)"
