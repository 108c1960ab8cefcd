"""A small in-process cache of the pages anonymous readers get.

Archives are read far more than they change, and the heavy pages (a long thread, a list,
a search) are the same for every anonymous reader until the data changes. A page is kept
under its URL and the *data version* — the newest message, position, staff event and the
set of public lists — which costs a few index lookups per request, so any ingest, staff
change or recomputation makes every cached page stale at once. Staff pages (forms, CSRF
tokens, private lists) are never cached.

Anyone can ask for a page under endless URLs (`?x=1`, `?x=2`…), so the cache is bounded by
the bytes it holds, not by a count of pages, and a page too large to be worth keeping is
never stored. Nothing a cached page shows may depend on the request's Host header (feeds
take their absolute URLs from the configured base URL), or one forged request would
rewrite what every later reader gets.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from functools import wraps
from threading import Lock
from typing import Any

from flask import Flask, current_app, request, session
from sqlalchemy import func, select
from werkzeug.wrappers import Response

from app.access import current_role
from app.db import db_session
from app.models import DecisionEvent, MailingList, Message, Position
from app.settings import settings_of

Page = tuple[bytes, int, str]  # body, status, content type


class PageCache:
    """Pages by key, least recently used first out, within `max_bytes`."""

    def __init__(self, max_bytes: int, max_page_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.max_page_bytes = max_page_bytes
        self.bytes = 0
        self._pages: OrderedDict[tuple[object, ...], tuple[Page, int]] = OrderedDict()
        self._version: tuple[object, ...] | None = None
        self._lock = Lock()

    def __len__(self) -> int:
        return len(self._pages)

    def forget_other_versions(self, version: tuple[object, ...]) -> None:
        """Pages built from other data are never served again, yet until evicted they would
        keep a purged message's text in memory: drop them all once the data changes."""
        with self._lock:
            if version != self._version:
                self._pages.clear()
                self.bytes = 0
                self._version = version

    def get(self, key: tuple[object, ...]) -> Page | None:
        with self._lock:
            entry = self._pages.get(key)
            if entry is None:
                return None
            self._pages.move_to_end(key)
            return entry[0]

    def put(self, key: tuple[object, ...], page: Page) -> None:
        """Keep a page unless it is over the page limit; what it costs counts its key too,
        since the URL is the attacker's to make long."""
        if len(page[0]) > self.max_page_bytes:
            return
        size = len(page[0]) + len(repr(key))
        with self._lock:
            old = self._pages.pop(key, None)
            if old is not None:
                self.bytes -= old[1]
            self._pages[key] = (page, size)
            self.bytes += size
            while self.bytes > self.max_bytes:
                _, (_, evicted) = self._pages.popitem(last=False)
                self.bytes -= evicted


def data_version() -> tuple[object, ...]:
    db = db_session()
    return (
        db.scalar(select(func.max(Message.id))),
        db.scalar(select(func.max(Position.id))),
        db.scalar(select(func.max(DecisionEvent.id))),
        tuple(db.scalars(select(MailingList.id).where(MailingList.visibility == "public"))),
    )


def page_cache(app: Flask) -> PageCache:
    """The process's cache, sized by the `[web]` settings."""
    cache: PageCache | None = app.extensions.get("quorum.page_cache")
    if cache is None:
        web = settings_of(app).web
        cache = PageCache(web.page_cache_bytes, web.page_cache_max_page_bytes)
        app.extensions["quorum.page_cache"] = cache
    return cache


def cached_page(view: Callable[..., Any]) -> Callable[..., Any]:
    """Serve anonymous GETs of this view from the cache while the data is unchanged."""

    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if current_role() is not None or session.get("_flashes"):
            return view(*args, **kwargs)
        cache = page_cache(current_app)
        version = data_version()
        cache.forget_other_versions(version)
        key = (request.full_path, version)
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
