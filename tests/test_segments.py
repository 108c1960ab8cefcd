"""Message structure: own words, quotes (with depth and author), attributions, signatures,
list footers and forwarded blocks."""

from __future__ import annotations

import email
import itertools
from email import policy
from pathlib import Path

import pytest

from ingest.segments import Segment, own_text, quoted_authors, quoted_text, segment_body
from tests.helpers import CORPORA

SEED = (
    '> On Feb 5, 2014, at 6:05 AM, "Thierry Carrez" <thierry at openstack.org> wrote:\n'
    "> Mark McLoughlin wrote:\n"
    ">> To put the question another way - which helps users more?\n"
    ">> interoperable with a much larger number of OpenStack clouds?\n"
    "> I like your way of framing the question.\n"
    "> Personally I think going for loose interoperability is short-sighted.\n"
    "\n"
    "\n"
    "> With total interoperability, you may have less providers at start.\n"
    "\n"
    "Given all that, I am very supportive of taking simpler first steps.\n"
    "> -- \n"
    "> Thierry Carrez (ttx)\n"
    "> _______________________________________________\n"
    "> Foundation mailing list\n"
    "> Foundation at lists.openstack.org\n"
    "> http://lists.openstack.org/cgi-bin/mailman/listinfo/foundation\n"
    "\n"
    "More information about the Foundation mailing list"
)


def shape(segments: list[Segment]) -> list[tuple[str, int, str | None]]:
    return [(s.kind, s.depth, s.quoted_author) for s in segments]


def test_the_seed_separates_own_words_from_two_attributed_quotes() -> None:
    segments = segment_body(SEED)
    assert shape(segments) == [
        ("attribution", 1, "Thierry Carrez"),
        ("attribution", 1, "Mark McLoughlin"),
        ("quoted", 2, "Mark McLoughlin"),
        ("quoted", 1, "Thierry Carrez"),
        ("own", 0, None),
        ("signature", 1, None),
        ("footer", 1, None),
        ("footer", 0, None),
    ]
    assert own_text(segments) == (
        "Given all that, I am very supportive of taking simpler first steps."
    )
    assert quoted_authors(segments) == ["Mark McLoughlin", "Thierry Carrez"]
    assert segments[0].quoted_address == "thierry@openstack.org"
    assert "I like your way" in quoted_text(segments)
    assert ">" not in quoted_text(segments)


def test_segments_cover_every_line_in_order_and_own_text_is_a_slice_of_the_body() -> None:
    segments = segment_body(SEED)
    assert segments[0].start_line == 0
    assert segments[-1].end_line == len(SEED.split("\n"))
    for before, after in itertools.pairwise(segments):
        assert before.end_line == after.start_line
    for segment in segments:
        if segment.kind == "own":
            assert SEED[segment.offset : segment.offset + len(segment.text)] == segment.text


def test_quote_markers_with_and_without_spaces_give_the_same_depths() -> None:
    spaced = segment_body("Bob wrote:\n> > deep\n> shallow\nmine")
    tight = segment_body("Bob wrote:\n>> deep\n>shallow\nmine")
    assert [(s.kind, s.depth) for s in spaced] == [(s.kind, s.depth) for s in tight]
    assert [s.text for s in tight if s.kind == "quoted"] == ["deep", "shallow"]


def test_html_escaped_quote_markers_count_as_quotes() -> None:
    segments = segment_body("&gt; quoted words\nmy words")
    assert shape(segments) == [("quoted", 1, None), ("own", 0, None)]


def test_top_posting_puts_the_reply_first_and_the_attributed_quote_below() -> None:
    body = "Sounds good to me.\n\nOn Mon, 3 Feb 2014, Ann Lee <ann@x.org> wrote:\n> Shall we?\n"
    segments = segment_body(body)
    assert shape(segments)[:3] == [
        ("own", 0, None),
        ("attribution", 0, "Ann Lee"),
        ("quoted", 1, "Ann Lee"),
    ]
    assert own_text(segments) == "Sounds good to me.\n"


def test_inline_replies_keep_the_quoted_author_across_interruptions() -> None:
    body = "Ann wrote:\n> point one\n\nI agree.\n\n>\n> point two\n\nI do not.\n"
    segments = segment_body(body)
    assert [s for s in shape(segments) if s[0] == "quoted"] == [
        ("quoted", 1, "Ann"),
        ("quoted", 1, "Ann"),
    ]
    assert own_text(segments) == "I agree.\n\n\nI do not.\n"


def test_an_unmarked_quote_after_a_dated_attribution_is_quoted() -> None:
    body = "Yes, do it.\n\nOn Mon, Feb 3, 2014 at 9:00 AM, Ann Lee <ann@x.org> wrote:\nShall we?\n"
    segments = segment_body(body)
    assert ("quoted", 1, "Ann Lee") in shape(segments)
    assert "Shall we" not in own_text(segments)


def test_a_weak_wrote_line_followed_by_own_text_stays_own_text() -> None:
    body = "Here is the summary Ann wrote:\nthe plan is fine.\n"
    assert shape(segment_body(body)) == [("own", 0, None)]


def test_an_outlook_original_message_block_is_an_attributed_quote() -> None:
    body = (
        "I disagree.\n\n-----Original Message-----\nFrom: Ann Lee [mailto:ann@x.org]\n"
        "Sent: Monday, February 03, 2014 9:00 AM\nTo: list@x.org\nSubject: Plan\n\n"
        "Shall we adopt the plan?\n"
    )
    segments = segment_body(body)
    assert shape(segments) == [
        ("own", 0, None),
        ("attribution", 0, "Ann Lee"),
        ("quoted", 1, "Ann Lee"),
    ]
    assert own_text(segments) == "I disagree.\n"


def test_signatures_end_own_text_but_not_a_dash_dash_inside_a_sentence() -> None:
    segments = segment_body("Fine by me.\n-- \nAnn Lee\nExample Corp\n")
    assert shape(segments) == [("own", 0, None), ("signature", 0, None)]
    assert own_text(segment_body("a fix -- not a signature\n")) == "a fix -- not a signature\n"
    assert shape(segment_body("Yes.\n\nSent from my iPhone\n"))[-1] == ("signature", 0, None)


def test_a_forwarded_message_is_its_own_block_with_its_sender() -> None:
    body = (
        "FYI, see below.\n\n---------- Forwarded message ----------\n"
        "From: Ann Lee <ann@x.org>\nDate: Mon, Feb 3, 2014\nSubject: Plan\n\nShall we?\n"
    )
    segments = segment_body(body)
    assert shape(segments) == [("own", 0, None), ("forwarded", 0, "Ann Lee")]
    assert own_text(segments) == "FYI, see below.\n"


def test_mailman_footers_and_scrubbed_attachment_notes_are_footers() -> None:
    body = (
        "My words.\n_______________________________________________\n"
        "Twisted-Python mailing list\nTwisted-Python at twistedmatrix.com\n"
        "http://twistedmatrix.com/cgi-bin/mailman/listinfo/twisted-python\n"
    )
    assert shape(segment_body(body)) == [("own", 0, None), ("footer", 0, None)]
    scrubbed = (
        "Text.\n-------------- next part --------------\nAn HTML attachment was scrubbed...\n"
    )
    assert shape(segment_body(scrubbed)) == [("own", 0, None), ("footer", 0, None)]


REPLY_FIXTURES = CORPORA / "odd-mail"


def fixture_body(relative: str) -> str:
    return (REPLY_FIXTURES / relative).read_text(encoding="utf-8", errors="replace")


@pytest.mark.corpus
@pytest.mark.parametrize(
    ("relative", "own_starts", "own_lacks", "authors"),
    [
        (
            "github-email_reply_parser/test/emails/email_1_2.txt",
            "Hi,",
            "Hi folks",
            ["Abhishek Kona"],
        ),
        (
            "github-email_reply_parser/test/emails/email_1_3.txt",
            "Oh thanks.",
            "You can list the keys",
            ["Russell Brown", "Abhishek Kona"],
        ),
        (
            "github-email_reply_parser/test/emails/email_1_8.txt",
            "I will reply under this one",
            "okay?",
            ["Example Dev", "Tim Haines"],
        ),
        (
            "github-email_reply_parser/test/emails/email_2_1.txt",
            "Outlook with a reply",
            "Dear Google Apps Sync user",
            ["Google Apps Sync Team"],
        ),
        (
            "github-email_reply_parser/test/emails/greedy_on.txt",
            "On your remote host",
            "I am having an odd issue",
            ["George Plymale"],
        ),
        (
            "github-email_reply_parser/test/emails/email_one_is_not_on.txt",
            "Thank, this is",
            "The good news",
            ["Dave Tapley"],
        ),
        (
            "zapier-email-reply-parser/test/emails/email_headers_no_delimiter.txt",
            "And another reply!",
            "A reply",
            ["Dan Watson", "Watson, Dan"],
        ),
        (
            "zapier-email-reply-parser/test/emails/email_gmail.txt",
            "This is a test for inbox",
            "That way people can tell",
            ["Steven Scott"],
        ),
        (
            "zapier-email-reply-parser/test/emails/email_partial_quote_header.txt",
            "On your remote host",
            "port forwarding stopped",
            ["George Plymale"],
        ),
        (
            "zapier-email-reply-parser/test/emails/email_iPhone.txt",
            "Here is another email",
            "Sent from my iPhone",
            [],
        ),
    ],
)
def test_reply_layouts_of_real_clients(
    relative: str, own_starts: str, own_lacks: str, authors: list[str]
) -> None:
    segments = segment_body(fixture_body(relative))
    own = own_text(segments)
    assert own.startswith(own_starts)
    assert own_lacks not in own
    assert quoted_authors(segments) == authors


@pytest.mark.corpus
def test_every_reply_fixture_segments_into_contiguous_covering_segments() -> None:
    files = [
        p
        for folder in ("talon-fixtures", "github-email_reply_parser", "zapier-email-reply-parser")
        for p in (REPLY_FIXTURES / folder).rglob("*")
        if p.is_file() and p.name != "LICENSE" and p.suffix != ".py"
    ]
    assert len(files) > 50
    for path in files:
        body = path.read_text(encoding="utf-8", errors="replace")
        segments = segment_body(body)
        assert segments[0].start_line == 0, path
        assert segments[-1].end_line == len(body.split("\n")), path
        assert all(a.end_line == b.start_line for a, b in itertools.pairwise(segments))


@pytest.mark.corpus
def test_talon_standard_replies_end_where_the_quote_begins() -> None:
    folder = REPLY_FIXTURES / "talon-fixtures" / "tests" / "fixtures" / "standard_replies"
    checked = 0
    for path in sorted(folder.glob("*.eml")):
        expected = path.with_name(path.stem + "_reply_text")
        if not expected.exists():
            continue
        body = _plain_body(path)
        segments = segment_body(body)
        reply_end = next(s.start_line for s in segments if s.kind not in ("own", "signature"))
        reply = "\n".join(body.split("\n")[:reply_end]).strip()
        assert reply == expected.read_text().strip(), path
        checked += 1
    assert checked >= 1


def _plain_body(path: Path) -> str:
    message = email.message_from_bytes(path.read_bytes(), policy=policy.default)
    part = message.get_body(preferencelist=("plain",))
    assert part is not None
    return str(part.get_content())


def test_pipe_quotes_count_but_ascii_art_does_not() -> None:
    body = "Bob wrote:\n| On Mon, Ann wrote:\n|> deep\n| shallow\n\nmine\n |_____| |___\n"
    segments = segment_body(body)
    assert [(s.kind, s.depth, s.quoted_author) for s in segments if s.kind == "quoted"] == [
        ("quoted", 2, "Ann"),
        ("quoted", 1, "Bob"),
    ]
    assert own_text(segments) == "mine\n |_____| |___\n"


def test_an_elision_between_attribution_and_quote_does_not_break_them() -> None:
    body = "Mike wrote:\n...\n\n> the quoted point\n\nMy answer.\n"
    segments = segment_body(body)
    assert ("quoted", 1, "Mike") in shape(segments)
    assert "Mike wrote" not in own_text(segments)


def test_a_bare_name_line_attributes_the_quote_that_follows_it() -> None:
    body = "> John Santos:\n>> I hope my code keeps working.\n> It will.\n\nWhat?\n"
    assert shape(segment_body(body))[:2] == [
        ("attribution", 1, "John Santos"),
        ("quoted", 2, "John Santos"),
    ]
    assert shape(segment_body("Next Steps:\nWe ship on Monday.\n")) == [("own", 0, None)]
