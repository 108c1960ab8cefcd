"""Message dates from the best source available, never invented.

Order: the Date header, then the newest Received header, then the mbox envelope line.
A date that does not parse, or whose offset is impossible (twisted-python has
"+50579034"), falls through to the next source; the source used is recorded.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from email.utils import parsedate_tz

_MAX_OFFSET = 14 * 3600  # UTC-12 … UTC+14 is what the world uses
# The date is the rest of the line, stripped afterwards: a lazy group before "\s*$" tried
# every run of spaces against the end of the line.
_ENVELOPE_DATE = re.compile(rb"^From \S+(?: at \S+)?\s+(.*)")
# Years a mailing list message can have been written in; others are corrupt headers.
_EARLIEST_YEAR = 1970
_LATEST_YEAR = 2100


def parse_date(value: str | None) -> datetime | None:
    """An aware datetime from an RFC 2822-ish date, or None when it is unusable."""
    if not value:
        return None
    parsed = parsedate_tz(value)
    if parsed is None:
        return None
    offset = parsed[9] if parsed[9] is not None else 0
    if abs(offset) > _MAX_OFFSET:
        return None
    year = parsed[0]
    if year < 100:  # two-digit years, as RFC 2822 says
        year += 2000 if year < 50 else 1900
    if not _EARLIEST_YEAR <= year <= _LATEST_YEAR:
        return None
    try:
        return datetime(
            year,
            parsed[1],
            parsed[2],
            parsed[3],
            parsed[4],
            min(parsed[5], 59),
            tzinfo=timezone(timedelta(seconds=offset)),
        )
    except ValueError:
        return None


def received_date(received_values: list[str]) -> datetime | None:
    """The date of the newest Received header (the first one, as relays prepend them)."""
    for value in received_values:
        if ";" in value:
            parsed = parse_date(value.rsplit(";", 1)[1])
            if parsed is not None:
                return parsed
    return None


def envelope_date(envelope: bytes | None) -> datetime | None:
    """The asctime date of an mbox separator line ("From foo  Tue Apr  1 12:00:00 2003")."""
    if not envelope:
        return None
    match = _ENVELOPE_DATE.match(envelope)
    if not match:
        return None
    text = match.group(1).strip().decode("ascii", "replace")
    for fmt in ("%a %b %d %H:%M:%S %Y", "%a %b %d %H:%M:%S %Y %z"):
        try:
            parsed = datetime.strptime(" ".join(text.split()), fmt)
        except ValueError:
            continue
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return parse_date(text)


def best_date(
    date_header: str | None, received: list[str], envelope: bytes | None
) -> tuple[datetime | None, str | None]:
    """(date, source) where source is "date", "received" or "envelope"; (None, None) if none."""
    readers: tuple[tuple[str, Callable[[], datetime | None]], ...] = (
        ("date", lambda: parse_date(date_header)),
        ("received", lambda: received_date(received)),
        ("envelope", lambda: envelope_date(envelope)),
    )
    for source, value in readers:
        parsed = value()
        if parsed is not None:
            return parsed, source
    return None, None
