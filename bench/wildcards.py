"""The wildcard attack of issue 13, timed: a query of a few hundred ``*xy*`` patterns on an
index of about 2,000 messages, run as an anonymous reader runs it (``quorum search``, the
search page and ``/api/v1/search`` all call ``app.search.search``).

    .venv/bin/python bench/wildcards.py [--home DIR] [--patterns N]

The first run ingests months of the twisted-python archive (2002, until 2,000 messages are
read) into DIR (default /tmp/quorum-bench-wildcards); later runs reuse it. Prints the
seconds the query took and what the reader was told, first with the limits lifted (each
pattern expanded as before the limits existed), then with the configured ones.
"""

from __future__ import annotations

import argparse
import itertools
import string
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app import create_app  # noqa: E402
from app.db import upgrade  # noqa: E402
from app.ingestion import run_ingest  # noqa: E402
from app.search import SearchIndex, index_of, search  # noqa: E402
from app.settings import SearchSettings, settings_of  # noqa: E402

ARCHIVE = ROOT.parent / "shared" / "corpora" / "twisted-python" / "archive"
MESSAGES = 2000
UNLIMITED = SearchSettings(max_terms=10**9, max_scanned_words=10**12)


def ensure_archive(home: Path) -> None:
    """Ingest whole months of 2002 until at least MESSAGES messages were read."""
    app = create_app({"home": str(home), "database_url": ""})
    if (home / "quorum.sqlite3").exists():
        return
    upgrade(app.extensions["quorum.engine"])
    read = 0
    for month in sorted(ARCHIVE.glob("2002-*.txt.gz")):
        account = run_ingest(
            app.extensions["quorum.sessionmaker"],
            settings_of(app),
            [month],
            list_name="twisted-python",
            progress=False,
        )
        read += account.read
        if read >= MESSAGES:
            break
    print(f"ingested {read} messages into {home}")


def attack(patterns: int) -> str:
    """`patterns` distinct ``*xy*`` wildcards: each one makes Whoosh walk every indexed word."""
    pairs = itertools.product(string.ascii_lowercase, repeat=2)
    return " ".join(f"*{a}{b}*" for a, b in itertools.islice(pairs, patterns))


def timed(index: SearchIndex, query: str) -> str:
    search(index, "warm up", per_page=10)  # open the index once
    started = time.perf_counter()
    results = search(index, query, per_page=10)
    took = time.perf_counter() - started
    outcome = f"refused: {results.error}" if results.error else f"{results.total} messages found"
    return f"{took:.2f} s; {outcome}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", type=Path, default=Path("/tmp/quorum-bench-wildcards"))
    parser.add_argument("--patterns", type=int, default=300)
    args = parser.parse_args()
    ensure_archive(args.home)
    query = attack(args.patterns)
    print(f"{args.patterns} *xy* wildcards ({len(query)} characters)")
    for label, limits in (("limits lifted", UNLIMITED), ("configured limits", None)):
        app = create_app({"home": str(args.home), "database_url": ""})
        index = index_of(app)
        index.limits = limits or settings_of(app).search
        print(f"  {label}: {timed(index, query)}")


if __name__ == "__main__":
    main()
