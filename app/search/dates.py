"""Dates as people type them (``2014``, ``2014-02``, ``2014-02-05``, ``A..B``) turned into
unions of the index's ``year``/``month``/``day`` keyword terms.

A span is covered by whole years where it can, then whole months, then single days, so
``2013-06-01..2015`` costs 7 month terms and 2 year terms instead of a numeric range.
"""

from __future__ import annotations

import calendar
import re
from datetime import date, timedelta

from whoosh.query import NullQuery, Or, Query, Term

_PERIOD = re.compile(r"^(\d{4})(?:-(\d{1,2})(?:-(\d{1,2}))?)?$")


class DateSyntaxError(ValueError):
    """A date the query language cannot read; the message says which forms it can."""


def period(text: str) -> tuple[date, date]:
    """The first and last day of ``YYYY``, ``YYYY-MM`` or ``YYYY-MM-DD``."""
    match = _PERIOD.match(text)
    if match is None:
        raise DateSyntaxError(
            f"{text!r} is not a date: write 2014, 2014-02 or 2014-02-05 (ranges: 2014-01..2014-03)"
        )
    year, month, day = (int(g) if g else None for g in match.groups())
    assert year is not None
    try:
        if month is None:
            return date(year, 1, 1), date(year, 12, 31)
        if day is None:
            return date(year, month, 1), date(year, month, calendar.monthrange(year, month)[1])
        return date(year, month, day), date(year, month, day)
    except ValueError as exc:
        raise DateSyntaxError(f"{text!r} is not a real date ({exc})") from exc


def span(kind: str, value: str, years: tuple[int, int]) -> tuple[date, date]:
    """The inclusive span meant by ``date:VALUE``, ``after:VALUE`` or ``before:VALUE``.

    ``after:`` starts at the beginning of the period it names (``after:2013-06-01`` keeps
    June 1st), ``before:`` stops just before it (``before:2015`` ends on 2014-12-31), as in
    common mail clients. Open ends are bounded by the years the index holds (`years`)."""
    first_possible, last_possible = date(years[0], 1, 1), date(years[1], 12, 31)
    if kind == "after":
        return period(value)[0], last_possible
    if kind == "before":
        return first_possible, period(value)[0] - timedelta(days=1)
    low, sep, high = value.partition("..")
    if not sep:
        return period(value)
    start = period(low)[0] if low else first_possible
    end = period(high)[1] if high else last_possible
    if start > end:
        raise DateSyntaxError(f"{value!r} ends before it starts: write the earlier date first")
    return start, end


def span_query(start: date, end: date) -> Query:
    """The fewest year, month and day terms that cover start..end inclusive."""
    terms: list[Query] = []
    day = start
    while day <= end:
        year_end = date(day.year, 12, 31)
        month_end = date(day.year, day.month, calendar.monthrange(day.year, day.month)[1])
        if day.month == 1 and day.day == 1 and year_end <= end:
            terms.append(Term("year", f"{day.year:04d}"))
            day = year_end + timedelta(days=1)
        elif day.day == 1 and month_end <= end:
            terms.append(Term("month", f"{day.year:04d}-{day.month:02d}"))
            day = month_end + timedelta(days=1)
        else:
            terms.append(Term("day", day.isoformat()))
            day += timedelta(days=1)
    if not terms:
        return NullQuery
    return terms[0] if len(terms) == 1 else Or(terms)
