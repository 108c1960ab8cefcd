"""A thread's activity over time, for its page's chart (its reading order is app.threads)."""

from __future__ import annotations

from datetime import date, datetime, timedelta


def daily_counts(dates: list[datetime | None]) -> list[tuple[date, int]]:
    """Messages per day from the first to the last day, empty days included."""
    days = sorted(d.date() for d in dates if d is not None)
    if not days:
        return []
    counts: dict[date, int] = {}
    for day in days:
        counts[day] = counts.get(day, 0) + 1
    span = (days[-1] - days[0]).days + 1
    return [(days[0] + timedelta(n), counts.get(days[0] + timedelta(n), 0)) for n in range(span)]
