"""A small in-process cache of the pages anonymous readers get.

Archives are read far more than they change, and the heavy pages (a long thread, a list,
a search) are the same for every anonymous reader until the data changes. A page is kept
under its URL and the *data version* — the newest message, position, staff event and the
set of public lists — which costs a few index lookups per request, so any ingest, staff
change or recomputation makes every cached page stale at once. Staff pages (forms, CSRF
tokens, private lists) are never cached.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from functools import wraps
from threading import Lock
from typing import Any

from flask import current_app, request, session
from sqlalchemy import func, select
from werkzeug.wrappers import Response

from app.models import DecisionEvent, MailingList, Message, Position
from app.web import db_session
from app.web.auth import current_role

MAX_PAGES = 512


class PageCache:
    def __init__(self, size: int = MAX_PAGES) -> None:
        self.size = size
        self._pages: OrderedDict[tuple[object, ...], tuple[bytes, int, str]] = OrderedDict()
        self._lock = Lock()

    def get(self, key: tuple[object, ...]) -> tuple[bytes, int, str] | None:
        with self._lock:
            page = self._pages.get(key)
            if page is not None:
                self._pages.move_to_end(key)
            return page

    def put(self, key: tuple[object, ...], page: tuple[bytes, int, str]) -> None:
        with self._lock:
            self._pages[key] = page
            self._pages.move_to_end(key)
            while len(self._pages) > self.size:
                self._pages.popitem(last=False)


def data_version() -> tuple[object, ...]:
    db = db_session()
    return (
        db.scalar(select(func.max(Message.id))),
        db.scalar(select(func.max(Position.id))),
        db.scalar(select(func.max(DecisionEvent.id))),
        tuple(db.scalars(select(MailingList.id).where(MailingList.visibility == "public"))),
    )


def cached_page(view: Callable[..., Any]) -> Callable[..., Any]:
    """Serve anonymous GETs of this view from the cache while the data is unchanged."""

    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if current_role() is not None or session.get("_flashes"):
            return view(*args, **kwargs)
        cache: PageCache = current_app.extensions.setdefault("quorum.page_cache", PageCache())
        key = (request.full_path, data_version())
        page = cache.get(key)
        if page is None:
            response = current_app.make_response(view(*args, **kwargs))
            if response.status_code not in (200, 404, 410) or response.direct_passthrough:
                return response
            page = (response.get_data(), response.status_code, response.content_type)
            cache.put(key, page)
        body, status, content_type = page
        return Response(body, status=status, content_type=content_type)

    return wrapped
