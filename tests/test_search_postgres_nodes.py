"""Several web nodes on one PostgreSQL database (postgres search backend): two `quorum serve`
processes with their own QUORUM_HOME serve the same results, and a message a third
process ingests is found by both at once, with no restart and no index of their own."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tests.helpers import fresh_database, mail
from tests.test_search import DEV

QUORUM = str(Path(sys.executable).parent / "quorum")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _environment(url: str, home: Path, config: Path) -> dict[str, str]:
    return os.environ | {
        "QUORUM_DATABASE_URL": url,
        "QUORUM_HOME": str(home),
        "QUORUM_CONFIG": str(config),
    }


@contextmanager
def _node(env: dict[str, str]) -> Iterator[str]:
    """A `quorum serve` process on a free port; its base URL once it answers."""
    port = _free_port()
    process = subprocess.Popen(
        [QUORUM, "serve", "--port", str(port), "--workers", "1"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"{base}/api/v1/openapi.json", timeout=5).close()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError(
                        f"quorum serve did not start: {process.stderr.read().decode()}"  # type: ignore[union-attr]
                    ) from None
                time.sleep(0.2)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=30)


def _search(base: str, query: str) -> dict[str, Any]:
    with urllib.request.urlopen(
        f"{base}/api/v1/search?{urllib.parse.urlencode({'q': query})}", timeout=30
    ) as response:
        body: dict[str, Any] = json.loads(response.read())
        return body


def _page(base: str, query: str) -> str:
    with urllib.request.urlopen(
        f"{base}/search?{urllib.parse.urlencode({'q': query})}", timeout=30
    ) as response:
        return str(response.read().decode())


def test_two_nodes_find_what_a_third_process_ingests_without_restarting(
    tmp_path: Path,
) -> None:
    config = tmp_path / "quorum.toml"
    config.write_text('[search]\nbackend = "postgres"\n')
    with fresh_database("postgresql", tmp_path) as url:
        first, second, ingester = (
            _environment(url, tmp_path / name, config) for name in ("web1", "web2", "ingest")
        )
        subprocess.run([QUORUM, "db", "upgrade"], env=ingester, check=True, capture_output=True)
        archive = tmp_path / "dev.mbox"
        archive.write_text("\n".join(DEV))
        subprocess.run(
            [QUORUM, "ingest", str(archive), "--list", "dev"], env=ingester, check=True,
            capture_output=True,
        )  # fmt: skip
        with _node(first) as web1, _node(second) as web2:
            before = [_search(base, "callbacks OR zeppelin") for base in (web1, web2)]
            assert before[0] == before[1]
            assert before[0]["total"] == 2
            # The search page too (each node keeps the page in its cache).
            assert not any(
                "<mark>zeppelin</mark>" in _page(base, "zeppelin") for base in (web1, web2)
            )

            late = tmp_path / "late.mbox"
            late.write_text(
                mail("<late@dev.example.org>", "Eve <eve@dev.example.org>", "Zeppelin",
                     "Tue, 1 Apr 2014 10:00:00 +0000", "A zeppelin over the callbacks.\n")
            )  # fmt: skip
            subprocess.run(
                [QUORUM, "ingest", str(late), "--list", "dev"], env=ingester, check=True,
                capture_output=True,
            )  # fmt: skip

            after = [_search(base, "callbacks OR zeppelin") for base in (web1, web2)]
            assert after[0] == after[1]
            assert after[0]["total"] == 3
            assert "<late@dev.example.org>" in {item["message_id"] for item in after[0]["items"]}
            assert _search(web2, "zeppelin")["items"][0]["snippet"] == (
                "A <mark>zeppelin</mark> over the callbacks."
            )
            assert all("<mark>zeppelin</mark>" in _page(base, "zeppelin") for base in (web1, web2))
        # No node kept an index of its own.
        assert not any((tmp_path / name / "index").exists() for name in ("web1", "web2", "ingest"))
