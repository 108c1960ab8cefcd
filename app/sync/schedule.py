"""`quorum sync --every`: passes at a fixed interval, for a service."""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable

log = logging.getLogger(__name__)

_DURATION = re.compile(r"^(\d+)([smhd])$")
_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(text: str) -> int:
    """Seconds in "30s", "15m", "1h" or "1d"."""
    match = _DURATION.match(text.strip())
    if match is None or int(match.group(1)) == 0:
        raise ValueError(f"{text!r} is not a duration such as 30s, 15m, 1h or 1d")
    return int(match.group(1)) * _SECONDS[match.group(2)]


def run_every(interval: int, one_pass: Callable[[], bool]) -> None:
    """Run ``one_pass`` every ``interval`` seconds, counted from the start of each pass,
    until interrupted. A failing source does not shorten the wait: the runner already
    keeps it back (see app.sync.runner.backoff)."""
    while True:
        started = time.monotonic()
        one_pass()
        time.sleep(max(0.0, interval - (time.monotonic() - started)))
