"""Search as JSON: the same `app.search.search` as the page and the CLI, with the reader's
visibility, and its facets, snippets, grouping and sort; pages come as a cursor."""

from __future__ import annotations

from typing import Any

from flask import Response, current_app, jsonify, url_for

from app.access import readable_names
from app.api import params
from app.api.blueprint import bp
from app.api.pagination import Page, decode, encode
from app.api.problems import Problem
from app.search import Hit, index_of, search
from app.search.results import MAX_PER_PAGE, SORTS
from ingest.message_ids import url_key

DEFAULT_PER_PAGE = 20
MAX_QUERY = 1000


def hit_body(hit: Hit) -> dict[str, Any]:
    """A hit as the CLI's --json gives it, with the thread's API id and links."""
    return hit.as_dict() | {
        "thread": hit.thread,
        "urls": {
            "message": url_for(
                "api.get_message", message_id=url_key(hit.message_id), list=hit.list
            ),
            "html": url_for(
                "messages.list_permalink", name=hit.list, message_id=url_key(hit.message_id)
            ),
        },
    }


@bp.get("/search")
def search_view() -> Response:
    """`q` in the query language of the search page (fields, phrases, dates, AND/OR/NOT)."""
    query = params.text("q", max_length=MAX_QUERY)
    if query is None or not query.strip():
        raise Problem(400, "Give a query in `q`.", errors={"q": "Required."})
    sort = params.choice("sort", SORTS, default="relevance") or "relevance"
    grouped = params.choice("group", ("thread",)) == "thread"
    per_page = params.integer("limit", maximum=MAX_PER_PAGE) or DEFAULT_PER_PAGE
    cursor = params.text("cursor", max_length=200)
    page = decode("search", cursor, [int])[0] if cursor else 1
    results = search(
        index_of(current_app),
        query,
        page=page,
        per_page=per_page,
        sort=sort,
        group_by_thread=grouped,
        visible_lists=readable_names(),
    )
    if results.error_kind == "query":
        raise Problem(400, results.error or "", errors={"q": results.error or ""})
    if results.error_kind == "index":
        raise Problem(503, results.error or "", headers={"Retry-After": "60"})
    next_cursor = encode("search", [page + 1]) if results.has_next else None
    response = jsonify(
        {
            "query": results.query,
            "total": results.total,
            "grouped": results.grouped,
            "sort": results.sort,
            "items": [hit_body(hit) for hit in results.hits],
            "facets": {
                "lists": results.facets.lists,
                "years": results.facets.years,
                "senders": results.facets.senders,
                "stances": results.facets.stances,
            },
            "suggestion": results.suggestion,
            "next_cursor": next_cursor,
        }
    )
    response.headers.update(Page(results.hits, next_cursor).links_header("api.search_view"))
    return response
