"""Web benchmark: the app under gunicorn (2 workers) on 127.0.0.1, driven by wrk.

Usage: .venv/bin/python bench/web.py [--home DIR] [--seconds N] [--clients N]

Loads the whole twisted-python archive (../shared/corpora) into DIR once (reused on later
runs), then for each page — home, a list page, the largest thread, a message permalink
and a search — runs wrk with N concurrent clients for a bounded time and prints requests/s,
p50/p95 latency and errors; then the cost of a cache miss (each URL once, in process).
Targets: thread p95 ≤ 150 ms and search p95 ≤ 100 ms at 20 clients, zero errors.
Needs `wrk` (Debian package `wrk`).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# bench/ holds an ingest.py of its own: the project's packages must come first.
sys.path.insert(0, str(ROOT))

from sqlalchemy import func, select  # noqa: E402

ARCHIVE = ROOT.parent / "shared" / "corpora" / "twisted-python" / "archive"
LUA = """
done = function(summary, latency, requests)
  io.write(string.format("QUORUM p50=%.3f p95=%.3f requests=%d errors=%d non2xx=%d\\n",
    latency:percentile(50) / 1000, latency:percentile(95) / 1000, summary.requests,
    summary.errors.connect + summary.errors.read + summary.errors.write
    + summary.errors.timeout, summary.errors.status))
end
"""


def ensure_archive(home: Path) -> None:
    env = {**os.environ, "QUORUM_HOME": str(home)}
    from app import create_app
    from app.db import upgrade
    from app.models import MailingList

    app = create_app({"home": str(home), "database_url": ""})
    upgrade(app.extensions["quorum.engine"])
    with app.extensions["quorum.sessionmaker"]() as session:
        loaded = session.scalar(select(MailingList.id).where(MailingList.name == "twisted-python"))
    if loaded is None:
        print(f"ingesting {ARCHIVE} into {home} (once)…", flush=True)
        subprocess.run(
            [str(ROOT / ".venv/bin/quorum"), "ingest", str(ARCHIVE), "--list", "twisted-python"],
            env=env,
            check=True,
            stdout=subprocess.DEVNULL,
        )


def pick_urls(home: Path) -> dict[str, str]:
    from app import create_app
    from app.models import MailingList, Message, Thread

    app = create_app({"home": str(home), "database_url": ""})
    with app.extensions["quorum.sessionmaker"]() as session:
        list_id = session.scalar(select(MailingList.id).where(MailingList.name == "twisted-python"))
        # The largest thread: the heaviest page to render.
        thread = session.scalars(
            select(Thread)
            .where(Thread.list_id == list_id)
            .order_by(Thread.message_count.desc())
            .limit(1)
        ).first()
        if thread is None:
            sys.exit("no thread: is the archive loaded?")
        message_id = session.scalar(
            select(Message.message_id)
            .where(Message.thread_id == thread.id)
            .order_by(func.length(Message.body).desc())
            .limit(1)
        )
    quote = urllib.parse.quote
    print(f"thread: {thread.subject!r} ({thread.message_count} messages)")
    return {
        "home": "/",
        "list": "/lists/twisted-python",
        "thread": f"/lists/twisted-python/threads/{quote(thread.key.strip('<>'), safe='@')}",
        "permalink": f"/m/{quote((message_id or '').strip('<>'), safe='@')}",
        "search": "/search?q=" + quote("deferred callback"),
    }


QUERIES = (
    "deferred",
    "reactor",
    "callback",
    "twisted.web",
    "from:glyph",
    "date:2005",
    "subject:release",
    "woven",
    "perspective broker",
    "pb",
    "trial",
    "conch ssh",
    "deferredlist",
    "inlineCallbacks",
    "adbapi",
    "iocp",
    "epoll",
    "web2",
    "nevow",
    "zope interface",
)


def uncached(home: Path) -> None:
    """Service time of pages no reader asked for before (every URL once, in process): what
    a cache miss costs, beside the load test that the page cache mostly answers."""
    from app import create_app
    from app.models import Thread

    app = create_app({"home": str(home), "database_url": ""})
    client = app.test_client()
    client.get("/search?q=warm+up")
    with app.extensions["quorum.sessionmaker"]() as session:
        keys = session.scalars(select(Thread.key).order_by(Thread.message_count.desc()).limit(30))
        threads = [
            "/lists/twisted-python/threads/" + urllib.parse.quote(k.strip("<>"), safe="@")
            for k in keys
        ]
    groups = {
        "thread": threads,
        "search": ["/search?q=" + urllib.parse.quote(q) for q in QUERIES],
        "list": [f"/lists/twisted-python?page={n}" for n in range(1, 21)],
    }
    print(f"{'uncached':<10} {'n':>4} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8}")
    for name, urls in groups.items():
        times = []
        for url in urls:
            started = time.perf_counter()
            assert client.get(url).status_code == 200, url
            times.append((time.perf_counter() - started) * 1000)
        times.sort()
        p95 = times[max(0, round(len(times) * 0.95) - 1)]
        print(
            f"{name:<10} {len(times):>4} {statistics.median(times):>8.1f} {p95:>8.1f} "
            f"{times[-1]:>8.1f}"
        )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", type=Path, default=Path(tempfile.gettempdir()) / "quorum-bench")
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--clients", type=int, default=20)
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("bench/web.py needs wrk: apt-get install wrk")
    if not ARCHIVE.is_dir():
        sys.exit(f"corpus not found: {ARCHIVE}")
    args.home.mkdir(parents=True, exist_ok=True)
    ensure_archive(args.home)
    urls = pick_urls(args.home)
    port = free_port()
    env = {**os.environ, "QUORUM_HOME": str(args.home)}
    server = subprocess.Popen(
        [str(ROOT / ".venv/bin/gunicorn"), "-w", "2", "-b", f"127.0.0.1:{port}", "wsgi:app"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    script = Path(tempfile.mkstemp(suffix=".lua")[1])
    script.write_text(LUA)
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                urllib.request.urlopen(base + "/", timeout=2)
                break
            except OSError:
                time.sleep(0.2)
        for url in urls.values():  # warm both workers' caches, as a running site would be
            for _ in range(4):
                urllib.request.urlopen(base + url, timeout=30).read()
        print(f"{'page':<10} {'req/s':>8} {'p50 ms':>8} {'p95 ms':>8} {'errors':>7}")
        for name, url in urls.items():
            out = subprocess.run(
                [
                    "wrk",
                    "-t2",
                    f"-c{args.clients}",
                    f"-d{args.seconds}s",
                    "-s",
                    str(script),
                    base + url,
                ],
                capture_output=True,
                text=True,
                check=True,
            ).stdout
            rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
            stats = dict(re.findall(r"(\w+)=([\d.]+)", out.split("QUORUM", 1)[1]))
            errors = int(stats["errors"]) + int(stats["non2xx"])
            print(
                f"{name:<10} {rate:>8.1f} {float(stats['p50']):>8.1f} "
                f"{float(stats['p95']):>8.1f} {errors:>7}",
                flush=True,
            )
    finally:
        server.terminate()
        server.wait()
        script.unlink()
    uncached(args.home)


if __name__ == "__main__":
    main()
