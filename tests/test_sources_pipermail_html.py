"""Pipermail HTML month folders: every article page becomes a message with its id, author,
date and body; thread.html gives parents; orphan copies take the id of the page they copy."""

from __future__ import annotations

import shutil
from datetime import datetime, timedelta, timezone
from pathlib import Path

from ingest.parse import parse_message
from ingest.sources import detect_format, iter_archive
from ingest.sources.detect import list_files, list_hint_for
from tests.helpers import FIXTURES

GARDEN = FIXTURES / "ingest" / "garden"
MONTH = GARDEN / "2019-March"


def parsed_by_page(path: Path = MONTH) -> dict[str, object]:
    return {Path(raw.source).name: (raw, parse_message(raw)) for raw in iter_archive(path)}


def test_a_month_folder_is_detected_and_kept_whole_when_walking() -> None:
    assert detect_format(MONTH) == "pipermail-html"
    assert (MONTH, False) in list_files([GARDEN])
    assert not any(path.parent == MONTH for path, _ in list_files([GARDEN]))
    assert list_hint_for(MONTH) == "garden"


def test_every_article_page_is_read_and_indexes_are_not() -> None:
    assert sorted(parsed_by_page()) == [
        "000050.html",
        "000060.html",
        "000070.html",
        "000101.html",
        "000102.html",
    ]


def test_an_article_gives_subject_author_address_date_and_decoded_body() -> None:
    raw, alice = parsed_by_page()["000101.html"]
    assert alice.message_id == "<plant-1+x=y@alice.example>"  # from the mailto In-Reply-To
    assert alice.subject == "[Garden] Should we plant tomatoes & basil?"
    assert (alice.from_name, alice.from_address) == ("Alice Müller", "alice@alice.example")
    assert alice.date == datetime(2019, 3, 1, 10, 0, tzinfo=timezone(timedelta(hours=1)))
    assert alice.date_source == "article"
    assert "tomatoes & basil in bed <3> this spring." in alice.body
    assert "See http://garden.example/plan" in alice.body
    assert "<A HREF" not in alice.body
    assert raw.article_url == "2019-March/000101.html"


def test_thread_html_nesting_gives_the_parent() -> None:
    pages = parsed_by_page()
    assert pages["000102.html"][1].thread_parent == "<plant-1+x=y@alice.example>"
    assert pages["000101.html"][1].thread_parent is None


def test_an_orphan_copy_without_message_id_takes_the_id_of_the_page_it_copies() -> None:
    # 000050 is Bob's reply from an older build of the archive (EST instead of CET).
    pages = parsed_by_page()
    assert pages["000050.html"][1].message_id == "<bob-2@bob.example>"
    assert not pages["000050.html"][1].synthetic_id


def test_an_orphan_whose_build_put_its_parent_id_in_the_reply_link_takes_its_twins_id() -> None:
    # 000070 is Bob's reply from a build whose mailto link carries In-Reply-To: Alice's id.
    assert parsed_by_page()["000070.html"][1].message_id == "<bob-2@bob.example>"


def test_an_orphan_without_a_twin_gets_a_stable_synthetic_id(tmp_path: Path) -> None:
    first = parsed_by_page()["000060.html"][1]
    copy = tmp_path / "2019-March"
    shutil.copytree(MONTH, copy)
    again = parsed_by_page(copy)["000060.html"][1]
    assert first.synthetic_id and first.message_id == again.message_id
    assert first.message_id.endswith("@synthetic.quorum.invalid>")


def test_scrubbed_attachment_notes_become_attachment_metadata() -> None:
    pages = parsed_by_page()
    alice, carol = pages["000101.html"][1], pages["000060.html"][1]
    assert "scrubbed" not in alice.body and "next part" not in alice.body
    assert [(a.filename, a.content_type, a.url) for a in alice.attachments] == [
        (
            "attachment.html",
            "text/html",
            "http://lists.example.org/pipermail/garden/attachments/20190301/abc/attachment.html",
        )
    ]
    assert [(a.filename, a.content_type, a.size) for a in carol.attachments] == [
        ("bins.jpg", "image/jpeg", 20480)
    ]
    assert carol.body == "Who has the key to the compost bins?"


def test_a_single_article_file_can_be_ingested_with_its_folder_knowledge() -> None:
    page = MONTH / "000102.html"
    assert detect_format(page) == "pipermail-html"
    (raw,) = list(iter_archive(page))
    assert parse_message(raw).thread_parent == "<plant-1+x=y@alice.example>"
