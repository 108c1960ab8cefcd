"""The search page: the query box, results with highlighted snippets, facets as links,
sort and grouping, pagination, and help when a query cannot be run."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, render_template, request, url_for

from app.access import readable_names
from app.numbers import query_number
from app.search import index_of, search
from app.search.results import SORTS, Sort
from app.web.page_cache import cached_page

bp = Blueprint("search", __name__)

PER_PAGE = 20


def facet_term(field: str, value: str) -> str:
    """The query term a facet link adds ("list:foundation", 'from:"Troy Toman"')."""
    if any(ch.isspace() or ch in '"():' for ch in value):
        value = '"' + value.replace('"', "") + '"'
    return f"{field}:{value}"


@bp.get("/search")
@cached_page
def search_page() -> tuple[str, int] | str:
    query = request.args.get("q", "").strip()
    requested = request.args.get("sort")
    sort: Sort = next((s for s in SORTS if s == requested), "relevance")
    grouped = request.args.get("group") == "thread"
    page = query_number("page", 1) or 1
    results = None
    if query:
        results = search(
            index_of(current_app),
            query,
            page=page,
            per_page=PER_PAGE,
            sort=sort,
            group_by_thread=grouped,
            visible_lists=readable_names(),
        )

    def with_args(**changes: Any) -> str:
        args: dict[str, Any] = {
            "q": query,
            "sort": sort,
            "group": "thread" if grouped else None,
            "page": page,
        }
        args.update(changes)
        return url_for("search.search_page", **{k: v for k, v in args.items() if v})

    status = 200
    if results is not None and results.error_kind == "index":
        status = 503
    return render_template(
        "search.html",
        query=query,
        results=results,
        sort=sort,
        sorts=SORTS,
        grouped=grouped,
        with_args=with_args,
        facet_term=facet_term,
    ), status
