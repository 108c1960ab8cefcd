"""Ingest benchmark: a whole archive into a fresh database, end to end (parse + store +
thread + positions + search index), until everything stored is searchable.

    .venv/bin/python bench/ingest.py [--archive PATH | --mbox FILE] [--database-url URL]
                                     [--runs N] [--no-positions] [--core-only]
                                     [--profile FILE] [--search-backend whoosh|postgres]

Prints, as the median of --runs runs (default 1; each into a fresh database and index):
messages read and stored per second, messages per second until searchable, the account, CPU
time and the peak RSS of the process tree. Defaults to the twisted-python archive of
../shared/corpora (248 `.txt.gz` months) and a fresh SQLite database in a temporary
folder; --mbox reads one mbox (`.gz` accepted) instead, such as
../shared/corpora/twisted-python/mbox/twisted-10k.mbox.gz, the archive the comparison with
public-inbox (../shared/tools/compare-ingest/compare.sh) uses. With --database-url
(PostgreSQL), a throwaway database is created on that server for each run and dropped
afterwards. --core-only measures what the ingest itself costs (parse + store + thread): the
per-batch hooks that derive positions and update the search index are replaced by no-ops
for the run, so nothing becomes searchable and that figure is left out. --no-positions
ingests as `quorum ingest --no-positions` does: stored and indexed, no stance model applied.
--search-backend postgres (with --database-url) makes messages searchable the postgres
backend's way: a vector written with each message in its transaction, no Whoosh index.

Until searchable: the clock runs from the call of the ingest until it returns, and it
returns only once its index child has indexed everything stored. compare.sh times the
whole `quorum ingest` command instead, so its figure also counts the interpreter's start
and the schema's creation (about a second).

Each run is a forked process of its own, so that one run's heap does not inflate the next
one's memory figures. Peak RSS of the process tree: this process samples, every 0.1 s, the
summed RSS of the run's process and all its descendants (the index child, and a rebuild's
writer processes) from /proc, as compare.sh does, so the figures compare with its table.
`resource`'s RUSAGE_CHILDREN cannot give it: its ru_maxrss is the largest peak of any one
finished descendant, not the peak of their sum while they run side by side, so it is
printed beside as the largest single process. Like compare.sh, the sum counts twice the
pages a forked child still shares with its parent.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import resource
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, fields, replace
from multiprocessing import get_context
from multiprocessing.connection import Connection
from pathlib import Path

from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app import create_app, ingestion  # noqa: E402
from app.db import throwaway_database, upgrade  # noqa: E402
from app.settings import settings_of  # noqa: E402

TWISTED = ROOT.parent / "shared" / "corpora" / "twisted-python" / "archive"
PAGE = os.sysconf("SC_PAGE_SIZE")
#: Seconds between two samples of the process tree's RSS.
SAMPLE_EVERY = 0.1


@dataclass(frozen=True)
class Job:
    """What every run ingests, and how."""

    paths: list[Path]
    fmt: str
    positions: bool
    search_backend: str = "whoosh"


@dataclass
class Figures:
    """One run's measurements (the account's counts are the same in every run)."""

    read: int = 0
    stored: int = 0
    duplicate: int = 0
    skipped: int = 0
    rejected: int = 0
    elapsed: float = 0.0
    cpu_own: float = 0.0
    cpu_children: float = 0.0
    peak_own_mb: float = 0.0
    peak_child_mb: float = 0.0
    peak_tree_mb: float = 0.0


def twisted_months(archive: Path) -> list[Path]:
    """The monthly `.txt.gz` files only: the HTML folders are another benchmark."""
    return sorted(archive.glob("*.txt.gz"))


def without_derived_data() -> None:
    """Make the ingest skip its derived data: positions and search index."""

    def skip(*_args: object, **_kwargs: object) -> None:
        return None

    ingestion.StaleThreads.add = skip  # type: ignore[method-assign]
    ingestion.StaleThreads.flush = skip  # type: ignore[method-assign]


def _cpu_seconds() -> tuple[float, float]:
    """User + system seconds of this process and of its finished children."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime, children.ru_utime + children.ru_stime


def one_run(job: Job, database_url: str, home: Path, profile: str | None) -> Figures:
    """Ingest into a fresh database and index (in the run's own process)."""
    app = create_app(
        {"home": str(home), "database_url": database_url, "search": {"backend": job.search_backend}}
    )
    upgrade(app.extensions["quorum.engine"])
    sessions = app.extensions["quorum.sessionmaker"]
    profiler = cProfile.Profile() if profile else None
    started = time.perf_counter()
    cpu_started = _cpu_seconds()
    if profiler:
        profiler.enable()
    account = ingestion.run_ingest(
        sessions, settings_of(app), job.paths, fmt=job.fmt, progress=False, positions=job.positions
    )
    if profiler:
        profiler.disable()
        profiler.dump_stats(profile)
    elapsed = time.perf_counter() - started
    cpu = [now - before for now, before in zip(_cpu_seconds(), cpu_started, strict=True)]
    app.extensions["quorum.engine"].dispose()
    return Figures(
        read=account.read,
        stored=account.stored,
        duplicate=account.duplicate,
        skipped=account.skipped,
        rejected=account.rejected,
        elapsed=elapsed,
        cpu_own=cpu[0],
        cpu_children=cpu[1],
        peak_own_mb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        peak_child_mb=resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
    )


def _run_and_report(out: Connection, job: Job, url: str, home: Path, profile: str | None) -> None:
    out.send(one_run(job, url, home, profile))
    out.close()


def tree_rss(root: int) -> int:
    """Bytes resident in `root` and all its descendants now (0 once it has exited)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:  # exited meanwhile
            continue
        # The command name may hold spaces and parentheses: the fields follow the last ")".
        parent = int(stat[stat.rindex(")") + 2 :].split()[1])
        children.setdefault(parent, []).append(int(entry))
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        try:
            total += int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE
        except OSError:
            continue
        todo.extend(children.get(pid, []))
    return total


def measured_run(job: Job, database_url: str, profile: str | None) -> Figures:
    """One run in a forked process, its tree's RSS sampled from here until it ends."""
    context = get_context("fork")
    with (
        tempfile.TemporaryDirectory(prefix="quorum-bench-") as tmp,
        fresh_database(database_url) as url,
    ):
        receive, send = context.Pipe(duplex=False)
        # Not a daemon: the run starts an index child of its own.
        run = context.Process(target=_run_and_report, args=(send, job, url, Path(tmp), profile))
        run.start()
        send.close()
        assert run.pid is not None
        peak = 0
        done = threading.Event()

        def sample() -> None:
            nonlocal peak
            while not done.wait(SAMPLE_EVERY):
                peak = max(peak, tree_rss(run.pid))  # type: ignore[arg-type]

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        try:
            figures: Figures = receive.recv()
        except EOFError:
            run.join()
            raise SystemExit(f"the run failed (exit code {run.exitcode})") from None
        finally:
            done.set()
            sampler.join()
        run.join()
    figures.peak_tree_mb = peak / 2**20
    return figures


@contextmanager
def fresh_database(server_url: str) -> Iterator[str]:
    """The URL of an empty database: SQLite in the run's home (""), or a throwaway
    database on the PostgreSQL server, dropped afterwards."""
    if not server_url:
        yield ""
        return
    with throwaway_database(server_url, "quorum_bench") as url:
        yield url


def median(runs: list[Figures]) -> Figures:
    """Each measurement's median over the runs (the account's counts, the same in every
    run, are the first run's)."""
    first = runs[0]
    return replace(
        first,
        **{
            field.name: statistics.median(getattr(run, field.name) for run in runs)
            for field in fields(Figures)
            if isinstance(getattr(first, field.name), float)
        },
    )


def report(
    runs: list[Figures], database_url: str, files: int, searchable: bool, backend: str
) -> None:
    for number, run in enumerate(runs, 1):
        print(
            f"run {number}           {run.elapsed:.1f} s, {run.read / run.elapsed:.0f} read/s,"
            f" peak RSS of the tree {run.peak_tree_mb:.0f} MB"
        )
    figures = median(runs)
    read = figures.read
    print(f"database        {make_url(database_url or 'sqlite://').get_backend_name()}")
    print(f"search backend  {backend}")
    print(f"files           {files}")
    print(f"runs            {len(runs)} (medians below)")
    print(
        f"account         read {read} = stored {figures.stored} + duplicate "
        f"{figures.duplicate} + skipped {figures.skipped} + rejected {figures.rejected}"
    )
    print(f"elapsed         {figures.elapsed:.1f} s")
    print(f"read            {read / figures.elapsed:.0f} messages/s")
    print(f"stored          {figures.stored / figures.elapsed:.0f} messages/s")
    if searchable:
        print(
            f"searchable      {read / figures.elapsed:.0f} messages/s read until all are searchable"
        )
    # On a shared, busy machine wall time includes waiting for a core; CPU time does not.
    cpu = figures.cpu_own + figures.cpu_children
    print(
        f"cpu             {cpu:.1f} s ({figures.cpu_own:.1f} s in the ingest process,"
        f" {figures.cpu_children:.1f} s in its children): {read / cpu:.0f} read/cpu-s"
    )
    print(
        f"peak RSS        {figures.peak_tree_mb:.0f} MB for the process tree (the ingest"
        f" process {figures.peak_own_mb:.0f} MB, its largest child {figures.peak_child_mb:.0f} MB)"
    )
    print(f"load average    {' '.join(f'{load:.2f}' for load in os.getloadavg())}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--archive", type=Path, default=TWISTED)
    source.add_argument("--mbox", type=Path, help="one mbox file (.gz accepted)")
    parser.add_argument("--database-url", default="", help="a PostgreSQL server (default SQLite)")
    parser.add_argument("--runs", type=int, default=1, help="runs to take the medians of")
    parser.add_argument("--profile", help="write the first run's cProfile stats to this file")
    parser.add_argument(
        "--no-positions", action="store_true", help="store and index, no stance model"
    )
    parser.add_argument(
        "--core-only", action="store_true", help="parse + store + thread, no derived data"
    )
    parser.add_argument("--search-backend", choices=("whoosh", "postgres"), default="whoosh")
    args = parser.parse_args()
    if args.search_backend == "postgres" and not args.database_url:
        parser.error("--search-backend postgres needs --database-url (a PostgreSQL server)")
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    if args.core_only:
        without_derived_data()
    if args.mbox:
        paths, fmt = [args.mbox], "mbox"
    else:
        paths = twisted_months(args.archive) if args.archive.is_dir() else [args.archive]
        paths, fmt = paths or [args.archive], "auto"
    job = Job(paths, fmt, positions=not args.no_positions, search_backend=args.search_backend)
    runs = [
        measured_run(job, args.database_url, args.profile if number == 0 else None)
        for number in range(args.runs)
    ]
    report(
        runs,
        args.database_url,
        len(paths),
        searchable=not args.core_only,
        backend=args.search_backend,
    )


if __name__ == "__main__":
    main()
