"""Hostile-input benchmark: crafted archives through the real `quorum ingest`, one child each.

    .venv/bin/python bench/hostile.py [--database-url URL] [--only NAME…] [--timeout SECONDS]

Each input is built in a temporary folder and ingested by the `quorum` console script in a
child process, on a fresh database (SQLite under the case's QUORUM_HOME; with
--database-url, a throwaway PostgreSQL database created on that server and dropped after),
whose schema is migrated before the clock starts. For every input it prints the size on
disk, the wall and CPU seconds of the ingest (from the command's start, Python and the
app's modules loaded), the peak RSS of the child's whole process tree (the ingest and the
search indexer it starts), sampled from /proc, and the account
(read = stored + duplicate + skipped + rejected) against the messages the input holds.

Targets (issue 13): at most 2 s for inputs up to 1 MB, at most 300 MB, every message
accounted for. The "ordinary message" row is the floor: opening the database and the
index. A child still running after --timeout seconds is killed and reported as such.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # before bench/, whose ingest.py would shadow the package

from app.db import throwaway_database  # noqa: E402

# The child is the `quorum` console script's own entry point, with the clock started once
# Python and the app's modules are loaded: on a shared machine, starting Python alone can
# take seconds that say nothing about the input. It prints its wall and CPU seconds (its
# own and its finished children's: the search indexer) on stderr, after a marker.
CHILD = """
import resource, sys, time
import app.cli, app.ingestion
def cpu():
    return sum(
        u.ru_utime + u.ru_stime
        for u in map(resource.getrusage, (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))
    )
wall, used = time.perf_counter(), cpu()
try:
    app.cli.main(args=sys.argv[1:], prog_name="quorum")
finally:
    print("HOSTILE-BENCH", time.perf_counter() - wall, cpu() - used, file=sys.stderr)
"""
PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")
HEADERS = b"From: Mallory <mallory@example.org>\nDate: Tue, 1 Apr 2003 12:00:00 +0000\n"
ENVELOPE = b"From mallory@example.org Tue Apr  1 12:00:00 2003\n"


@dataclass(frozen=True)
class Run:
    wall: float
    cpu: float
    peak_rss: int
    stdout: str | None  # None when the child was killed
    error: str = ""  # the exception the child died of, when it failed


@dataclass(frozen=True)
class Case:
    name: str
    build: Callable[[Path], Path]  # writes the input under a folder, returns the path to ingest
    messages: int  # how many messages the input holds


def _message(number: int, extra_headers: bytes = b"", body: bytes = b"Hello.\n") -> bytes:
    return (
        HEADERS
        + f"Subject: message {number}\nMessage-ID: <m{number}@example.org>\n".encode()
        + extra_headers
        + b"\n"
        + body
    )


def _write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def _mbox(*messages: bytes) -> bytes:
    return b"".join(ENVELOPE + m.rstrip(b"\n") + b"\n\n" for m in messages)


def ordinary(folder: Path) -> Path:
    return _write(folder / "one.eml", _message(1))


def pipermail_page(folder: Path) -> Path:
    """A 100 KB article page whose author block repeats without ever closing: each "</H1>"
    started a scan of the rest of the page for every "</B>" after it."""
    filler = b'</H1><B></B><A HREF="mailto:">' * (100_000 // 30)
    page = (
        b"<HTML><BODY><H1>[hostile] page</H1>"
        + filler
        + b"<!--beginarticle-->\n<PRE>Hello.\n</PRE>\n<!--endarticle-->\n</BODY></HTML>\n"
    )
    return _write(folder / "hostile" / "2003-April" / "000001.html", page).parent


def envelope_line(folder: Path) -> Path:
    """An 80 KB body line after a blank line that starts like an mbox envelope ("From ")
    and holds many times but no year: every time was tried against the rest of the line."""
    line = b"From x " + b"1:11 " * 16_000 + b"\n"
    body = b"First paragraph.\n\n" + line + b"Last line.\n"
    return _write(folder / "envelope.mbox", _mbox(_message(1, body=body), _message(2)))


def header_continuations(folder: Path) -> Path:
    """A Subject folded over 200,000 continuation lines (about 600 KB): the unfolded value
    was rebuilt once per line."""
    folded = b"Subject: folded\n" + b" y\n" * 200_000
    data = HEADERS + b"Message-ID: <folded@example.org>\n" + folded + b"\nHello.\n"
    return _write(folder / "folded.eml", data)


def long_line(folder: Path) -> Path:
    """An mbox whose second message is 8 MB on one line, with no newline at all."""
    body = b"word if then " * (8_000_000 // 13)
    data = _mbox(_message(1)) + ENVELOPE + _message(2, body=body)
    return _write(folder / "long-line.mbox", data)


def gzip_bomb(folder: Path) -> Path:
    """About 100 KB of gzip that holds one message of 100 MB of zero bytes, then another."""
    folder.mkdir(parents=True)
    path = folder / "bomb.mbox.gz"
    with gzip.open(path, "wb", compresslevel=9) as out:
        out.write(ENVELOPE + _message(1, body=b""))
        for _ in range(100):
            out.write(bytes(1 << 20))
        out.write(b"\n\n" + _mbox(_message(2)))
    return path


def nul_bytes(folder: Path) -> Path:
    """NUL bytes in a body, a subject, a sender's name and a Message-ID."""
    return _write(
        folder / "nul.mbox",
        _mbox(
            _message(1, body=b"before\0after\n"),
            HEADERS.replace(b"Mallory", b"Mal\0lory")
            + b"Subject: nul\0subject\nMessage-ID: <nul\0id@example.org>\n\nHello.\n",
            _message(3),
        ),
    )


def _multipart(name: str, folder: Path, *parts: bytes) -> Path:
    delimited = b"".join(b"--b\n" + part + b"\n" for part in parts) + b"--b--\n"
    content_type = b'Content-Type: multipart/mixed; boundary="b"\n'
    return _write(folder / name, _message(1, content_type, body=delimited))


def long_content_type(folder: Path) -> Path:
    """A 400 KB Content-Type of ";": the standard library copied the rest at each one."""
    return _write(folder / "type.eml", _message(1, b"Content-Type: text/html" + b";" * 400_000))


def long_part_disposition(folder: Path) -> Path:
    """A 400 KB Content-Disposition of ";" in a part's header block."""
    return _multipart("disposition.eml", folder, b"Content-Disposition: a" + b";" * 400_000)


def filename_continuations(folder: Path) -> Path:
    """A file name in 50,000 RFC 2231 continuations (filename*0*=…; filename*1*=…)."""
    params = b"".join(b"; filename*%d*=a" % n for n in range(50_000))
    return _multipart("continued.eml", folder, b"Content-Disposition: attachment" + params)


def many_parts(folder: Path) -> Path:
    """50,000 MIME parts, each a boundary, a short header block and one line."""
    return _multipart("parts.eml", folder, *[b"Content-Type: text/plain\n\nhi"] * 50_000)


def deep_nesting(folder: Path) -> Path:
    """Multiparts nested 5,000 deep: the parser recursed once per level."""
    levels = b"".join(
        b'Content-Type: multipart/mixed; boundary="b%d"\n\n--b%d\n' % (n, n) for n in range(5000)
    )
    return _write(folder / "nested.eml", _message(1, levels, body=b""))


def nested_comments(folder: Path) -> Path:
    """A From of 2,000 "(": the standard library's address parser recursed once each."""
    return _write(folder / "comments.eml", _message(1).replace(b"Mallory <", b"(" * 2000 + b"<"))


CASES = (
    Case("ordinary message", ordinary, 1),
    Case("pipermail page 100 KB", pipermail_page, 1),
    Case("envelope-like line 80 KB", envelope_line, 2),
    Case("200k header continuations", header_continuations, 1),
    Case("8 MB line, no newline", long_line, 2),
    Case("gzip bomb 100 MB zeros", gzip_bomb, 2),
    Case("NUL bytes", nul_bytes, 3),
    Case("Content-Type 400 KB of ;", long_content_type, 1),
    Case("part disposition 400 KB", long_part_disposition, 1),
    Case("filename*N* x50k", filename_continuations, 1),
    Case("50k MIME parts", many_parts, 1),
    Case("multipart nested 5000 deep", deep_nesting, 1),
    Case("From of 2000 (", nested_comments, 1),
)


def _tree_rss(root: int) -> int:
    """Resident bytes of `root` and all its descendants, read from /proc."""
    children: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as fh:
                stat = fh.read()
        except OSError:
            continue
        ppid = int(stat.rsplit(b")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    total, pending = 0, [root]
    while pending:
        pid = pending.pop()
        pending.extend(children.get(pid, []))
        try:
            with open(f"/proc/{pid}/statm", "rb") as fh:
                total += int(fh.read().split()[1]) * PAGE_SIZE
        except OSError:
            continue
    return total


def _run(args: list[str], env: dict[str, str], timeout: float) -> Run:
    """Run `quorum ARGS` in a child and watch its process tree until it exits."""
    started = time.perf_counter()
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    peak = 0
    while child.poll() is None:
        peak = max(peak, _tree_rss(child.pid))
        if time.perf_counter() - started > timeout:
            child.kill()
            child.wait()
            return Run(time.perf_counter() - started, 0.0, peak, None)
        time.sleep(0.02)
    assert child.stdout is not None and child.stderr is not None
    stderr = child.stderr.read().decode().splitlines()
    marker = next(line for line in stderr if line.startswith("HOSTILE-BENCH "))
    wall, cpu = (float(x) for x in marker.split()[1:])
    error = next((line for line in reversed(stderr) if "Error" in line), "") or stderr[-1]
    error = error if child.returncode else ""
    return Run(wall, cpu, peak, child.stdout.read().decode(), error)


@contextmanager
def fresh_database(server_url: str) -> Iterator[str]:
    """ "" (SQLite under QUORUM_HOME), or a throwaway database on the PostgreSQL server."""
    if not server_url:
        yield ""
        return
    with throwaway_database(server_url, "quorum_hostile") as url:
        yield url


def bench(case: Case, server_url: str, timeout: float) -> str:
    with (
        tempfile.TemporaryDirectory(prefix="quorum-hostile-") as tmp,
        fresh_database(server_url) as url,
    ):
        folder = Path(tmp)
        target = case.build(folder / "input")
        size = sum(p.stat().st_size for p in [target, *target.rglob("*")] if p.is_file())
        env = {**os.environ, "QUORUM_HOME": str(folder / "home"), "QUORUM_DATABASE_URL": url}
        env.pop("QUORUM_CONFIG", None)
        subprocess.run(
            [sys.executable, "-c", CHILD, "db", "upgrade"], env=env, check=True, capture_output=True
        )
        run = _run(["ingest", str(target), "--json"], env, timeout)
        if run.stdout is None:
            verdict = f"killed after {timeout:.0f} s"
        elif run.error:
            verdict = f"failed: {run.error[:90]}"
        else:
            account = json.loads(run.stdout)
            parts = " + ".join(
                f"{account[k]} {k}" for k in ("stored", "duplicate", "skipped", "rejected")
            )
            whole = account["read"] == case.messages and account["read"] == sum(
                account[k] for k in ("stored", "duplicate", "skipped", "rejected")
            )
            verdict = f"read {account['read']}/{case.messages} = {parts}" + (
                "" if whole else "  MISSING"
            )
    return (
        f"{case.name:28} {_size(size):>9} {run.wall:8.2f} {run.cpu:8.2f}"
        f" {run.peak_rss / 2**20:8.0f}   {verdict}"
    )


def _size(size: int) -> str:
    return f"{size / 1000:.0f} KB" if size < 1_000_000 else f"{size / 1_000_000:.1f} MB"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default="", help="a PostgreSQL server (default SQLite)")
    parser.add_argument("--only", nargs="*", default=[], help="cases whose name contains these")
    parser.add_argument("--timeout", type=float, default=120.0)
    args = parser.parse_args()
    backend = make_url(args.database_url or "sqlite://").get_backend_name()
    print(f"database {backend}; targets: ≤ 2 s for inputs ≤ 1 MB, ≤ 300 MB, every message")
    print(f"{'input':28} {'size':>9} {'wall s':>8} {'cpu s':>8} {'peak MB':>8}   account")
    for case in CASES:
        if not args.only or any(word in case.name for word in args.only):
            print(bench(case, args.database_url, args.timeout), flush=True)


if __name__ == "__main__":
    main()
