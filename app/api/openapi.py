"""The OpenAPI 3.1 document of /api/v1/, built from the same constants the code checks
(stances, statuses, relations, limits), so the two cannot drift apart silently. The test
suite validates it and fuzzes the live app against it (tests/test_api_schema.py)."""

from __future__ import annotations

import copy
from typing import Any

from app.api.decisions import DECISION_FIELDS, LINK_FIELDS, LINK_STATE_FIELDS, THREAD_TAG_FIELDS
from app.api.params import DATE_PATTERN, MAX_LIMIT
from app.api.positions import CORRECTION_FIELDS
from app.api.search import MAX_QUERY
from app.api.writes import body_schema
from app.governance import LINK_STATES
from app.models import DECISION_STATUSES, LINK_RELATIONS, STANCES
from app.numbers import MAX_ID
from app.search.results import MAX_PER_PAGE
from app.search.results import SORTS as SEARCH_SORTS
from ingest.segments import KINDS

Schema = dict[str, Any]

STRING: Schema = {"type": "string"}
INTEGER: Schema = {"type": "integer"}
BOOLEAN: Schema = {"type": "boolean"}
STRINGS: Schema = {"type": "array", "items": STRING}
URLS: Schema = {"type": "object", "additionalProperties": STRING}


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
    "urls": URLS,
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
    "urls": URLS,
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
    "urls": URLS,
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
            "urls": URLS,
        }
    ),
}


STANCE: Schema = {"enum": list(STANCES)}
NUMBER: Schema = {"type": "number"}
SCHEMAS["Position"] = strict(
    {
        "message_id": STRING,
        "list": STRING,
        "thread_id": nullable(STRING),
        "thread": nullable(INTEGER),
        "participant_id": nullable(INTEGER),
        "participant": nullable(STRING),
        "stance": STANCE,
        "vote": nullable(STRING),
        "evidence": nullable(STRING),
        "evidence_start": nullable(INTEGER),
        "evidence_end": nullable(INTEGER),
        "confidence": NUMBER,
        "method": STRING,
        "unsure": BOOLEAN,
    },
    "What the machine read in one message; `evidence` is an exact substring of the "
    "author's own words (body[evidence_start:evidence_end]). When `unsure`, the model "
    "abstained and `stance` is only its best guess.",
)
SCHEMAS["ThreadPositions"] = strict(
    {
        "thread": INTEGER,
        "thread_id": STRING,
        "positions": {
            "type": "array",
            "items": strict(
                {
                    "participant_id": INTEGER,
                    "participant": STRING,
                    "stance": STANCE,
                    "vote": nullable(STRING),
                    "evidence": nullable(STRING),
                    "message_id": nullable(STRING),
                    "source": {"enum": ["machine", "staff"]},
                    "unsure": BOOLEAN,
                    "history": {
                        "type": "array",
                        "items": strict(
                            {
                                "message_id": STRING,
                                "date": UTC_DATE_TIME,
                                "stance": STANCE,
                                "vote": nullable(STRING),
                                "evidence": nullable(STRING),
                                "confidence": NUMBER,
                                "method": STRING,
                                "unsure": BOOLEAN,
                            }
                        ),
                    },
                },
                "A participant's current position: a staff correction, else their newest "
                "decisive one. When `unsure`, the model abstained: `stance` is its best "
                "guess, and the tally leaves it out.",
            ),
        },
        "tally": strict(
            {
                "stances": {"type": "object", "additionalProperties": INTEGER},
                "votes": {"type": "object", "additionalProperties": INTEGER},
                "unsure": INTEGER,
            },
            "Current positions counted by stance and vote; unsure ones only in `unsure`.",
        ),
    }
)
SCHEMAS["Decision"] = strict(
    {
        "id": INTEGER,
        "slug": STRING,
        "title": STRING,
        "status": {"enum": list(DECISION_STATUSES)},
        "decided_by": STRING,
        "decided_on": nullable({"type": "string", "format": "date"}),
        "summary": STRING,
        "body_markdown": STRING,
        "outcome": STRING,
        "rationale": STRING,
        "tags": STRINGS,
        "supersedes": nullable(STRING),
        "announced_by": nullable(STRING),
        "links": {
            "type": "array",
            "items": strict(
                {
                    "id": INTEGER,
                    "relation": {"enum": list(LINK_RELATIONS)},
                    "state": {"enum": list(LINK_STATES)},
                    "note": STRING,
                    "list": STRING,
                    "thread_id": STRING,
                    "message_id": nullable(STRING),
                    "created_at": {"type": "string", "format": "date-time"},
                }
            ),
            "description": "The discussions that informed it (those the caller may read).",
        },
        "created_at": UTC_DATE_TIME,
        "updated_at": UTC_DATE_TIME,
        "urls": URLS,
    },
    "The record of `quorum export decisions`, with the API's id and the Markdown body.",
)
SCHEMAS["SearchHit"] = strict(
    {
        "message_id": STRING,
        "thread_id": STRING,
        "thread": nullable(INTEGER),
        "list": STRING,
        "date": UTC_DATE_TIME,
        "from": STRING,
        "subject": STRING,
        "snippet": {
            "type": "string",
            "description": "Escaped HTML of the author's own words, matches in <mark>.",
        },
        "score": nullable(NUMBER),
        "matches": INTEGER,
        "stance": nullable(STRING),
        "vote": nullable(STRING),
        "urls": URLS,
    },
    "A message found (grouped: the best message of a thread, `matches` of its messages).",
)
COUNTS: Schema = {"type": "object", "additionalProperties": INTEGER}
SCHEMAS["SearchResults"] = strict(
    {
        "query": STRING,
        "total": INTEGER,
        "grouped": BOOLEAN,
        "sort": {"enum": list(SEARCH_SORTS)},
        "items": {"type": "array", "items": ref("SearchHit")},
        "facets": strict(
            {"lists": COUNTS, "years": COUNTS, "senders": COUNTS, "stances": COUNTS},
            "Counts over every match, not only this page.",
        ),
        "suggestion": nullable(STRING),
        "next_cursor": nullable(STRING),
    }
)
SCHEMAS["Tag"] = strict(
    {"name": STRING, "decision_count": INTEGER, "thread_count": INTEGER, "urls": URLS}
)


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
    503: "The search index is missing or being rebuilt; retry later.",
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


def path(name: str, schema: Schema, description: str, example: object) -> Schema:
    """A path parameter, with an example from the demo archive (`make run`)."""
    return {
        "name": name,
        "in": "path",
        "required": True,
        "schema": schema,
        "description": description,
        "example": example,
    }


DATE_PARAM: Schema = {"type": "string", "pattern": DATE_PATTERN}
ID_PATH: Schema = {"type": "integer", "minimum": 1, "maximum": MAX_ID}
NAME: Schema = {"type": "string", "maxLength": 200}
PAGING = [
    query(
        "limit",
        {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": 50},
        "Items per page.",
    ),
    query("cursor", {"type": "string", "maxLength": 2000}, "The previous page's `next_cursor`."),
]
LIST_FILTER = query("list", NAME, "Only this list (by name).")
PARTICIPANT_FILTER = query("participant", ID_PATH, "Only this participant (by id).")
THREAD_FILTER = query("thread", ID_PATH, "Only this thread (by `id`).")
DATE_FILTERS = [
    query("since", DATE_PARAM, "From this date (YYYY-MM-DD) or date-time (with an offset)."),
    query("until", DATE_PARAM, "Up to this date (the whole day) or date-time, inclusive."),
]
THREAD_PATH = path("thread_id", ID_PATH, "The thread's `id`.", 1)
SLUG_PATH = path("slug", STRING, "The decision's slug.", "interoperability-simpler-first-steps")
LINK_PATH = path("link_id", ID_PATH, "The link's `id`.", 1)
PARTICIPANT_PATH = path("participant_id", ID_PATH, "The participant's id.", 1)


def operation(
    operation_id: str,
    summary: str,
    parameters: list[Schema],
    responses: dict[str, Schema],
    *errors: int,
    body: Schema | None = None,
) -> Schema:
    """One operation. Writes (those with a body, or DELETE) need a token and may be refused
    for the role, rate-limited, or fail validation."""
    spec: Schema = {
        "operationId": operation_id,
        "summary": summary,
        "parameters": parameters,
        "responses": responses | problems(400, 401, *errors),
    }
    if body is not None:
        spec["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": body}},
        }
    return spec


def read(
    operation_id: str, summary: str, parameters: list[Schema], ok: Schema, *errors: int
) -> Schema:
    return operation(operation_id, summary, parameters, {"200": ok}, *errors)


def write(
    operation_id: str,
    summary: str,
    parameters: list[Schema],
    responses: dict[str, Schema],
    body: Schema | None = None,
) -> Schema:
    errors = (403, 404, 422, 429) + ((415,) if body is not None else ())
    spec = operation(operation_id, summary, parameters, responses, *errors, body=body)
    return spec | {"security": [{"token": []}]}


DECISION = json_body(ref("Decision"), "The decision.")
PATHS: dict[str, Schema] = {
    "/lists": {
        "get": read(
            "listLists",
            "The lists the caller may read, by name.",
            PAGING,
            json_body(page_of("List"), "A page of lists."),
        )
    },
    "/lists/{name}": {
        "get": read(
            "getList",
            "One list.",
            [path("name", STRING, "The list's name.", "foundation")],
            json_body(ref("List"), "The list."),
            404,
        )
    },
    "/threads": {
        "get": read(
            "listThreads",
            "Threads, most recently active first.",
            [
                LIST_FILTER,
                PARTICIPANT_FILTER,
                query("tag", {"type": "string", "maxLength": 100}, "Only threads with this tag."),
                *DATE_FILTERS,
                *PAGING,
            ],
            json_body(page_of("Thread"), "A page of threads."),
            404,
        )
    },
    "/threads/{thread_id}": {
        "get": read(
            "getThread",
            "A thread with its messages in reply order.",
            [THREAD_PATH],
            json_body(ref("ThreadDetail"), "The thread."),
            404,
        )
    },
    "/threads/{thread_id}/positions": {
        "get": read(
            "getThreadPositions",
            "Each participant's current position in the thread, and a tally.",
            [THREAD_PATH],
            json_body(ref("ThreadPositions"), "The positions."),
            404,
        )
    },
    "/threads/{thread_id}/positions/{participant_id}": {
        "put": write(
            "correctPosition",
            "Correct or confirm a participant's position in the thread (staff's word wins; "
            "the judged message becomes a training label).",
            [THREAD_PATH, PARTICIPANT_PATH],
            {"200": json_body(ref("ThreadPositions"), "The thread's positions, corrected.")},
            body_schema(CORRECTION_FIELDS, ("stance", "note")),
        )
    },
    "/threads/{thread_id}/tags": {
        "put": write(
            "setThreadTags",
            "Replace the thread's tags.",
            [THREAD_PATH],
            {"200": json_body(ref("Thread"), "The thread with its new tags.")},
            body_schema(THREAD_TAG_FIELDS, ("tags",)),
        )
    },
    "/messages": {
        "get": read(
            "listMessages",
            "Messages in date order.",
            [LIST_FILTER, THREAD_FILTER, PARTICIPANT_FILTER, *DATE_FILTERS, *PAGING],
            json_body(page_of("MessageSummary"), "A page of messages."),
            404,
        )
    },
    "/messages/{message_id}": {
        "get": read(
            "getMessage",
            "One message with its body, segments and raw source link.",
            [
                path(
                    "message_id",
                    STRING,
                    "The Message-ID, angle brackets optional.",
                    "CF1A2E3B.3B1A2%troy.toman@rackspace.com",
                ),
                query("list", NAME, "Which list's copy, when several lists archived it."),
            ],
            json_body(ref("Message"), "The message."),
            404,
            410,
        )
    },
    "/positions": {
        "get": read(
            "listPositions",
            "The machine's reading of each message, with the evidence from the author's own words.",
            [
                LIST_FILTER,
                THREAD_FILTER,
                PARTICIPANT_FILTER,
                query("stance", {"enum": list(STANCES)}, "Only this stance."),
                query("message_id", {"type": "string", "maxLength": 1000}, "Only this message."),
                *PAGING,
            ],
            json_body(page_of("Position"), "A page of positions."),
            404,
        )
    },
    "/participants": {
        "get": read(
            "listParticipants",
            "Participants who wrote messages the caller may read, by id.",
            [LIST_FILTER, query("q", NAME, "Part of the name."), *PAGING],
            json_body(page_of("Participant"), "A page of participants."),
            404,
        )
    },
    "/participants/{participant_id}": {
        "get": read(
            "getParticipant",
            "One participant.",
            [PARTICIPANT_PATH],
            json_body(ref("Participant"), "The participant."),
            404,
        )
    },
    "/decisions": {
        "get": read(
            "listDecisions",
            "Decisions, newest first.",
            [
                query("status", {"enum": list(DECISION_STATUSES)}, "Only this status."),
                query("tag", {"type": "string", "maxLength": 100}, "Only this tag."),
                *PAGING,
            ],
            json_body(page_of("Decision"), "A page of decisions."),
        ),
        "post": write(
            "createDecision",
            "Record a decision.",
            [],
            {"201": DECISION | {"headers": {"Location": {"schema": STRING}}}},
            body_schema(DECISION_FIELDS, ("title",)),
        ),
    },
    "/decisions/{slug}": {
        "get": read("getDecision", "One decision.", [SLUG_PATH], DECISION, 404),
        "patch": write(
            "updateDecision",
            "Change some of a decision's fields.",
            [SLUG_PATH],
            {"200": DECISION},
            body_schema(DECISION_FIELDS),
        ),
    },
    "/decisions/{slug}/links": {
        "post": write(
            "linkDecision",
            "Link a thread, or one exact message, to the decision.",
            [SLUG_PATH],
            {"201": DECISION},
            body_schema(LINK_FIELDS),
        )
    },
    "/decisions/{slug}/links/{link_id}": {
        "patch": write(
            "setLinkState",
            "Confirm or dismiss a suggested link.",
            [SLUG_PATH, LINK_PATH],
            {"200": DECISION},
            body_schema(LINK_STATE_FIELDS, ("state",)),
        ),
        "delete": write(
            "unlinkDecision",
            "Remove a link.",
            [SLUG_PATH, LINK_PATH],
            {"204": {"description": "Removed."}},
        ),
    },
    "/search": {
        "get": read(
            "search",
            "Full-text and fielded search, as on the search page.",
            [
                {
                    "name": "q",
                    "in": "query",
                    "required": True,
                    "schema": {"type": "string", "minLength": 1, "maxLength": MAX_QUERY},
                    "description": 'The query: words, "phrases", from:, subject:, list:, '
                    "date:2014-02, stance:, tag:, AND/OR/NOT.",
                    "example": "interoperability from:troy",
                },
                query("sort", {"enum": list(SEARCH_SORTS)}, "relevance (default), newest, oldest."),
                query("group", {"enum": ["thread"]}, "One hit per thread."),
                query(
                    "limit",
                    {"type": "integer", "minimum": 1, "maximum": MAX_PER_PAGE, "default": 20},
                    "Hits per page.",
                ),
                query(
                    "cursor",
                    {"type": "string", "maxLength": 200},
                    "The previous page's `next_cursor`.",
                ),
            ],
            json_body(ref("SearchResults"), "The results."),
            503,
        )
    },
    "/tags": {
        "get": read(
            "listTags",
            "Tags by name, with how many decisions and readable threads carry each.",
            PAGING,
            json_body(page_of("Tag"), "A page of tags."),
        )
    },
}


def document() -> dict[str, Any]:
    """A fresh copy each time: callers (a validator, a fuzzer) may change what they get."""
    return copy.deepcopy(
        {
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
    )
