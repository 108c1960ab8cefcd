"""Cursor pagination: a page ends with an opaque cursor naming where the next page starts.

Keyset, not offset: the cursor holds the sort key of the last row, so a page costs the
same deep in a large archive, and rows added meanwhile neither repeat nor vanish. Each
listing sorts on non-null keys ending with a unique one, so the order is total.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import request, url_for
from sqlalchemy import ColumnElement, Select, SQLColumnExpression, and_, or_
from sqlalchemy.orm import Session

from app.api import params
from app.api.problems import Problem
from app.numbers import MAX_ID


@dataclass(frozen=True)
class Key:
    """One sort key: a never-null SQL expression, its direction, and its Python type."""

    column: SQLColumnExpression[Any]
    kind: type = int
    descending: bool = False


@dataclass(frozen=True)
class Page:
    rows: list[Any]
    next_cursor: str | None

    def links_header(self, endpoint: str, **values: Any) -> dict[str, str]:
        """A Link header for the next page, with the request's other parameters kept."""
        if self.next_cursor is None:
            return {}
        args = {**request.args.to_dict(), **values, "cursor": self.next_cursor}
        return {"Link": f'<{url_for(endpoint, **args)}>; rel="next"'}


def encode(name: str, values: Sequence[Any]) -> str:
    plain = [v.isoformat() if isinstance(v, datetime) else v for v in values]
    raw = json.dumps([name, plain], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode(name: str, cursor: str, kinds: Sequence[type]) -> list[Any]:
    """The values a cursor holds, checked against the listing it must come from."""
    invalid = Problem(
        400,
        "Invalid query parameter 'cursor'.",
        errors={"cursor": "Pass the next_cursor of a previous page of this listing unchanged."},
    )
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        listing, values = json.loads(raw)
        if listing != name or not isinstance(values, list) or len(values) != len(kinds):
            raise invalid
        return [_typed(kind, value) for kind, value in zip(kinds, values, strict=True)]
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError) as exc:
        raise invalid from exc


def _typed(kind: type, value: Any) -> Any:
    """A cursor value as its key's type, and one the database can compare: a crafted
    cursor must not reach the query with a number beyond any id or a NUL in a name."""
    if kind is datetime:
        return datetime.fromisoformat(value)
    if kind is int and type(value) is int and 0 <= value <= MAX_ID:
        return value
    if kind is str and isinstance(value, str) and "\x00" not in value:
        return value
    raise TypeError(f"cursor value {value!r} is not {kind.__name__}")


def _after(keys: Sequence[Key], values: Sequence[Any]) -> ColumnElement[bool]:
    """Rows strictly after `values` in the order of `keys` (a lexicographic comparison)."""
    clauses = []
    for i, key in enumerate(keys):
        equal = [k.column == v for k, v in zip(keys[:i], values[:i], strict=True)]
        beyond = key.column < values[i] if key.descending else key.column > values[i]
        clauses.append(and_(*equal, beyond))
    return or_(*clauses)


def keyset_page(
    session: Session, name: str, query: Select[*tuple[Any, ...]], keys: Sequence[Key]
) -> Page:
    """One page of `query` in the order of `keys`, from the request's `cursor` and `limit`.
    Rows are the query's own columns (the key columns are selected after them)."""
    limit = params.limit()
    cursor = params.text("cursor", max_length=2000)
    if cursor is not None:
        query = query.where(_after(keys, decode(name, cursor, [k.kind for k in keys])))
    ordered = query.add_columns(*(k.column for k in keys)).order_by(
        *(k.column.desc() if k.descending else k.column.asc() for k in keys)
    )
    rows = session.execute(ordered.limit(limit + 1)).all()
    width = len(rows[0]) - len(keys) if rows else 0
    more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = encode(name, list(rows[-1][width:])) if more else None
    items = [row[0] if width == 1 else tuple(row[:width]) for row in rows]
    return Page(items, next_cursor)
