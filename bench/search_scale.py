"""Search at scale on the postgres backend: the twisted-python archive replicated to N
times its size, built, and searched with bench/search.py's queries.

    .venv/bin/python bench/search_scale.py --database-url postgresql+psycopg://…/postgres
        [--copies 3 10 31] [--rounds N] [--prefix NAME] [--keep]

The archive (33k messages) is ingested once into the database PREFIX_base on that server
(created if missing, reused afterwards). For each number of copies, PREFIX_xN is made from
it (CREATE DATABASE … TEMPLATE) and filled in SQL with N - 1 more copies of every message,
thread and position: each copy's Message-IDs, thread keys and reply headers rewritten
(``<copyK.id@host>``) and its dates moved K days later, so threads stay within their copy
and the years are those of the archive. Copies keep the text, sender and attachments of
the original; their raw bytes are left empty (search never reads them, and they would
only fill the disk). All copies are one list, as a list of that size would be.

Then, per step, it prints:
- build: the search documents of every message written from scratch as `quorum reindex`
  writes them (``app.search.pg_documents.rebuild``: vectors, facts, GIN and B-tree
  indexes kept up to date as it goes), then VACUUM (what autovacuum does after a bulk
  load, and what lets a search without words read the facts index alone), each timed;
- size: search_documents with its TOAST and each of its indexes;
- queries: bench/search.py's fixed queries, first runs and then --rounds rounds, as that
  script prints them, with the load average.

The databases are dropped after their step unless --keep (the base is always kept).
Nothing generated is written outside the database server.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine, make_url

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

from search import ARCHIVE, bench_app, bench_queries, ensure_archive  # noqa: E402  bench/search.py

from app.models import Message, Position, Thread  # noqa: E402
from app.search import pg_documents  # noqa: E402
from app.settings import settings_of  # noqa: E402

#: Row ids of copy K are the original's plus K times this (above any id of the archive).
STRIDE = 1_000_000


def rewritten(column: str) -> str:
    """SQL: a Message-ID (or thread key) of copy :copy, ``<copyK.`` put before its id."""
    return f"regexp_replace({column}, '^(<?)', '\\1copy' || :copy || '.')"


#: Per table, the columns a copy changes, as SQL over the original row.
CHANGES = {
    Thread.__table__: {
        "id": "id + :copy * :stride",
        "key": rewritten("key"),
        "first_date": "first_date + make_interval(days => :copy)",
        "last_date": "last_date + make_interval(days => :copy)",
    },
    Message.__table__: {
        "id": "id + :copy * :stride",
        "message_id": rewritten("message_id"),
        "parent_message_id": rewritten("parent_message_id"),
        "in_reply_to": rewritten("in_reply_to"),
        "references": f"(SELECT coalesce(json_agg({rewritten('r.id')}), '[]')"
        ' FROM json_array_elements_text("references") AS r(id))',
        "thread_id": "thread_id + :copy * :stride",
        "date_utc": "date_utc + make_interval(days => :copy)",
        "raw": "''::bytea",
    },
    Position.__table__: {
        "id": "id + :copy * :stride",
        "message_pk": "message_pk + :copy * :stride",
        "thread_id": "thread_id + :copy * :stride",
    },
}


def database_url(server: str, name: str) -> str:
    return make_url(server).set(database=name).render_as_string(hide_password=False)


def admin(server: str) -> Engine:
    return create_engine(server, isolation_level="AUTOCOMMIT")


def ensure_base(server: str, name: str, home: Path) -> None:
    """The archive ingested once into database `name` (kept for later runs)."""
    with admin(server).connect() as conn:
        if conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}):
            return
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    app = bench_app(home, "postgres", database_url(server, name))
    ensure_archive(app)
    app.extensions["quorum.engine"].dispose()


def replicate(url: str, copies: int) -> int:
    """Add copies 1 … copies - 1 of the archive; returns the number of messages."""
    engine = create_engine(url)
    with engine.begin() as conn:
        # Foreign keys and the facts triggers are left out while copying (the documents are
        # built afterwards, from scratch): a bulk load, not what the app writes.
        conn.execute(text("SET session_replication_role = replica"))
        for table, changes in CHANGES.items():
            names = [c.name for c in table.columns]
            target = ", ".join(f'"{n}"' for n in names)
            values = ", ".join(changes.get(n, f'"{n}"') for n in names)
            for copy in range(1, copies):
                conn.execute(
                    text(
                        f"INSERT INTO {table.name} ({target}) SELECT {values}"
                        f" FROM {table.name} WHERE id < :stride"
                    ),
                    {"copy": copy, "stride": STRIDE},
                )
            conn.execute(
                text(
                    f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'),"
                    f" (SELECT max(id) FROM {table.name}))"
                )
            )
        count = int(conn.scalar(text("SELECT count(*) FROM messages")) or 0)
    engine.dispose()
    return count


def build(url: str, home: Path) -> None:
    """The search documents of every message, from scratch, then VACUUM; timed."""
    app = bench_app(home, "postgres", url)
    engine = app.extensions["quorum.engine"]
    with engine.begin() as conn:
        conn.execute(text("TRUNCATE search_documents"))
    started = time.perf_counter()
    with app.extensions["quorum.sessionmaker"]() as session:
        count = pg_documents.rebuild(session, settings_of(app).lists)
    built = time.perf_counter() - started
    started = time.perf_counter()
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE search_documents"))
    vacuumed = time.perf_counter() - started
    print(
        f"build: {count} documents in {built:.0f} s = {count / built:.0f}/s"
        f" (then VACUUM ANALYZE {vacuumed:.0f} s)"
    )
    with engine.connect() as conn:
        sizes = conn.execute(
            text(
                "SELECT c.relname, pg_relation_size(c.oid) FROM pg_index i"
                " JOIN pg_class c ON c.oid = i.indexrelid"
                " WHERE i.indrelid = 'search_documents'::regclass ORDER BY c.relname"
            )
        ).all()
        heap, total = conn.execute(
            text(
                "SELECT pg_relation_size('search_documents'),"
                " pg_total_relation_size('search_documents')"
            )
        ).one()
    mb = 2**20
    print(
        f"size: search_documents {total / mb:.0f} MB in all: rows {heap / mb:.0f} MB, "
        + ", ".join(f"{name} {size / mb:.0f} MB" for name, size in sizes)
        + f", TOAST {(total - heap - sum(s for _n, s in sizes)) / mb:.0f} MB"
    )
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", required=True, help="a PostgreSQL server")
    # 31 copies: 1.03 million messages.
    parser.add_argument("--copies", type=int, nargs="+", default=[3, 10, 31])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--prefix", default="quorum_scale")
    parser.add_argument("--home", type=Path, default=Path("/tmp/quorum-bench-scale"))
    parser.add_argument("--keep", action="store_true", help="keep each step's database")
    args = parser.parse_args()
    if not ARCHIVE.is_dir():
        sys.exit(f"bench/search_scale.py: the archive is not at {ARCHIVE}")
    args.home.mkdir(parents=True, exist_ok=True)
    base = f"{args.prefix}_base"
    ensure_base(args.database_url, base, args.home)
    summary = []
    for copies in args.copies:
        name = f"{args.prefix}_x{copies}"
        url = database_url(args.database_url, name)
        with admin(args.database_url).connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{base}"'))
        started = time.perf_counter()
        messages = replicate(url, copies)
        print(f"\n== {copies} copies: {messages} messages (copied in SQL in"
              f" {time.perf_counter() - started:.0f} s)")  # fmt: skip
        build(url, args.home)
        app = bench_app(args.home, "postgres", url)
        p50, p95 = bench_queries(app, args.rounds)
        app.extensions["quorum.engine"].dispose()
        summary.append((messages, p50, p95, os.getloadavg()[0]))
        if not args.keep:
            with admin(args.database_url).connect() as conn:
                conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
    print("\nmessages   p50 ms   p95 ms   load")
    for messages, p50, p95, load in summary:
        print(f"{messages:>8} {p50:8.1f} {p95:8.1f} {load:6.1f}")


if __name__ == "__main__":
    main()
