"""Sync benchmark: a pipermail archive followed over loopback, against ingesting the same
files from disk.

    .venv/bin/python bench/sync.py [--archive PATH] [--runs N] [--database-url URL]

The archive folder (default: the twisted-python archive of ../shared/corpora: its real
``index.html`` and 248 ``.txt.gz`` months) is served by the HTTP server the sync tests use
(tests/archive_server.py: 127.0.0.1, ETag and Last-Modified, 304s). Each run, into fresh
databases and indexes:

1. disk: ``quorum ingest`` of the month files, until it returns (everything searchable);
2. first sync: one ``quorum sync`` pass over the pipermail source, until it returns;
3. nothing new: a second pass (the index, then one conditional request per month);
4. one new message: a message appended to the newest month (re-gzipped), a third pass, and
   a search that must find it.

Prints each run, then the medians of the runs: seconds and messages per second for 1 and 2
and their ratio, seconds for 3 and 4, and the peak RSS of this process and of its largest
child (the background indexer).
"""

from __future__ import annotations

import argparse
import gzip
import resource
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app import create_app  # noqa: E402
from app.db import throwaway_database, upgrade  # noqa: E402
from app.ingestion import run_ingest  # noqa: E402
from app.search import index_of, search  # noqa: E402
from app.settings import settings_of  # noqa: E402
from app.sync.runner import sync_pass  # noqa: E402
from ingest.sources.pipermail_index import archive_months  # noqa: E402
from tests.archive_server import Site, serving  # noqa: E402

TWISTED = ROOT.parent / "shared" / "corpora" / "twisted-python" / "archive"
ARCHIVE = "/pipermail/bench/"
LIST = "bench"


@dataclass
class Run:
    read: int
    disk: float
    first: float
    nothing_new: float
    one_new: float


def archive_site(folder: Path) -> tuple[Site, list[Path]]:
    """The archive's index and month files, served as a pipermail archive."""
    site = Site()
    site.put(ARCHIVE, (folder / "index.html").read_bytes())
    months = sorted(folder.glob("*.txt.gz"))
    for month in months:
        site.put(ARCHIVE + month.name, month.read_bytes())
    return site, months


@contextmanager
def database(server_url: str) -> Iterator[str]:
    """ "" (SQLite in the app's home) or a throwaway PostgreSQL database."""
    if not server_url:
        yield ""
        return
    with throwaway_database(server_url, "quorum_bench") as url:
        yield url


def new_message(word: str) -> bytes:
    """One more message for the newest month, in pipermail's text format."""
    return (
        "From bench at example.org  Tue Aug 31 12:00:00 2021\n"
        "From: bench at example.org (Bench Mark)\n"
        "Date: Tue, 31 Aug 2021 12:00:00 +0000\n"
        "Subject: [Twisted-Python] One more message\n"
        f"Message-ID: <{word}@bench.example.org>\n\n"
        f"A message that only the benchmark writes: {word}.\n\n"
    ).encode()


def one_run(site: Site, months: list[Path], server_url: str, base: str) -> Run:
    with ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="quorum-bench-")))
        disk_url = stack.enter_context(database(server_url))
        sync_url = stack.enter_context(database(server_url))
        disk_app = create_app({"home": str(tmp / "disk"), "database_url": disk_url})
        upgrade(disk_app.extensions["quorum.engine"])
        started = time.perf_counter()
        account = run_ingest(
            disk_app.extensions["quorum.sessionmaker"],
            settings_of(disk_app),
            months,
            list_name=LIST,
            progress=False,
        )
        disk = time.perf_counter() - started
        disk_app.extensions["quorum.engine"].dispose()

        source = {"type": "pipermail", "url": base + ARCHIVE}
        app = create_app(
            {
                "home": str(tmp / "sync"),
                "database_url": sync_url,
                "lists": {LIST: {"sources": [source]}},
            }
        )
        upgrade(app.extensions["quorum.engine"])
        sessions, settings = app.extensions["quorum.sessionmaker"], settings_of(app)

        def timed_pass() -> tuple[float, int]:
            started = time.perf_counter()
            [report] = sync_pass(sessions, settings)
            elapsed = time.perf_counter() - started
            if report.status != "ok" or report.account is None:
                raise SystemExit(f"the sync failed: {report.error}")
            return elapsed, report.account.read

        first, read = timed_pass()
        if read != account.read:
            raise SystemExit(f"the sync read {read} messages, the ingest {account.read}")
        nothing_new, read = timed_pass()
        assert read == 0, read
        newest = ARCHIVE + str(archive_months(site.files[ARCHIVE].decode())[-1].text_file)
        word = f"benchword{uuid.uuid4().hex[:12]}"
        original = site.files[newest]
        site.put(newest, gzip.compress(gzip.decompress(original) + new_message(word)))
        try:
            one_new, _ = timed_pass()
        finally:
            site.put(newest, original)
        hits = [h.message_id for h in search(index_of(app), word).hits]
        if hits != [f"<{word}@bench.example.org>"]:
            raise SystemExit(f"the new message is not searchable: {hits}")
        app.extensions["quorum.engine"].dispose()
    return Run(account.read, disk, first, nothing_new, one_new)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--archive", type=Path, default=TWISTED)
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--database-url", default="", help="a PostgreSQL server (default SQLite)")
    args = parser.parse_args()
    site, months = archive_site(args.archive)
    runs = []
    with serving(site) as base:
        for number in range(1, args.runs + 1):
            run = one_run(site, months, args.database_url, base)
            runs.append(run)
            print(
                f"run {number}: disk {run.disk:.1f} s, first sync {run.first:.1f} s,"
                f" nothing new {run.nothing_new:.2f} s, one new {run.one_new:.2f} s",
                flush=True,
            )
    med = {key: statistics.median(getattr(r, key) for r in runs) for key in Run.__annotations__}
    read = runs[0].read
    print(f"archive            {args.archive} ({len(months)} months, {read} messages)")
    print(f"database           {'postgresql' if args.database_url else 'sqlite'}")
    print(f"runs               {len(runs)} (medians)")
    print(f"ingest from disk   {med['disk']:.1f} s, {read / med['disk']:.0f} messages/s")
    print(
        f"first sync         {med['first']:.1f} s, {read / med['first']:.0f} messages/s"
        f" ({med['first'] / med['disk']:.2f} x the ingest from disk)"
    )
    print(f"nothing new        {med['nothing_new']:.2f} s")
    print(f"one new message    {med['one_new']:.2f} s until searchable")
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    child = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"peak RSS           {own:.0f} MB (this process), {child:.0f} MB (largest child)")


if __name__ == "__main__":
    main()
