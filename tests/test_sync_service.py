"""`quorum sync --every`, run as a service runs it: a process that keeps passing over the
sources, picks up new mail on a later pass, and leaves a failing source alone between its
attempts instead of retrying it on every pass."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.helpers import FIXTURES

QUORUM = Path(sys.executable).parent / "quorum"


def test_a_service_keeps_following_and_does_not_hammer_a_failing_source(tmp_path: Path) -> None:
    maildir = tmp_path / "Maildir"
    for sub in ("cur", "new", "tmp"):
        (maildir / sub).mkdir(parents=True)
    config = tmp_path / "quorum.toml"
    config.write_text(
        f"""
[[lists.governance.sources]]
type = "maildir"
path = "{maildir}"

[[lists.board.sources]]
type = "maildir"
path = "{tmp_path / "missing"}"
"""
    )
    env = {
        **os.environ,
        "QUORUM_CONFIG": str(config),
        "QUORUM_HOME": str(tmp_path / "home"),
        "QUORUM_DATABASE_URL": "",
    }
    service = subprocess.Popen(
        [str(QUORUM), "sync", "--every", "1s", "--json"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    reports: list[dict[str, object]] = []
    try:
        assert service.stdout is not None
        delivered = False
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            line = service.stdout.readline()
            if not line:
                break
            reports.append(json.loads(line))
            governance = [r for r in reports if r["list"] == "governance"]
            if len(governance) == 2 and not delivered:
                (maildir / "new" / "1.a.host").write_bytes(
                    (FIXTURES / "live" / "proposal.eml").read_bytes()
                )
                delivered = True
            if any(r["stored"] == 1 for r in governance) and len(governance) >= 4:
                break
    finally:
        service.send_signal(signal.SIGTERM)
        service.wait(timeout=30)
    governance = [(r["status"], r["stored"]) for r in reports if r["list"] == "governance"]
    board = [r["status"] for r in reports if r["list"] == "board"]
    # One pass a second: nothing, nothing, then the delivered message, then nothing again.
    assert governance[:2] == [("ok", 0), ("ok", 0)]
    assert ("ok", 1) in governance[2:4]
    # The broken source failed once, then waits out its back-off (60 s) on every pass.
    assert board[0] == "failed" and set(board[1:]) == {"waiting"} and len(board) >= 4
