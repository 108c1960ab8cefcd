"""The OpenAPI 3.1 document of /api/v1/, built from the same constants the code checks
(stances, statuses, relations, limits), so the two cannot drift apart silently. The test
suite validates it and fuzzes the live app against it (tests/test_api_schema.py)."""

from __future__ import annotations

from typing import Any

from app.api.params import DATE_PATTERN, MAX_ID, MAX_LIMIT
from ingest.segments import KINDS

Schema = dict[str, Any]

STRING: Schema = {"type": "string"}
INTEGER: Schema = {"type": "integer"}
BOOLEAN: Schema = {"type": "boolean"}
STRINGS: Schema = {"type": "array", "items": STRING}
LINKS: Schema = {"type": "object", "additionalProperties": STRING}


def nullable(schema: Schema) -> Schema:
    return {"anyOf": [schema, {"type": "null"}]}


def ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


def strict(properties: dict[str, Schema], description: str = "") -> Schema:
    """An object with exactly these properties, all always present."""
    schema: Schema = {
        "type": "object",
        "properties": properties,
        "required": list(properties),
        "additionalProperties": False,
    }
    if description:
        schema["description"] = description
    return schema


UTC_DATE_TIME = nullable({"type": "string", "format": "date-time"})

LIST_FIELDS = {
    "name": STRING,
    "title": nullable(STRING),
    "address": nullable(STRING),
    "visibility": STRING,
    "thread_count": INTEGER,
    "message_count": INTEGER,
    "first_date": UTC_DATE_TIME,
    "last_date": UTC_DATE_TIME,
    "links": LINKS,
}
THREAD_FIELDS = {
    "id": INTEGER,
    "thread_id": STRING,
    "list": STRING,
    "subject": STRING,
    "message_count": INTEGER,
    "first_date": UTC_DATE_TIME,
    "last_date": UTC_DATE_TIME,
    "tags": STRINGS,
    "links": LINKS,
}
MESSAGE_FIELDS = {
    "message_id": STRING,
    "list": STRING,
    "thread_id": nullable(STRING),
    "parent_id": nullable(STRING),
    "parent_via": nullable(STRING),
    "subject": STRING,
    "date": UTC_DATE_TIME,
    "from_name": STRING,
    "from_address": STRING,
    "participant_id": nullable(INTEGER),
    "thread": nullable(INTEGER),
    "hidden": BOOLEAN,
    "links": LINKS,
}
SEGMENT = strict(
    {
        "kind": {"enum": list(KINDS)},
        "text": STRING,
        "depth": INTEGER,
        "start_line": INTEGER,
        "end_line": INTEGER,
        "offset": INTEGER,
        "quoted_author": nullable(STRING),
        "quoted_address": nullable(STRING),
    },
    "A run of body lines of one kind; positions read only `own` text.",
)
ATTACHMENT = strict(
    {
        "filename": nullable(STRING),
        "content_type": nullable(STRING),
        "size": nullable(INTEGER),
        "url": nullable(STRING),
    }
)
PROBLEM: Schema = {
    "type": "object",
    "description": "RFC 9457 problem details.",
    "properties": {
        "type": STRING,
        "title": STRING,
        "status": INTEGER,
        "detail": STRING,
        "instance": STRING,
        "errors": {
            "type": "object",
            "additionalProperties": STRING,
            "description": "One message per invalid parameter or field.",
        },
    },
    "required": ["type", "title", "status"],
    "additionalProperties": False,
}

SCHEMAS: dict[str, Schema] = {
    "Problem": PROBLEM,
    "List": strict(LIST_FIELDS, "A mailing list."),
    "Thread": strict(THREAD_FIELDS, "A thread; `thread_id` is its root Message-ID."),
    "ThreadDetail": strict(
        THREAD_FIELDS
        | {
            "messages": {
                "type": "array",
                "items": strict(MESSAGE_FIELDS | {"depth": INTEGER}),
                "description": "In reply order; `depth` is the nesting level.",
            }
        }
    ),
    "MessageSummary": strict(MESSAGE_FIELDS, "The fields of `quorum export messages`."),
    "Message": strict(
        MESSAGE_FIELDS
        | {
            "body": STRING,
            "segments": {"type": "array", "items": SEGMENT},
            "attachments": {"type": "array", "items": ATTACHMENT},
            "defects": STRINGS,
        }
    ),
    "Participant": strict(
        {
            "id": INTEGER,
            "name": STRING,
            "addresses": STRINGS,
            "message_count": INTEGER,
            "lists": {
                "type": "array",
                "items": strict({"list": STRING, "message_count": INTEGER}),
            },
            "links": LINKS,
        }
    ),
}


def page_of(name: str) -> Schema:
    return strict(
        {
            "items": {"type": "array", "items": ref(name)},
            "next_cursor": nullable(STRING),
        },
        "One page; pass `next_cursor` as `cursor` for the next (null on the last page).",
    )


def json_body(schema: Schema, description: str) -> Schema:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


PROBLEM_DESCRIPTIONS = {
    400: "Invalid parameters (the `errors` member names each).",
    401: "A missing, malformed or invalid token.",
    403: "The token's role may not do this.",
    404: "Not found, or not readable by this caller.",
    405: "Method not allowed.",
    409: "Conflicts with the current state.",
    410: "Removed from the archive on request.",
    415: "The body must be application/json.",
    422: "Well-formed, but the values are not acceptable (the `errors` member says why).",
    429: "Too many writes; retry after the Retry-After header's seconds.",
}


def problems(*codes: int) -> dict[str, Schema]:
    return {str(code): {"$ref": f"#/components/responses/{code}"} for code in codes}


def query(name: str, schema: Schema, description: str) -> Schema:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "schema": schema,
        "description": description,
    }


def path(name: str, schema: Schema, description: str) -> Schema:
    return {
        "name": name,
        "in": "path",
        "required": True,
        "schema": schema,
        "description": description,
    }


DATE_PARAM: Schema = {"type": "string", "pattern": DATE_PATTERN}
ID_PATH: Schema = {"type": "integer", "minimum": 1, "maximum": MAX_ID}
PAGING = [
    query(
        "limit",
        {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": 50},
        "Items per page.",
    ),
    query("cursor", STRING, "The `next_cursor` of the previous page."),
]
LIST_FILTER = query("list", STRING, "Only this list (by name).")
PARTICIPANT_FILTER = query("participant", ID_PATH, "Participant id.")
DATE_FILTERS = [
    query("since", DATE_PARAM, "From this date (YYYY-MM-DD) or date-time (with an offset)."),
    query("until", DATE_PARAM, "Up to this date (the whole day) or date-time, inclusive."),
]
READ_ERRORS = problems(400, 401)


def get(
    operation_id: str, summary: str, parameters: list[Schema], ok: Schema, *errors: int
) -> Schema:
    return {
        "get": {
            "operationId": operation_id,
            "summary": summary,
            "parameters": parameters,
            "responses": {"200": ok} | problems(400, 401, *errors),
        }
    }


PATHS: dict[str, Schema] = {
    "/lists": get(
        "listLists",
        "The lists the caller may read, by name.",
        PAGING,
        json_body(page_of("List"), "A page of lists."),
    ),
    "/lists/{name}": get(
        "getList",
        "One list.",
        [path("name", STRING, "The list's name.")],
        json_body(ref("List"), "The list."),
        404,
    ),
    "/threads": get(
        "listThreads",
        "Threads, most recently active first.",
        [
            LIST_FILTER,
            PARTICIPANT_FILTER,
            query("tag", STRING, "Only threads with this tag."),
            *DATE_FILTERS,
            *PAGING,
        ],
        json_body(page_of("Thread"), "A page of threads."),
        404,
    ),
    "/threads/{thread_id}": get(
        "getThread",
        "A thread with its messages in reply order.",
        [path("thread_id", ID_PATH, "The thread's `id`.")],
        json_body(ref("ThreadDetail"), "The thread."),
        404,
    ),
    "/messages": get(
        "listMessages",
        "Messages in date order.",
        [
            LIST_FILTER,
            query("thread", ID_PATH, "Only this thread (its `id`)."),
            PARTICIPANT_FILTER,
            *DATE_FILTERS,
            *PAGING,
        ],
        json_body(page_of("MessageSummary"), "A page of messages."),
        404,
    ),
    "/messages/{message_id}": get(
        "getMessage",
        "One message with its body, segments and raw source link.",
        [
            path("message_id", STRING, "The Message-ID, angle brackets optional."),
            query("list", STRING, "Which list's copy, when several lists archived it."),
        ],
        json_body(ref("Message"), "The message."),
        404,
        410,
    ),
    "/participants": get(
        "listParticipants",
        "Participants who wrote messages the caller may read, by id.",
        [LIST_FILTER, query("q", STRING, "Part of the name."), *PAGING],
        json_body(page_of("Participant"), "A page of participants."),
        404,
    ),
    "/participants/{participant_id}": get(
        "getParticipant",
        "One participant.",
        [path("participant_id", ID_PATH, "The participant's id.")],
        json_body(ref("Participant"), "The participant."),
        404,
    ),
}


def document() -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Quorum API",
            "version": "1.0.0",
            "description": (
                "Mailing-list discussions, the positions taken in them and the decisions "
                "they informed. Reads are public for public lists; a bearer token "
                "(`quorum users token NAME`) reads private lists too and writes according "
                "to its user's role. Errors are RFC 9457 problem details."
            ),
        },
        "servers": [{"url": "/api/v1"}],
        "paths": PATHS,
        "components": {
            "schemas": SCHEMAS,
            "responses": {
                str(code): {
                    "description": text,
                    "content": {"application/problem+json": {"schema": ref("Problem")}},
                }
                for code, text in PROBLEM_DESCRIPTIONS.items()
            },
            "securitySchemes": {"token": {"type": "http", "scheme": "bearer"}},
        },
    }
