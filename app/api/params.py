"""Query parameters of the API, read strictly: a value that does not parse is a 400 problem
naming the parameter, never silently ignored (a client that typed `limit=5O` must know)."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from typing import TypeVar

from flask import request

from app.api.problems import Problem
from app.numbers import MAX_ID, whole_number

DEFAULT_LIMIT = 50
MAX_LIMIT = 200
#: A date, or a date-time with an optional offset: what `since` and `until` accept.
DATE_PATTERN = (
    r"^[0-9]{4}-[0-9]{2}-[0-9]{2}"
    r"(T[0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]{1,6})?)?(Z|[+-][0-9]{2}:[0-9]{2})?)?$"
)
_DATE = re.compile(DATE_PATTERN)

#: A parameter's allowed values: plain strings, or a Literal type's (a sort, a stance).
C = TypeVar("C", bound=str)


def _invalid(name: str, message: str) -> Problem:
    return Problem(400, f"Invalid query parameter {name!r}.", errors={name: message})


def text(name: str, *, max_length: int = 1000) -> str | None:
    """A free text parameter; empty is the same as absent."""
    value = request.args.get(name)
    if value is None or value == "":
        return None
    if len(value) > max_length:
        raise _invalid(name, f"At most {max_length} characters.")
    if "\x00" in value:
        raise _invalid(name, "Must not contain NUL characters.")
    return value


def integer(name: str, *, minimum: int = 1, maximum: int = MAX_ID) -> int | None:
    value = request.args.get(name)
    if value is None:
        return None
    number = whole_number(value, minimum, maximum)
    if number is None:
        raise _invalid(name, f"Must be a whole number between {minimum} and {maximum}.")
    return number


def limit() -> int:
    return integer("limit", maximum=MAX_LIMIT) or DEFAULT_LIMIT


def choice(name: str, choices: tuple[C, ...], default: C | None = None) -> C | None:
    """The parameter if it is one of `choices` (typed as they are), else `default` when
    absent, else a 400."""
    value = request.args.get(name)
    if value is None:
        return default
    for known in choices:
        if value == known:
            return known
    raise _invalid(name, f"Must be one of: {', '.join(choices)}.")


def path_text(value: str) -> str:
    """A text path segment the database can look up: NUL never names anything."""
    if "\x00" in value:
        raise Problem(404, "Nothing is named with a NUL character.")
    return value


def _instant(name: str, value: str, *, end_of_day: bool) -> datetime:
    """A date or a date-time, as naive UTC like the columns (a date-time without an offset
    is taken as UTC). As an end, a date stands for its last instant: the day is included."""
    try:
        if not _DATE.fullmatch(value):
            raise ValueError(value)
        if len(value) == 10:
            day = datetime.combine(date.fromisoformat(value), time())
            return day + timedelta(days=1, microseconds=-1) if end_of_day else day
        moment = datetime.fromisoformat(value)
        if moment.tzinfo is not None:
            moment = moment.astimezone(UTC).replace(tzinfo=None)
    except (ValueError, OverflowError) as exc:
        raise _invalid(name, "Use an ISO 8601 date (2014-02-04) or date-time.") from exc
    return moment


def date_range() -> tuple[datetime | None, datetime | None]:
    """`since` and `until`, both inclusive."""
    since = request.args.get("since")
    until = request.args.get("until")
    start = None if since is None else _instant("since", since, end_of_day=False)
    end = None if until is None else _instant("until", until, end_of_day=True)
    return start, end
