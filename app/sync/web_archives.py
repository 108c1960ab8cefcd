"""Sources on the web: a Mailman 2 pipermail archive, and any URL serving an mbox.

A pipermail pass reads the archive's index, then asks for each month's text file with the
validators of its last download: an unchanged month is a 304 (or, from a server without
validators, the same SHA-256) and is not read again. A changed month is ingested whole once
it is completely on disk; its messages already stored count as duplicates. A month offered
only as HTML pages is read from its ``thread.html`` and article pages instead.
"""

from __future__ import annotations

import gzip
import shutil
import urllib.parse
import zlib
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from app.source_settings import SourceSettings
from app.sync.errors import SyncError, Unreachable
from app.sync.http import Download
from app.sync.sink import Sink
from ingest.records import RawMessage
from ingest.sources.mbox import open_maybe_gzip, split_mbox
from ingest.sources.pipermail_html import iter_pipermail_html
from ingest.sources.pipermail_index import ArchiveMonth, archive_months, month_articles

#: In an mbox URL, replaced by the day before the last successful pass (HyperKitty's
#: export takes ``?start=YYYY-MM-DD``): the overlap is recognised as duplicates.
SINCE = "{since}"
_FIRST_DAY = "1970-01-01"


def pull_pipermail(source: SourceSettings, cursor: dict[str, Any], sink: Sink) -> None:
    """One pass over a pipermail archive, oldest month first. A month the server refuses
    (a dead link, a damaged file) does not hold back the others: the pass goes on and
    fails at the end, naming it. An unreachable server ends the pass at once."""
    index = sink.http.fetch(source.url, sink.workdir)
    assert index.path is not None  # an unconditional request is never answered 304
    try:
        months = archive_months(index.path.read_bytes().decode("utf-8", "replace"))
    finally:
        index.path.unlink()
    # The months are where the index was found, after any redirect (an archive moved).
    base = index.url
    if not months:
        raise SyncError(f"{source.url}: no monthly archives linked (is this a pipermail index?)")
    seen: dict[str, Any] = dict(cursor.get("months", {}))
    failed: list[str] = []
    for month in months:
        try:
            if month.text_file is not None:
                _pull_text_month(base, month, seen, sink)
            else:
                _pull_html_month(base, month, seen, sink)
        except Unreachable:
            raise
        except SyncError as exc:
            failed.append(str(exc))
    if failed:
        more = f" (and {len(failed) - 1} more months)" if len(failed) > 1 else ""
        raise SyncError(failed[0] + more)


def _pull_text_month(base: str, month: ArchiveMonth, seen: dict[str, Any], sink: Sink) -> None:
    assert month.text_file is not None
    url = urllib.parse.urljoin(base, month.text_file)
    before = seen.get(month.name, {})
    validators = before if before.get("file") == month.text_file else {}
    download = sink.http.fetch(url, sink.workdir, _validators(validators))

    def cursor_with(sha256: str | None) -> dict[str, Any]:
        seen[month.name] = {"file": month.text_file, **download.validators, "sha256": sha256}
        return {"months": dict(seen)}

    _ingest_file(download, url, validators.get("sha256"), cursor_with, sink)


def _pull_html_month(base: str, month: ArchiveMonth, seen: dict[str, Any], sink: Sink) -> None:
    """A month without a text file: its thread.html, then every article it links, read as
    one pipermail HTML month folder (the thread index gives the parents)."""
    month_url = urllib.parse.urljoin(base, f"{month.name}/")
    before = seen.get(month.name, {})
    validators = before if before.get("file") == "thread.html" else {}
    index = sink.http.fetch(month_url + "thread.html", sink.workdir, _validators(validators))
    if index.path is None or index.sha256 == validators.get("sha256"):
        if index.path is not None:
            index.path.unlink()
        seen[month.name] = {
            "file": "thread.html",
            **index.validators,
            "sha256": validators.get("sha256"),
        }
        sink.save_cursor({"months": dict(seen)})
        return
    folder = sink.workdir / month.name
    folder.mkdir()
    try:
        shutil.move(index.path, folder / "thread.html")
        for article in month_articles((folder / "thread.html").read_text("utf-8", "replace")):
            page = sink.http.fetch(month_url + article, sink.workdir)
            assert page.path is not None
            shutil.move(page.path, folder / article)
        seen[month.name] = {"file": "thread.html", **index.validators, "sha256": index.sha256}
        messages = (
            replace(raw, source=month_url + Path(raw.source).name)
            for raw in iter_pipermail_html(folder, sink.list_name, sink.limit)
        )
        sink.take(messages, {"months": dict(seen)})
    finally:
        shutil.rmtree(folder)


def pull_mbox_url(source: SourceSettings, cursor: dict[str, Any], sink: Sink) -> None:
    """One pass over an mbox URL: fetched conditionally, ingested whole when it changed."""
    since = cursor.get("since", _FIRST_DAY)
    url = source.url.replace(SINCE, since)
    # The day before this pass started: mail that arrives during it is read again next time.
    next_since = (datetime.now(UTC) - timedelta(days=1)).date().isoformat()
    download = sink.http.fetch(url, sink.workdir, _validators(cursor))

    def cursor_with(sha256: str | None) -> dict[str, Any]:
        moved = {"since": next_since} if SINCE in source.url else {}
        return {**download.validators, **moved, "sha256": sha256}

    _ingest_file(download, url, cursor.get("sha256"), cursor_with, sink)


def _ingest_file(
    download: Download,
    url: str,
    previous_sha256: str | None,
    cursor_with: Callable[[str | None], dict[str, Any]],
    sink: Sink,
) -> None:
    """Store the messages of a downloaded mbox, unless it is unchanged (a 304, or the same
    bytes as last time), and move the cursor past it."""
    if download.path is None or download.sha256 == previous_sha256:
        if download.path is not None:
            download.path.unlink()
        sink.save_cursor(cursor_with(previous_sha256))
        return
    try:
        _check_complete(download.path, url)
        sink.take(_messages(download.path, url, sink), cursor_with(download.sha256))
    finally:
        download.path.unlink()


def _messages(path: Path, url: str, sink: Sink) -> Iterator[RawMessage]:
    with open_maybe_gzip(path) as fh:
        yield from split_mbox(fh, url, sink.list_name, sink.limit)


def _check_complete(path: Path, url: str) -> None:
    """A gzip file is read to its end once before any message is taken: a file cut short
    on the server is refused whole rather than ingested up to the cut."""
    with path.open("rb") as probe:
        if probe.read(2) != b"\x1f\x8b":
            return
    try:
        with gzip.open(path, "rb") as fh:
            while fh.read(1 << 20):
                pass
    except (EOFError, OSError, zlib.error) as exc:
        raise SyncError(f"{url}: not a complete gzip file ({exc})") from None


def _validators(record: dict[str, Any]) -> dict[str, str]:
    return {k: record[k] for k in ("etag", "last_modified") if record.get(k)}
