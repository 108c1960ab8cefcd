"""API benchmark: walk the whole twisted-python archive through /api/v1 by cursor.

Usage: .venv/bin/python bench/api.py [--home DIR] [--limit N]

Uses the archive bench/web.py loads into DIR (loading it once if needed), and the app
in-process (Flask's test client: the app and the database, no HTTP server). Prints, for the
thread and message listings, the pages walked, items, p50/p95 per page and the first and
last page's time — keyset cursors keep the last page as cheap as the first — then the
busiest thread's detail and a search.
"""

from __future__ import annotations

import argparse
import importlib.util
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from flask.testing import FlaskClient  # noqa: E402

from app import create_app  # noqa: E402


def load_web_bench():  # type: ignore[no-untyped-def]
    """bench/web.py, for the archive loading it already does."""
    spec = importlib.util.spec_from_file_location("bench_web", ROOT / "bench" / "web.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def timed_get(client: FlaskClient, url: str) -> tuple[float, dict]:  # type: ignore[type-arg]
    start = time.perf_counter()
    response = client.get(url)
    elapsed = time.perf_counter() - start
    assert response.status_code == 200, (url, response.get_data(as_text=True)[:300])
    return elapsed, response.get_json()


def walk(client: FlaskClient, url: str) -> None:
    times, items, cursor = [], 0, None
    while True:
        elapsed, body = timed_get(client, url + (f"&cursor={cursor}" if cursor else ""))
        times.append(elapsed)
        items += len(body["items"])
        cursor = body["next_cursor"]
        if cursor is None:
            break
    cuts = statistics.quantiles(times, n=20) if len(times) > 1 else times * 19
    print(
        f"{url}: {len(times)} pages, {items} items in {sum(times):.1f} s; per page "
        f"p50 {statistics.median(times) * 1000:.0f} ms, p95 {cuts[18] * 1000:.0f} ms, "
        f"first {times[0] * 1000:.0f} ms, last {times[-1] * 1000:.0f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--home", type=Path, default=Path(tempfile.gettempdir()) / "quorum-bench")
    parser.add_argument("--limit", type=int, default=200, help="items per page")
    args = parser.parse_args()
    load_web_bench().ensure_archive(args.home)
    app = create_app({"home": str(args.home), "database_url": ""})
    client = app.test_client()
    walk(client, f"/api/v1/threads?list=twisted-python&limit={args.limit}")
    walk(client, f"/api/v1/messages?list=twisted-python&limit={args.limit}")
    _, page = timed_get(client, "/api/v1/threads?list=twisted-python&limit=200")
    busiest = max(page["items"], key=lambda t: t["message_count"])
    elapsed, detail = timed_get(client, busiest["urls"]["self"])
    print(f"thread with {len(detail['messages'])} messages: {elapsed * 1000:.0f} ms")
    times = [timed_get(client, "/api/v1/search?q=deferred&limit=20")[0] for _ in range(20)]
    print(f"search 'deferred' (20 runs): p50 {statistics.median(times) * 1000:.0f} ms")


if __name__ == "__main__":
    main()
