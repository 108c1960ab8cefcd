"""Parents from a pipermail HTML month folder alone, against the mail headers of the same month.

    .venv/bin/python bench/pipermail_threads.py [MONTH …] [--archive DIR]

For each month (default: every HTML month folder of
../shared/corpora/twisted-python/archive that has its ``.txt.gz`` beside it), ingests the
HTML folder alone and the month's ``.txt.gz`` alone, each with ``quorum ingest`` into a
throwaway ``QUORUM_HOME``, exports the messages of both and compares the parent of every
Message-ID the two share. The ``.txt.gz`` keeps In-Reply-To and References, so its parents
are the reference; the HTML folder has only the pages and ``thread.html``.

Prints per month: the messages both hold, the replies among them (a parent in either
export), the replies whose parent agrees (the figure the issue's goal is about), and how
many of all shared messages agree, roots included. It also prints the thread.html template
generation (the doctype Mailman 2.0 and 2.1 wrote) so the figure can be read per
generation.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
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


def exported_parents(path: Path) -> dict[str, str | None]:
    """Message-ID -> parent id of every message `quorum ingest PATH` stores, in a fresh home."""
    with tempfile.TemporaryDirectory(prefix="quorum-bench-") as home:
        env = {**os.environ, "QUORUM_HOME": home}
        env.pop("QUORUM_DATABASE_URL", None)
        run = [str(QUORUM), "ingest", str(path), "--list", LIST, "--no-positions", "--json"]
        subprocess.run(run, env=env, check=True, stdout=subprocess.DEVNULL)
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


def agreement(folder: Path) -> Agreement:
    from_html = exported_parents(folder)
    from_headers = exported_parents(folder.with_name(folder.name + ".txt.gz"))
    shared = from_html.keys() & from_headers.keys()
    replies = [m for m in shared if from_html[m] or from_headers[m]]
    return Agreement(
        month=folder.name,
        generation=generation(folder),
        shared=len(shared),
        replies=len(replies),
        replies_agreeing=sum(from_html[m] == from_headers[m] for m in replies),
        agreeing=sum(from_html[m] == from_headers[m] for m in shared),
    )


def share(part: int, whole: int) -> str:
    return f"{100 * part / whole:5.1f}%" if whole else "    -"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("months", nargs="*", help="month folder names (default: all)")
    parser.add_argument("--archive", type=Path, default=ARCHIVE)
    args = parser.parse_args()
    if not args.archive.is_dir():
        sys.exit(f"no archive at {args.archive}")
    names = args.months or sorted(
        p.name
        for p in args.archive.iterdir()
        if (p / "thread.html").is_file() and p.with_name(p.name + ".txt.gz").is_file()
    )
    print(f"{'month':15} {'gen':>4} {'shared':>6} {'replies':>7} {'agree':>6} {'share':>6}  all")
    for name in names:
        a = agreement(args.archive / name)
        print(
            f"{a.month:15} {a.generation:>4} {a.shared:6} {a.replies:7} {a.replies_agreeing:6} "
            f"{share(a.replies_agreeing, a.replies)}  {share(a.agreeing, a.shared)}"
        )


if __name__ == "__main__":
    main()
