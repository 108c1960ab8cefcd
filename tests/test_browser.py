"""The pages in a real browser: Debian's Chromium driven by Playwright, against the app
served on 127.0.0.1 with the demo archive. Screenshots go to test-output/screenshots/."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask
from sqlalchemy import select, update

from app.models import Message, Position
from app.search import rebuild
from tests.browsers import BROWSER_MARKS, chromium, serving, shot
from tests.helpers import (
    PASSWORD,
    import_shipped_decisions,
    ingest_foundation,
    make_user,
    sessions_of,
)

pytestmark = BROWSER_MARKS


@pytest.fixture
def live_url(sqlite_app: Flask) -> Iterator[str]:
    ingest_foundation(sqlite_app)
    import_shipped_decisions(sqlite_app)
    with sessions_of(sqlite_app)() as session:
        rebuild(session, sqlite_app.config["QUORUM"].index_dir)
    make_user(sqlite_app, "eddie", "editor")
    with serving(sqlite_app) as url:
        yield url


@pytest.fixture
def browser() -> Iterator[object]:
    with chromium() as launched:
        yield launched


def test_a_reader_browses_from_home_to_a_thread_and_unfolds_a_quote(
    live_url: str, browser: object
) -> None:
    page = browser.new_page(viewport={"width": 1200, "height": 900})  # type: ignore[attr-defined]
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.goto(live_url + "/")
    shot(page, "home")
    page.get_by_role("link", name="foundation").first.click()
    page.wait_for_url("**/lists/foundation")
    page.get_by_role("link", name="The two types of interoperability").click()
    page.wait_for_url("**/threads/**")
    troy = page.locator("li.message", has_text="Troy Toman").first
    quote = troy.locator("details.quoted", has_text="from Thierry Carrez")
    assert not quote.locator("pre").is_visible()
    quote.locator("summary").click()
    assert quote.locator("pre").is_visible()
    assert "Total interoperability is basically" in quote.locator("pre").inner_text()
    shot(page, "thread")
    troy.get_by_role("link", name="permalink").click()
    page.wait_for_url("**/m/**")
    assert "very supportive of taking simpler first steps" in page.content()
    assert errors == [], errors


def test_keyboard_users_can_skip_to_content_and_walk_messages(
    live_url: str, browser: object
) -> None:
    page = browser.new_page()  # type: ignore[attr-defined]
    page.goto(live_url + "/lists/foundation/threads/1391522712.2459.12.camel@sorcha.example")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to content"
    page.locator("body").click(position={"x": 5, "y": 5})
    page.keyboard.press("j")
    focused = page.evaluate("document.activeElement.className")
    assert focused == "permalink"


def test_the_thread_page_fits_a_phone_screen(live_url: str, browser: object) -> None:
    page = browser.new_page(viewport={"width": 390, "height": 844})  # type: ignore[attr-defined]
    page.goto(live_url + "/lists/foundation/threads/1391522712.2459.12.camel@sorcha.example")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"page is {width}px wide on a 390px screen"
    shot(page, "thread-phone")


def test_a_reader_searches_and_narrows_by_a_facet(live_url: str, browser: object) -> None:
    page = browser.new_page(viewport={"width": 1200, "height": 900})  # type: ignore[attr-defined]
    page.goto(live_url + "/")
    page.get_by_label("Search the archive").fill("interoperability")
    page.get_by_label("Search the archive").press("Enter")
    page.wait_for_url("**/search?q=interoperability**")
    assert "5 messages match" in page.locator("[role=status]").inner_text()
    assert page.locator("ol.hits mark").count() > 0
    shot(page, "search")
    page.locator("a.facet", has_text="Troy Toman").click()
    page.wait_for_url("**from:%22Troy+Toman%22**")
    assert "1 message matches" in page.locator("[role=status]").inner_text()
    page.locator("ol.hits h2 a").first.click()
    page.wait_for_url("**/m/**")
    assert "simpler first steps" in page.content()


def test_an_editor_records_a_decision_and_links_the_debate(live_url: str, browser: object) -> None:
    editor = browser.new_page(viewport={"width": 1200, "height": 900})  # type: ignore[attr-defined]
    editor.goto(live_url + "/login")
    editor.get_by_label("User name").fill("eddie")
    editor.get_by_label("Password").fill(PASSWORD)
    editor.get_by_role("button", name="Sign in").click()
    editor.goto(live_url + "/decisions/new")
    editor.get_by_role("button", name="Save").click()  # empty: inline errors, nothing saved
    assert editor.locator("p.error").first.is_visible()
    editor.get_by_label("Title").fill("Interoperability in simpler first steps")
    editor.get_by_label("Decided by (e.g. Board of Directors)").fill("Board of Directors")
    editor.get_by_label("Status").select_option("under discussion")
    editor.get_by_role("button", name="Save").click()
    editor.wait_for_url("**/decisions/interoperability-in-simpler-first-steps")

    thread_url = live_url + "/lists/foundation/threads/1391522712.2459.12.camel@sorcha.example"
    editor.goto(thread_url)
    editor.get_by_text("Link this thread to a decision").click()
    editor.get_by_label("Relation").select_option("discussion")
    editor.get_by_role("button", name="Link").click()
    editor.wait_for_url(thread_url)
    troy = editor.locator("li.message", has_text="Troy Toman").first
    troy.get_by_role("link", name="permalink").click()
    editor.get_by_text("Link this message to a decision").click()
    editor.get_by_label("Relation").select_option("vote")
    editor.get_by_role("button", name="Link").click()

    editor.goto(live_url + "/decisions/interoperability-in-simpler-first-steps")
    links = editor.locator("ol.links").inner_text()
    assert "discussion" in links and "The two types of interoperability" in links
    assert "vote" in links and "Troy Toman" in links
    shot(editor, "decision")
    editor.goto(thread_url)
    assert (
        "Interoperability in simpler first steps"
        in editor.locator("section.decisions").inner_text()
    )

    reader = browser.new_page()  # type: ignore[attr-defined]
    reader.goto(live_url + "/decisions/interoperability-in-simpler-first-steps")
    assert "The two types of interoperability" in reader.content()
    assert reader.get_by_role("link", name="Edit").count() == 0
    assert reader.get_by_role("button", name="Suggest discussions").count() == 0
    reader.goto(thread_url)
    assert reader.get_by_text("Link this thread to a decision").count() == 0


def test_an_editor_confirms_a_position_in_place(
    sqlite_app: Flask, live_url: str, browser: object
) -> None:
    with sessions_of(sqlite_app)() as session:
        troy = session.scalars(select(Message).where(Message.message_id.like("<CF1A2E3B%"))).one()
        session.execute(update(Position).values(unsure=False))
        session.execute(
            update(Position)
            .where(Position.message_pk == troy.id)
            .values(stance="support", vote=None, unsure=True, confidence=0.4)
        )
        session.commit()
    editor = browser.new_page(viewport={"width": 1200, "height": 900})  # type: ignore[attr-defined]
    errors: list[str] = []
    editor.on("pageerror", lambda exc: errors.append(str(exc)))
    editor.goto(live_url + "/login")
    editor.get_by_label("User name").fill("eddie")
    editor.get_by_label("Password").fill(PASSWORD)
    editor.get_by_role("button", name="Sign in").click()
    editor.goto(live_url + "/lists/foundation/threads/1391522712.2459.12.camel@sorcha.example")
    panel = editor.locator("section.positions-panel")
    row = panel.locator("tr", has_text="Troy Toman")
    assert "unsure (best guess: support)" in " ".join(row.inner_text().split())
    assert "unsure 1" in panel.locator(".tally-lines").inner_text()
    editor.evaluate("window.notReloaded = true")
    row.get_by_role("button", name="Confirm Troy Toman: support").click()
    row = panel.locator("tr", has_text="Troy Toman")
    row.locator(".corrected").wait_for()
    assert editor.evaluate("window.notReloaded") is True  # the same page: no reload
    assert row.locator(".action-status").inner_text() == "Position confirmed."
    assert editor.evaluate("document.activeElement.className") == "action-status"
    assert "unsure" not in row.inner_text()
    assert "unsure" not in panel.locator(".tally-lines").inner_text()
    shot(editor, "position-confirmed")
    assert errors == [], errors
