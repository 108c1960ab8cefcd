"""Parents from a pipermail HTML month folder alone, against the mail headers of the same month.

    .venv/bin/python bench/pipermail_threads.py [MONTH …] [--archive DIR]

For each month (default: every HTML month folder of
../shared/corpora/twisted-python/archive that has its ``.txt.gz`` beside it), ingests the
HTML folder alone and the month's ``.txt.gz`` alone, each with ``quorum ingest`` into a
throwaway ``QUORUM_HOME``, exports the messages of both and compares the parent of every
Message-ID the two share. The ``.txt.gz`` keeps In-Reply-To and References, so its parents
are the reference; the HTML folder has only the pages and ``thread.html``.

Prints per month: the thread.html template generation (the doctype Mailman 2.0 and 2.1
wrote), the messages both hold, the replies among them (a parent in either export), the
replies whose parent agrees and their share (the figure the issue's goal is about), the
share among all shared messages (roots included), and the share among the replies whose
header parent is a message of the same month (Mailman threads within a month: a reply to an
earlier month's mail shows no parent in its thread.html). Then, for the month's Mailman 2.0
article pages (an older build's orphans, say), how many show in their reply link exactly
the In-Reply-To header of the mail. --show lists the disagreements.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ingest.parse import parse_message  # noqa: E402
from ingest.records import ParsedMessage, RejectedMessage  # noqa: E402
from ingest.sources import iter_archive  # noqa: E402

ARCHIVE = ROOT.parent / "shared" / "corpora" / "twisted-python" / "archive"
QUORUM = ROOT / ".venv" / "bin" / "quorum"
LIST = "twisted-python"


@dataclass(frozen=True)
class Agreement:
    month: str
    generation: str
    shared: int
    replies: int
    replies_agreeing: int
    agreeing: int
    #: Replies whose header parent is a message of the month (or that have none).
    in_month: int
    in_month_agreeing: int
    #: Mailman 2.0 article pages, and those whose reply link is the mail's In-Reply-To.
    pages_20: int
    pages_20_agreeing: int
    disagreements: list[tuple[str, str | None, str | None]]


def exported_parents(path: Path) -> dict[str, str | None]:
    """Message-ID -> parent id of every message `quorum ingest PATH` stores, in a fresh home."""
    with tempfile.TemporaryDirectory(prefix="quorum-bench-") as home:
        env = {**os.environ, "QUORUM_HOME": home}
        env.pop("QUORUM_DATABASE_URL", None)
        run = [str(QUORUM), "ingest", str(path), "--list", LIST, "--no-positions", "--json"]
        subprocess.run(run, env=env, check=True, capture_output=True)
        out = subprocess.run(
            [str(QUORUM), "export", "messages", "--list", LIST],
            env=env,
            check=True,
            capture_output=True,
            text=True,
        ).stdout
    rows = (json.loads(line) for line in out.splitlines() if line.strip())
    return {row["message_id"]: row["parent_id"] for row in rows}


def generation(folder: Path) -> str:
    """Which Mailman wrote the thread index: 2.0 wrote an HTML 3.2 doctype, 2.1 HTML 4.01."""
    head = (folder / "thread.html").read_bytes()[:200].decode("ascii", "replace")
    if "HTML 3.2" in head:
        return "2.0"
    return "2.1" if "HTML 4.01" in head else "?"


def parsed(path: Path) -> Iterator[tuple[bytes, ParsedMessage]]:
    """Every message of `path` as the ingest parses it, beside its raw bytes."""
    for raw in iter_archive(path):
        try:
            yield raw.data, parse_message(raw)
        except RejectedMessage:
            continue


def mailman_20_links(folder: Path, txt: Path) -> tuple[int, int]:
    """(Mailman 2.0 pages, those whose reply link shows the mail's In-Reply-To exactly)."""
    headers = {message.message_id: message.in_reply_to for _, message in parsed(txt)}
    pages = [m for data, m in parsed(folder) if b"DTD HTML 3.2" in data[:300]]
    known = [m for m in pages if m.message_id in headers]
    return len(known), sum(headers[m.message_id] == m.in_reply_to for m in known)


def agreement(folder: Path) -> Agreement:
    txt = folder.with_name(folder.name + ".txt.gz")
    from_html = exported_parents(folder)
    from_headers = exported_parents(txt)
    shared = sorted(from_html.keys() & from_headers.keys())
    replies = [m for m in shared if from_html[m] or from_headers[m]]
    in_month = [m for m in replies if from_headers[m] is None or from_headers[m] in from_headers]
    pages_20, pages_20_agreeing = mailman_20_links(folder, txt)
    return Agreement(
        month=folder.name,
        generation=generation(folder),
        shared=len(shared),
        replies=len(replies),
        replies_agreeing=sum(from_html[m] == from_headers[m] for m in replies),
        agreeing=sum(from_html[m] == from_headers[m] for m in shared),
        in_month=len(in_month),
        in_month_agreeing=sum(from_html[m] == from_headers[m] for m in in_month),
        pages_20=pages_20,
        pages_20_agreeing=pages_20_agreeing,
        disagreements=[
            (m, from_html[m], from_headers[m]) for m in replies if from_html[m] != from_headers[m]
        ],
    )


def share(part: int, whole: int) -> str:
    return f"{100 * part / whole:5.1f}%" if whole else "    -"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("months", nargs="*", help="month folder names (default: all)")
    parser.add_argument("--archive", type=Path, default=ARCHIVE)
    parser.add_argument("--show", action="store_true", help="list the disagreements")
    args = parser.parse_args()
    if not args.archive.is_dir():
        sys.exit(f"no archive at {args.archive}")
    names = args.months or sorted(
        p.name
        for p in args.archive.iterdir()
        if (p / "thread.html").is_file() and p.with_name(p.name + ".txt.gz").is_file()
    )
    print(
        f"{'month':15} {'gen':>4} {'shared':>6} {'replies':>7} {'agree':>6} {'share':>6} "
        f"{'all':>6} {'parent in month':>15}  2.0 pages: link = In-Reply-To"
    )
    for name in names:
        a = agreement(args.archive / name)
        print(
            f"{a.month:15} {a.generation:>4} {a.shared:6} {a.replies:7} {a.replies_agreeing:6} "
            f"{share(a.replies_agreeing, a.replies)} {share(a.agreeing, a.shared)} "
            f"{a.in_month_agreeing:4}/{a.in_month:<4} {share(a.in_month_agreeing, a.in_month)}  "
            f"{a.pages_20_agreeing}/{a.pages_20}"
        )
        if args.show:
            for message_id, html_parent, header_parent in a.disagreements:
                print(f"    {message_id}  html: {html_parent}  headers: {header_parent}")


if __name__ == "__main__":
    main()
