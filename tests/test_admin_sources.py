"""/admin/sources: the web side of `quorum sources`, for admins only, every value escaped."""

from __future__ import annotations

from pathlib import Path

from flask import Flask

from app.sync.runner import sync_pass
from tests.helpers import FIXTURES, build_app, sessions_of, signed_in


def test_admins_see_each_source_its_health_and_counts(database_url: str, tmp_path: Path) -> None:
    good = tmp_path / "Maildir"
    for sub in ("cur", "new", "tmp"):
        (good / sub).mkdir(parents=True)
    (good / "new" / "1.a.host").write_bytes((FIXTURES / "live" / "proposal.eml").read_bytes())
    hostile = tmp_path / "<script>alert(1)</script>"
    app: Flask = build_app(
        database_url,
        tmp_path / "home",
        lists={
            "governance": {"sources": [{"type": "maildir", "path": str(good)}]},
            "board": {"sources": [{"type": "maildir", "path": str(hostile), "name": "board mail"}]},
            "announce": {"sources": [{"type": "maildir", "path": "/nowhere", "name": "later"}]},
        },
    )
    sync_pass(sessions_of(app), app.config["QUORUM"], list_name="governance")
    sync_pass(sessions_of(app), app.config["QUORUM"], list_name="board")

    assert app.test_client().get("/admin/sources").status_code == 302
    assert signed_in(app, "editor").get("/admin/sources").status_code == 403
    admin = signed_in(app, "admin")
    page = admin.get("/admin/sources").get_data(as_text=True)
    assert 'href="/admin/sources"' in page
    assert f"<code>{good}</code>" in page and "1 stored of 1 read" in page
    assert "board mail" in page and "failing" in page and "1 in a row; next attempt after" in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;: not a maildir" in page
    assert "<script>alert" not in page
    assert "later" in page and "never synced" in page
