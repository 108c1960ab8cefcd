"""What every write shares: a JSON body described once — the same `Field`s check the
request and write its schema into the OpenAPI document — and one transaction whose domain
validation errors (app.governance) become a 422 problem."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from typing import Any

from flask import request
from sqlalchemy.orm import Session

from app.api.problems import Problem
from app.governance import ValidationError

DAY_PATTERN = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"
_DAY = re.compile(DAY_PATTERN)


@dataclass(frozen=True)
class Field:
    """One body field: its JSON type ("string", "integer", "day" — a YYYY-MM-DD date —
    or "strings", a list of strings), limits, and whether null is allowed."""

    kind: str
    description: str
    max_length: int | None = None
    choices: tuple[str, ...] | None = None
    nullable: bool = False
    min_length: int = 0

    def schema(self) -> dict[str, Any]:
        if self.kind == "strings":
            item: dict[str, Any] = {"type": "string", "maxLength": self.max_length}
            schema: dict[str, Any] = {"type": "array", "items": item, "maxItems": 100}
        elif self.kind == "day":
            schema = {"type": "string", "pattern": DAY_PATTERN}
        elif self.choices is not None:
            schema = {"enum": list(self.choices)}
        elif self.kind == "integer":
            schema = {"type": "integer", "minimum": 1, "maximum": 2**31 - 1}
        else:
            schema = {"type": "string", "minLength": self.min_length}
            if self.max_length is not None:
                schema["maxLength"] = self.max_length
        if self.nullable:
            schema = {"anyOf": [schema, {"type": "null"}]}
        return schema | {"description": self.description}

    def check(self, value: Any) -> tuple[Any, str | None]:
        """The value in Python terms (a `date` for a day), or an error message."""
        if value is None:
            return (None, None) if self.nullable else (None, "Must not be null.")
        if self.kind == "strings":
            if not isinstance(value, list) or len(value) > 100:
                return None, "Must be a list of at most 100 strings."
            for item in value:
                problem = _text_problem(item, self.max_length, 0)
                if problem:
                    return None, f"Every item: {problem}"
            return value, None
        if self.kind == "integer":
            ok = type(value) is int and 1 <= value <= 2**31 - 1
            return (value, None) if ok else (None, "Must be a positive whole number.")
        problem = _text_problem(value, self.max_length, self.min_length)
        if problem:
            return None, problem
        if self.choices is not None and value not in self.choices:
            return None, f"Must be one of: {', '.join(self.choices)}."
        if self.kind == "day":
            try:
                if not _DAY.fullmatch(value):
                    raise ValueError(value)
                return date.fromisoformat(value), None
            except ValueError:
                return None, "Must be a date, YYYY-MM-DD."
        return value, None


def _text_problem(value: Any, max_length: int | None, min_length: int) -> str | None:
    if not isinstance(value, str):
        return "Must be a string."
    if "\x00" in value:
        return "Must not contain NUL characters."
    if max_length is not None and len(value) > max_length:
        return f"At most {max_length} characters."
    if len(value) < min_length:
        return f"At least {min_length} character{'s' if min_length > 1 else ''}."
    return None


def body_schema(fields: dict[str, Field], required: tuple[str, ...] = ()) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {name: field.schema() for name, field in fields.items()},
        "required": list(required),
        "additionalProperties": False,
    }


def json_body(fields: dict[str, Field], required: tuple[str, ...] = ()) -> dict[str, Any]:
    """The request's JSON object, checked against `fields`: values converted, and a 400
    naming every bad, missing or unknown field (a misspelt field is an error, not a no-op)."""
    if not request.is_json:
        raise Problem(415, "Send the body as application/json.")
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise Problem(400, "The body must be a JSON object.")
    errors = {name: "Unknown field." for name in body if name not in fields}
    errors |= {name: "Required." for name in required if name not in body}
    values = {}
    for name, value in body.items():
        if name in fields:
            values[name], error = fields[name].check(value)
            if error:
                errors[name] = error
    if errors:
        raise Problem(400, "The body has invalid fields.", errors=errors)
    return values


@contextmanager
def committed(session: Session) -> Iterator[None]:
    """Run a domain change and commit it; its ValidationError is the client's 422."""
    try:
        yield
    except ValidationError as exc:
        session.rollback()
        raise Problem(422, "The values are not acceptable.", errors=dict(exc.errors)) from exc
    session.commit()
