"""Search benchmark on the whole twisted-python archive: index build and query latency.

    .venv/bin/python bench/search.py [--home DIR] [--rounds N] [--skip-build]
        [--backend whoosh|postgres --database-url postgresql+psycopg://…/DBNAME]

The first run ingests the archive into DIR (default /tmp/quorum-bench-search; ingest
indexes each batch, so it prints the end-to-end ingest rate including indexing) and later
runs reuse it. With `--backend postgres` the archive goes into the (existing, empty or
already filled by an earlier run) PostgreSQL database named by --database-url, searched
there; the build step is then `quorum reindex` of that backend (the vectors), and the
size of the table and of its GIN index is printed.

Each run then rebuilds the index from the database (documents/s, peak RSS of the process
and of its writer processes) unless --skip-build, and runs a fixed set of realistic
queries (terms, phrases, fields, date ranges, grouping, sorting) as the search page does:
top 10 with snippets and all facets. Prints latency p50/p95/max in ms, first for each
query's first run in the process (cold caches), then over the repeated rounds.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import sys
import time
from pathlib import Path

from flask import Flask
from sqlalchemy import select, text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app import create_app  # noqa: E402
from app.db import upgrade  # noqa: E402
from app.ingestion import run_ingest  # noqa: E402
from app.models import Message  # noqa: E402
from app.search import index_of, index_threads, pg_documents, rebuild, search  # noqa: E402
from app.search.index_store import open_current  # noqa: E402
from app.settings import settings_of  # noqa: E402

ARCHIVE = ROOT.parent / "shared" / "corpora" / "twisted-python" / "archive"

#: (query, options): what people search a Python networking list for.
QUERIES: list[tuple[str, dict[str, object]]] = [
    ("deferred", {}),
    ("reactor", {}),
    ("twisted", {}),
    ("callback errback", {}),
    ("inlineCallbacks", {}),
    ("perspective broker", {}),
    ("conch ssh", {}),
    ("web2", {}),
    ("trial unittest", {}),
    ("python 3 port", {}),
    ("memory leak", {}),
    ("threads blocking", {}),
    ("windows iocp", {}),
    ("ssl certificate", {}),
    ("unicode bytes", {}),
    ("release candidate", {}),
    ('"reactor.run"', {}),
    ('"deferred list"', {}),
    ('"connection lost"', {}),
    ('"perspective broker"', {}),
    ('"twisted.web"', {}),
    ('"callLater"', {}),
    ("from:glyph", {}),
    ("from:exarkun deferred", {}),
    ("f:itamar reactor", {}),
    ("from:calderone", {}),
    ("subject:release", {}),
    ("s:ANN twisted", {}),
    ("subject:conch", {}),
    ("quoted:deferred", {}),
    ("q:reactor callLater", {}),
    ("list:twisted-python protocol", {}),
    ("date:2003", {}),
    ("date:2003-04", {}),
    ("date:2008-01..2008-06 deferred", {}),
    ("after:2019-06-01 reactor", {}),
    ("before:2003 protocol", {}),
    ("date:2010..2012 python3", {}),
    ("after:2015 asyncio", {}),
    ("has:attachment", {}),
    ("has:attachment patch", {}),
    ("stance:support", {}),
    ("deferred -reactor", {}),
    ("deferred NOT callback", {}),
    ("(conch OR ssh) AND key", {}),
    ("twist*", {}),
    ("protoc*", {}),
    ("interoperability", {}),
    ("deferred", {"group_by_thread": True}),
    ("reactor stop", {"group_by_thread": True}),
    ("ssl", {"sort": "newest"}),
    ("trial", {"sort": "oldest"}),
    ("deferred", {"page": 3}),
    ("factory protocol", {"sort": "newest", "group_by_thread": True}),
    ("deferrd callbak", {}),  # nothing: spelling suggestions
    ("<20030410175435.GA1185@example.com>", {}),
]


def _cpu_seconds() -> float:
    """User + system time of this process and its finished children (the index writers):
    on shared, busy cores wall-clock rates say more about the neighbours than about us."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def bench_app(home: Path, backend: str, database_url: str) -> Flask:
    return create_app(
        {"home": str(home), "database_url": database_url, "search": {"backend": backend}}
    )


def ensure_archive(app: Flask) -> None:
    upgrade(app.extensions["quorum.engine"])
    with app.extensions["quorum.sessionmaker"]() as session:
        if session.scalar(select(Message.id).limit(1)) is not None:
            return
    months = sorted(ARCHIVE.glob("*.txt.gz"))
    cpu = _cpu_seconds()
    started = time.perf_counter()
    account = run_ingest(
        app.extensions["quorum.sessionmaker"],
        settings_of(app),
        months,
        list_name="twisted-python",
        progress=False,
    )
    elapsed = time.perf_counter() - started
    cpu = _cpu_seconds() - cpu
    print(
        f"ingest + index: {account.read} read, {account.stored} stored in {elapsed:.1f}s"
        f" = {account.read / elapsed:.0f} messages read/s, {account.stored / elapsed:.0f} stored/s"
        f" ({cpu:.0f} CPU s: {account.read / cpu:.0f} read per CPU second)"
    )


def bench_build_vectors(app: Flask) -> None:
    """The postgres backend's rebuild (`quorum reindex`), and what its vectors weigh."""
    cpu = _cpu_seconds()
    started = time.perf_counter()
    with app.extensions["quorum.sessionmaker"]() as session:
        count = pg_documents.rebuild(session, settings_of(app).lists)
        elapsed = time.perf_counter() - started
        cpu = _cpu_seconds() - cpu
        table, index = session.execute(
            text(
                "SELECT pg_total_relation_size('search_documents'),"
                " pg_relation_size('ix_search_documents_document')"
            )
        ).one()
    print(
        f"reindex (vectors): {count} messages in {elapsed:.1f}s = {count / elapsed:.0f}/s"
        f" ({cpu:.0f} CPU s in this process); search_documents {table / 2**20:.0f} MB"
        f" with its GIN index {index / 2**20:.0f} MB"
    )


def bench_build(app: Flask) -> None:
    index_dir = settings_of(app).index_dir
    cpu = _cpu_seconds()
    started = time.perf_counter()
    with app.extensions["quorum.sessionmaker"]() as session:
        count = rebuild(session, index_dir)
    elapsed = time.perf_counter() - started
    cpu = _cpu_seconds() - cpu
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    writers = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(
        f"reindex: {count} documents in {elapsed:.1f}s = {count / elapsed:.0f} documents/s"
        f" ({cpu:.0f} CPU s over all processes: {count / cpu:.0f} documents per CPU second);"
        f" peak RSS {own:.0f} MB (writer processes {writers:.0f} MB)"
    )
    bench_update_after_rebuild(app, index_dir)


def bench_update_after_rebuild(app: Flask, index_dir: Path) -> None:
    """What the next ingest batch costs the fresh index: the threads of the newest
    `index_every` messages, rewritten in one commit (which must not merge the rebuild's
    segments)."""
    newest = settings_of(app).ingest.index_every
    with app.extensions["quorum.sessionmaker"]() as session:
        threads = set(
            session.scalars(
                select(Message.thread_id)
                .where(Message.thread_id.is_not(None))
                .order_by(Message.id.desc())
                .limit(newest)
            )
        )
        before = len(open_current(index_dir)._segments())
        cpu = _cpu_seconds()
        started = time.perf_counter()
        count = index_threads(session, index_dir, threads)
        elapsed = time.perf_counter() - started
        cpu = _cpu_seconds() - cpu
    after = len(open_current(index_dir)._segments())
    print(
        f"update after reindex: {count} documents of the threads of the newest {newest}"
        f" messages in {elapsed:.1f}s ({cpu:.1f} CPU s); segments {before} → {after}"
    )


def bench_queries(app: Flask, rounds: int) -> tuple[float, float]:
    """Print the latencies of the fixed queries (first runs, then `rounds` rounds); returns
    the rounds' p50 and p95 in ms."""
    index = index_of(app)
    search(index, "warm up", per_page=10)  # open the index once
    cold: list[float] = []
    for query, options in QUERIES:  # each query's first run fills the per-index caches
        started = time.perf_counter()
        search(index, query, per_page=10, **options)  # type: ignore[arg-type]
        cold.append((time.perf_counter() - started) * 1000)
    cold.sort()
    print(
        f"first runs (cold caches): p50 {statistics.median(cold):.1f} ms,"
        f" p95 {cold[int(len(cold) * 0.95) - 1]:.1f} ms, max {cold[-1]:.1f} ms"
    )
    timings: list[float] = []
    slowest: dict[str, float] = {}
    for _ in range(rounds):
        for query, options in QUERIES:
            started = time.perf_counter()
            results = search(index, query, per_page=10, **options)  # type: ignore[arg-type]
            took = (time.perf_counter() - started) * 1000
            assert results.error is None, (query, results.error)
            timings.append(took)
            slowest[query] = max(took, slowest.get(query, 0.0))
    timings.sort()
    p50 = statistics.median(timings)
    p95 = timings[int(len(timings) * 0.95) - 1]
    print(f"load average before the queries: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print(
        f"queries: {len(QUERIES)} × {rounds} rounds, top 10 with snippets and facets:"
        f" p50 {p50:.1f} ms, p95 {p95:.1f} ms, max {timings[-1]:.1f} ms"
    )
    worst = sorted(slowest.items(), key=lambda kv: -kv[1])[:5]
    print("slowest: " + ", ".join(f"{q!r} {ms:.0f} ms" for q, ms in worst))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS of this process: {peak:.0f} MB (with --skip-build: the searching process)")
    return p50, p95


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--home", type=Path, default=Path("/tmp/quorum-bench-search"))
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--skip-build", action="store_true")
    parser.add_argument("--backend", choices=("whoosh", "postgres"), default="whoosh")
    parser.add_argument("--database-url", default="", help="default: SQLite in --home")
    args = parser.parse_args()
    if not ARCHIVE.is_dir():
        sys.exit(f"bench/search.py: the archive is not at {ARCHIVE}")
    if args.backend == "postgres" and not args.database_url.startswith("postgresql"):
        sys.exit("bench/search.py: --backend postgres needs --database-url postgresql+psycopg://…")
    args.home.mkdir(parents=True, exist_ok=True)
    app = bench_app(args.home, args.backend, args.database_url)
    ensure_archive(app)
    if not args.skip_build:
        if args.backend == "postgres":
            bench_build_vectors(app)
        else:
            bench_build(app)
    bench_queries(app, args.rounds)


if __name__ == "__main__":
    main()
