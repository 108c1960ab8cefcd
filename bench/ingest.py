"""Ingest benchmark: a whole archive into a fresh database, end to end (parse + store + thread).

    .venv/bin/python bench/ingest.py [--archive PATH] [--database-url URL] [--core-only]
                                     [--profile FILE]

Prints messages read and stored per second, the account, and the peak RSS of the process.
Defaults to the twisted-python archive of ../shared/corpora (248 `.txt.gz` months) and a
fresh SQLite database in a temporary folder. With --database-url (PostgreSQL), a throwaway
database is created on that server and dropped afterwards. --core-only measures what the
ingest itself costs (parse + store + thread): the per-batch hooks that derive positions
and update the search index are replaced by no-ops for the run. CPU time and peak RSS are
given for the ingest process and for its child processes (the background indexer and the
writers of a rebuild), which work beside it.
"""

from __future__ import annotations

import argparse
import cProfile
import resource
import sys
import tempfile
import time
import uuid
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app import create_app, importer, settings_of  # noqa: E402
from app.db import upgrade  # noqa: E402

TWISTED = ROOT.parent / "shared" / "corpora" / "twisted-python" / "archive"


def twisted_months(archive: Path) -> list[Path]:
    """The monthly `.txt.gz` files only: the HTML folders are another benchmark."""
    return sorted(archive.glob("*.txt.gz"))


def without_derived_data() -> None:
    """Make the ingest skip the positions and search-index hooks of each batch."""

    def skip(*_args: object, **_kwargs: object) -> None:
        return None

    importer.derive_positions = skip  # type: ignore[assignment]
    importer.PendingIndex.add = skip  # type: ignore[method-assign]
    importer.PendingIndex.flush = skip  # type: ignore[method-assign]


def _cpu_seconds() -> tuple[float, float]:
    """User + system seconds of this process and of its finished children."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime, children.ru_utime + children.ru_stime


def bench(paths: list[Path], database_url: str, home: Path, profile: str | None) -> None:
    app = create_app({"home": str(home), "database_url": database_url})
    upgrade(app.extensions["quorum.engine"])
    sessions = app.extensions["quorum.sessionmaker"]
    profiler = cProfile.Profile() if profile else None
    started = time.perf_counter()
    cpu_started = _cpu_seconds()
    if profiler:
        profiler.enable()
    account = importer.run_ingest(sessions, settings_of(app), paths, progress=False)
    if profiler:
        profiler.disable()
        profiler.dump_stats(profile)
    elapsed = time.perf_counter() - started
    cpu = [now - before for now, before in zip(_cpu_seconds(), cpu_started, strict=True)]
    app.extensions["quorum.engine"].dispose()
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    children_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"database        {make_url(database_url or 'sqlite://').get_backend_name()}")
    print(f"files           {len(paths)}")
    print(
        f"account         read {account.read} = stored {account.stored} + duplicate "
        f"{account.duplicate} + skipped {account.skipped} + rejected {account.rejected}"
    )
    print(f"elapsed         {elapsed:.1f} s")
    print(f"read            {account.read / elapsed:.0f} messages/s")
    print(f"stored          {account.stored / elapsed:.0f} messages/s")
    # On a shared, busy machine wall time includes waiting for a core; CPU time does not.
    print(
        f"cpu             {sum(cpu):.1f} s ({cpu[0]:.1f} s in this process, {cpu[1]:.1f} s in"
        f" its children): {account.read / sum(cpu):.0f} read/cpu-s"
    )
    print(f"peak RSS        {peak_mb:.0f} MB (child processes {children_mb:.0f} MB)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--archive", type=Path, default=TWISTED)
    parser.add_argument("--database-url", default="", help="a PostgreSQL server (default SQLite)")
    parser.add_argument("--profile", help="write cProfile stats to this file")
    parser.add_argument(
        "--core-only", action="store_true", help="parse + store + thread, no derived data"
    )
    args = parser.parse_args()
    if args.core_only:
        without_derived_data()
    paths = twisted_months(args.archive) if args.archive.is_dir() else [args.archive]
    if not paths:
        paths = [args.archive]
    with tempfile.TemporaryDirectory(prefix="quorum-bench-") as tmp:
        if not args.database_url:
            bench(paths, "", Path(tmp), args.profile)
            return
        name = f"quorum_bench_{uuid.uuid4().hex[:10]}"
        admin = create_engine(args.database_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            url = make_url(args.database_url).set(database=name)
            bench(paths, url.render_as_string(hide_password=False), Path(tmp), args.profile)
        finally:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()


if __name__ == "__main__":
    main()
