"""Every kind of page, at a phone's width and at two desktop widths, in a real browser: none
may scroll sideways, whatever the mail throws at it (an unbroken 78-character subject,
Message-IDs of 200 characters, a very long sender, a reply chain nine deep, long URLs).

Debian's Chromium loads each page anonymously and, signed in as an admin, each staff page,
on the demo archive plus tests/fixtures/pages/. Each page's screenshot is kept as a test
artefact under test-output/screenshots/layout/WIDTH/ (ignored by git)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from app.governance import set_thread_tags
from app.models import Message, Thread
from app.search import rebuild
from tests.browsers import BROWSER_MARKS, SHOTS, chromium, serving, shot
from tests.helpers import (
    FIXTURES,
    PASSWORD,
    build_app,
    import_shipped_decisions,
    ingest_foundation,
    make_user,
    run_cli,
    sessions_of,
)

pytestmark = BROWSER_MARKS

PAGES = FIXTURES / "pages"
LIST = "long-lines"
TAG = "an-unusually-long-tag-name-with-no-spaces-in-it"
WIDTHS = (320, 390, 1200, 1920)


def message_key(n: int) -> str:
    """The bare Message-ID of message `n` of long-strings.mbox."""
    return (
        f"{n}.{'x' * 12}.a-very-long-message-identifier-segment-without-any-break-{n}-"
        f"{'0123456789' * 6}@mail-gateway.some-department.example-university.example.org"
    )


THREAD = f"/lists/{LIST}/threads/{message_key(1)}"
MESSAGE = f"/m/{message_key(10)}"  # the deepest reply, with every quote level


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """The app serving the demo and the long-strings archive; yields the base URL and the
    path of the long-named sender's page."""
    home = tmp_path_factory.mktemp("layout")
    app: Flask = build_app(f"sqlite:///{home / 'quorum.sqlite3'}", home / "home")
    ingest_foundation(app)
    import_shipped_decisions(app)
    run_cli(app, "ingest", str(PAGES / "long-strings.mbox"), "--list", LIST)
    imported = run_cli(app, "import", "decisions", str(PAGES / "decisions.jsonl")).output
    assert "2 links added" in imported
    admin = make_user(app, "ada", "admin")
    with sessions_of(app)() as session:
        thread = session.scalars(select(Thread).where(Thread.key == f"<{message_key(1)}>")).one()
        set_thread_tags(session, thread, [TAG], admin)
        sender = session.scalars(
            select(Message.participant_id).where(Message.message_id == f"<{message_key(1)}>")
        ).one()
        session.commit()
        rebuild(session, app.config["QUORUM"].index_dir)
    with serving(app) as url:
        yield {"url": url, "participant": f"/people/{sender}"}
    app.extensions["quorum.engine"].dispose()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium() as launched:
        yield launched


def reader_pages(site: dict[str, str]) -> dict[str, str]:
    """Every kind of page a reader sees, by the name its screenshot gets."""
    return {
        "home": "/",
        "home-newest": "/?view=newest",
        "list": f"/lists/{LIST}",
        "list-newest": f"/lists/{LIST}?view=newest",
        "month-by-thread": f"/lists/{LIST}/2019-3?order=thread",
        "month-by-date": f"/lists/{LIST}/2019-3?order=date",
        "month-by-author": f"/lists/{LIST}/2019-3?order=author",
        "thread": THREAD,
        "message": MESSAGE,
        "participant": site["participant"],
        "search": "/search?q=convention",
        "decisions": "/decisions",
        "decision": "/decisions/adopt-the-long-convention",
        "tag": f"/tags/{TAG}",
        "login": "/login",
    }


STAFF_PAGES = {
    "staff-thread": THREAD,
    "staff-message": MESSAGE,
    "staff-decision": "/decisions/adopt-the-long-convention",
    "decision-form": "/decisions/new",
    "review-queue": "/positions/queue",
    "admin-users": "/admin/users",
    "admin-lists": "/admin/lists",
    "admin-audit": "/admin/audit",
    "admin-model": "/admin/model",
    "api-tokens": "/account/tokens",
}

#: What sticks out past the right edge, for a failure message that says where to look.
OVERFLOWING = """() => [...document.querySelectorAll('body *')]
  .filter(e => e.getBoundingClientRect().right > innerWidth + 0.5)
  .slice(-4)
  .map(e => `${e.tagName.toLowerCase()}.${e.className} (${e.getBoundingClientRect().right}px)`)"""


def too_wide(page: Any, url: str, name: str, folder: Path) -> str | None:
    """Load a page, keep its screenshot, and say how it overflows (None when it fits)."""
    response = page.goto(url)
    assert response is not None and response.status == 200, f"{name}: {url}"
    width, inner = page.evaluate("[document.scrollingElement.scrollWidth, innerWidth]")
    shot(page, name, folder)
    if width <= inner:
        return None
    return f"{name} is {width}px wide in a {inner}px window: {page.evaluate(OVERFLOWING)}"


@pytest.mark.parametrize("width", WIDTHS)
def test_no_page_scrolls_sideways(site: dict[str, str], browser: Any, width: int) -> None:
    folder = SHOTS / "layout" / str(width)
    context = browser.new_context(viewport={"width": width, "height": 900})
    page = context.new_page()
    base = site["url"]
    problems = [
        problem
        for name, path in reader_pages(site).items()
        if (problem := too_wide(page, base + path, name, folder))
    ]
    page.get_by_label("User name").fill("ada")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(base + "/")
    problems += [
        problem
        for name, path in STAFF_PAGES.items()
        if (problem := too_wide(page, base + path, name, folder))
    ]
    context.close()
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize(
    ("url", "content", "sidebar"),
    [(f"/lists/{LIST}", "section", "nav.months"), ("/search?q=convention", "ol.hits", "aside")],
)
def test_sidebars_sit_beside_the_content_on_a_desktop_and_below_it_on_a_phone(
    site: dict[str, str], browser: Any, url: str, content: str, sidebar: str
) -> None:
    for width, below in ((1200, False), (390, True)):
        page = browser.new_page(viewport={"width": width, "height": 900})
        page.goto(site["url"] + url)
        main = page.locator(f"main {content}").first.bounding_box()
        side = page.locator(f"main {sidebar}").first.bounding_box()
        if below:
            assert side["y"] >= main["y"] + main["height"], (width, url)
        else:
            assert side["x"] >= main["x"] + main["width"], (width, url)
            assert side["y"] < main["y"] + main["height"], (width, url)
        page.close()


def test_long_words_wrap_inside_the_thread_table_on_a_phone(
    site: dict[str, str], browser: Any
) -> None:
    """The 78-character subject breaks inside its cell rather than widening the table."""
    page = browser.new_page(viewport={"width": 390, "height": 900})
    page.goto(site["url"] + f"/lists/{LIST}?view=newest")
    cell = page.locator("table.threads td.subject").filter(has_text="qwertzuiop").first
    box = cell.bounding_box()
    assert box["x"] + box["width"] <= 390
    assert box["height"] > 30  # more than one line
    page.close()
