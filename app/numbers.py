"""Whole numbers read from a request: path segments, query parameters, API cursors.

A number from a URL goes into a query (an id, an offset, a year), and a number the
database or the calendar cannot hold makes that query fail: a 500 for what is only a bad
URL. Every number a route reads is checked here, against bounds that name something
(404 in a path, 400 in a query string), before it reaches any query.
"""

from __future__ import annotations

from typing import Any

from flask import abort, request
from werkzeug.routing import IntegerConverter, Map, ValidationError

#: Database ids are 32-bit on PostgreSQL, and no page, year or offset needs more.
MAX_ID = 2**31 - 1


def whole_number(text: str, minimum: int, maximum: int) -> int | None:
    """The number `text` spells in ASCII digits if it lies within the bounds, else None.

    The length is checked before converting, so a megabyte of digits costs nothing (and
    never meets Python's limit on converting long digit strings)."""
    if not (text.isascii() and text.isdigit()) or len(text.lstrip("0")) > len(str(maximum)):
        return None
    number = int(text)
    return number if minimum <= number <= maximum else None


def query_number(
    name: str, default: int | None = None, *, minimum: int = 1, maximum: int = MAX_ID
) -> int | None:
    """A whole-number query parameter of a page; empty (as a form's "any" choice sends it)
    is the same as absent. Anything else that is not a number within bounds is a 400: the
    page cannot be what was asked for, and silently showing another would hide the typo."""
    value = request.args.get(name, "")
    if value == "":
        return default
    number = whole_number(value, minimum, maximum)
    if number is None:
        abort(400, f"'{name}' must be a whole number from {minimum} to {maximum}.")
    return number


class BoundedInteger(IntegerConverter):
    """`<int:…>` and `<id:…>` in every route: ASCII digits only (one URL per resource), at
    most `MAX_ID` unless the rule says otherwise (`<int(min=1, max=12):month>`), so a number
    that no row can have is a routing 404 before any query is sent."""

    regex = r"[0-9]+"

    def __init__(self, map: Map, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max", MAX_ID)
        super().__init__(map, *args, **kwargs)

    def to_python(self, value: str) -> int:
        number = whole_number(value, self.min or 0, MAX_ID if self.max is None else self.max)
        if number is None:
            raise ValidationError()
        return number
