"""Feeds and the page cache under attack: a forged Host header cannot rewrite what other
readers get, a control character in a subject cannot break a feed's XML, and the page cache
holds a bound in bytes whatever URLs are asked for."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask

from app.web.page_cache import PageCache, page_cache
from tests.helpers import build_app, ingest_foundation, run_cli

ATOM = "{http://www.w3.org/2005/Atom}"
SEED_ROOT = "1391522712.2459.12.camel@sorcha.example"
FEEDS = (
    "/lists/foundation/feed.atom",
    f"/lists/foundation/thread-feed/{SEED_ROOT}",
    "/decisions/feed.atom",
)
BASE = "https://lists.example.org/archive"


@pytest.fixture
def foundation_at_public_base_url(database_url: str, tmp_path: Path) -> Iterator[Flask]:
    """The foundation list served under a configured public base URL."""
    application = build_app(database_url, tmp_path / "home", public_base_url=BASE)
    ingest_foundation(application)
    yield application
    application.extensions["quorum.engine"].dispose()


def absolute_urls(feed_xml: bytes) -> list[str]:
    feed = ET.fromstring(feed_xml)
    ids = [e.text or "" for e in feed.iter(f"{ATOM}id")]
    hrefs = [e.attrib["href"] for e in feed.iter(f"{ATOM}link")]
    return ids + hrefs


@pytest.mark.parametrize("url", FEEDS)
def test_a_forged_host_cannot_change_what_the_next_reader_gets(
    foundation_at_public_base_url: Flask, url: str
) -> None:
    client = foundation_at_public_base_url.test_client()
    forged = client.get(url, headers={"Host": "evil.example"})
    honest = client.get(url)
    for response in (forged, honest):
        assert response.status_code == 200
        assert b"evil.example" not in response.data
    assert forged.data == honest.data


def test_every_absolute_url_in_a_feed_starts_with_the_public_base_url(
    foundation_at_public_base_url: Flask,
) -> None:
    client = foundation_at_public_base_url.test_client()
    for url in FEEDS[:2]:
        urls = absolute_urls(client.get(url, headers={"Host": "evil.example"}).data)
        assert urls and all(u.startswith(f"{BASE}/") for u in urls), urls
    entry_link = absolute_urls(client.get(FEEDS[0]).data)[-1]
    assert entry_link == f"{BASE}/lists/foundation/threads/{SEED_ROOT}"


def test_without_a_configured_base_url_feeds_use_the_default_serve_address(
    database_url: str, tmp_path: Path
) -> None:
    application = build_app(database_url, tmp_path / "home")
    ingest_foundation(application)
    feed = application.test_client().get(FEEDS[0], headers={"Host": "evil.example"}).data
    urls = absolute_urls(feed)
    assert urls and all(u.startswith("http://127.0.0.1:5000/") for u in urls), urls
    application.extensions["quorum.engine"].dispose()


def test_a_subject_with_control_characters_still_gives_well_formed_feeds(
    foundation_at_public_base_url: Flask, tmp_path: Path
) -> None:
    box = tmp_path / "control.mbox"
    box.write_bytes(
        b"From x@example.org Mon Jan  6 10:00:00 2014\n"
        b"From: Bell \x07 Ringer <x@example.org>\n"
        b"Subject: vote \x01 now\x0b\x1f please\n"
        b"Message-ID: <control-1@example.org>\n"
        b"Date: Mon, 6 Jan 2014 10:00:00 +0000\n\n"
        b"body with \x02 and \x1b[31m escape\n"
    )
    run_cli(foundation_at_public_base_url, "ingest", str(box), "--list", "foundation")
    client = foundation_at_public_base_url.test_client()
    for url in (
        "/lists/foundation/feed.atom",
        "/lists/foundation/thread-feed/control-1@example.org",
    ):
        response = client.get(url)
        assert response.status_code == 200
        feed = ET.fromstring(response.data)  # raises on any XML-illegal character
        titles = [e.text for e in feed.iter(f"{ATOM}title")]
        assert "vote  now please" in titles


def test_the_page_cache_evicts_the_least_recently_used_pages_to_stay_within_its_bytes() -> None:
    cache = PageCache(max_bytes=10_000, max_page_bytes=4_000)
    pages = {n: (bytes([n]) * 3_000, 200, "text/html") for n in range(10)}
    for n, page in pages.items():
        cache.put((f"/page?x={n}",), page)
        assert cache.bytes <= 10_000
        cache.get(("/page?x=0",))  # keep the first page in use
    assert cache.get(("/page?x=0",)) == pages[0]
    assert cache.get(("/page?x=9",)) == pages[9]
    assert cache.get(("/page?x=1",)) is None


def test_the_page_cache_keeps_no_page_larger_than_its_page_limit() -> None:
    cache = PageCache(max_bytes=10_000, max_page_bytes=4_000)
    cache.put(("/small",), (b"s" * 100, 200, "text/html"))
    cache.put(("/huge",), (b"h" * 4_001, 200, "text/html"))
    assert cache.get(("/huge",)) is None
    assert cache.get(("/small",)) is not None


def test_asking_for_big_pages_under_many_urls_keeps_the_cache_bounded(
    database_url: str, tmp_path: Path
) -> None:
    application = build_app(
        database_url,
        tmp_path / "home",
        web={"page_cache_bytes": 100_000, "page_cache_max_page_bytes": 50_000},
    )
    box = tmp_path / "big.mbox"
    box.write_bytes(
        b"From x@example.org Mon Jan  6 10:00:00 2014\n"
        b"From: Big <x@example.org>\nSubject: big\nMessage-ID: <big-1@example.org>\n"
        b"Date: Mon, 6 Jan 2014 10:00:00 +0000\n\n" + b"word " * 20_000 + b"\n"
    )
    run_cli(application, "ingest", str(box), "--list", "big")
    client = application.test_client()
    cache = page_cache(application)
    for n in range(20):
        assert client.get(f"/m/big-1@example.org?x={n}").status_code == 200
    assert len(cache) == 0  # each copy of the 100 KB page is over the page limit
    for n in range(100):
        assert client.get(f"/lists/big?x={n}").status_code == 200
        assert cache.bytes <= 100_000
    assert 0 < len(cache) < 100
    application.extensions["quorum.engine"].dispose()
