"""Vote tokens: every form people write counts, and nothing that only looks like one."""

from __future__ import annotations

import time

import pytest

from ingest.votes import deciding_vote, find_votes


def tokens(text: str) -> list[tuple[str, str]]:
    return [(v.token, v.kind) for v in find_votes(text)]


@pytest.mark.parametrize(
    ("text", "token"),
    [
        ("+1", "+1"),
        ("+1!", "+1"),
        ("-1", "-1"),
        ("+0", "+0"),
        ("-0", "-0"),
        ("+0.5", "+0.5"),
        ("-0.9", "-0.9"),
        ("++1", "++1"),
        ("+2", "+2"),
        ("+100", "+100"),
        ("+1 for reducing the public interface.", "+1"),
        ("-1: this breaks every plugin.", "-1"),
        ("+1 from me", "+1"),
        ("   +1", "+1"),
        ("Sounds fine.\n+1\n", "+1"),
        ("I'm +1 on this.", "+1"),
        ("I am -1 on the rename", "-1"),
    ],
)
def test_each_vote_form_is_a_vote(text: str, token: str) -> None:
    assert tokens(text) == [(token, "vote")]


@pytest.mark.parametrize(
    "text",
    [
        "we have an n+1 query problem",
        "it needs C++11",
        "-1 day until the release",
        "-1 total open issues this week",
        "2014-02-05 was the date",
        "-2014-02-05",
        "+0100 is the offset",
        "-1.2.3 is broken",
        "+1.0.4 is out",
        "1. first item\n2. second item",
        "- one\n- two",
        "the score went from 3 to +1 overnight",
        "So, one positive vote for removing it.",
        "it gets my vote",
    ],
)
def test_false_vote_traps_are_not_votes(text: str) -> None:
    assert tokens(text) == []


def test_binding_and_non_binding_are_recorded() -> None:
    assert [v.binding for v in find_votes("+1 (binding)")] == [True]
    assert [v.binding for v in find_votes("+1 (non-binding)")] == [False]
    assert [v.binding for v in find_votes("+1")] == [None]


@pytest.mark.parametrize(
    "text", ["+1 if we keep the old API", "+1, but only for trunk", "+1 as long as docs stay"]
)
def test_a_conditional_vote_is_marked_conditional(text: str) -> None:
    assert tokens(text) == [("+1", "conditional")]


def test_a_change_of_vote_replaces_the_earlier_vote_in_the_message() -> None:
    votes = find_votes("-1\n\nAfter the discussion, changing my vote to +1.")
    assert [(v.token, v.kind) for v in votes] == [("-1", "vote"), ("+1", "change")]
    chosen = deciding_vote(votes)
    assert chosen is not None and (chosen.token, chosen.kind) == ("+1", "change")


def test_a_withdrawal_is_the_deciding_vote() -> None:
    chosen = deciding_vote(find_votes("You convinced me. I withdraw my -1."))
    assert chosen is not None and (chosen.token, chosen.kind) == ("-1", "withdrawal")


def test_with_several_votes_the_first_is_the_main_point() -> None:
    chosen = deciding_vote(find_votes("+1 for reducing the interface.\n\n-1 for renaming it."))
    assert chosen is not None and chosen.token == "+1"


@pytest.mark.parametrize(
    ("text", "token"),
    [
        # Any word may follow a token at the start of a line: it names what the vote is on.
        ("+1 SemVer", "+1"),
        ("+1 breadcrumbs", "+1"),
        ("-1 whatsoever, the old layout was fine", "-1"),
        ("+1 tabs over spaces.", "+1"),
        ("+0 overall", "+0"),
        ("+1 for option 2", "+1"),
        ("-1, this breaks the plugin loader", "-1"),
        ("+0 from me", "+0"),
        ("+1 to the proposal", "+1"),
        ("+1 on dropping 2.4", "+1"),
        ("+10 from me", "+10"),
        ("-0.5 on the new name", "-0.5"),
        ("-1 (this would break every deployment)", "-1"),
        # A discourse word or two may open the line.
        ("So, +1", "+1"),
        ("And +1 on keeping the module name.", "+1"),
        ("Otherwise, +100.", "+100"),
        ("But yeah, +100. Glad we got here.", "+100"),
        ("In general: +1 for this", "+1"),
        ("FWIW -0 on the rename", "-0"),
        ("Overall, a big +1 from me.", "+1"),
        # After "I'm", an adverb may come between, and a word may follow the token.
        ("I'm strongly -1 on this.", "-1"),
        ("I am still +0", "+0"),
        ("I'm hella-+10-for-this, honestly", "+10"),
        ("I'm +1 bigtime on the move to the new tracker.", "+1"),
        # Apostrophes come curly, or as "?" where an archive lost the encoding.
        ("I\u2019m +1 on this one.", "+1"),
        ("I?m -1 on that.", "-1"),
    ],
)
def test_a_token_followed_by_what_it_is_on_is_a_vote(text: str, token: str) -> None:
    assert tokens(text) == [(token, "vote")]


@pytest.mark.parametrize(
    "text",
    [
        # Counts and amounts: a unit or quantity word after the number.
        "+1 day",
        "-1 more",
        "-1 points",
        "+2 hours",
        "+3 tests, -1 failure",
        "-1 total open issues this week",
        "+10 percent on the benchmark",
        "-4 blockers left, -2 regressions",
        "+11 Mar 2031 04:05:06 worker started",
        # List items counted with the list's own sign.
        "The setup is:\n-1 broker\n-several workers\n",
        # Arithmetic, phone numbers, values.
        "x = y -1",
        "+1 (555) 123-4567",
        "+1 555 123 4567",
        "+1-555-123-4567",
        "+33(+)600 CALL US",
        "-1, 0 and 1 are the allowed values",
        "-1 is returned when the peer has gone away",
        "-1 means no limit",
        "So -1 more",
        "the offset is UTC +1",
        # Diff hunks.
        "@@ -1 +1 @@",
        "-1 +1 @@",
        (
            "--- a/README\n+++ b/README\n@@ -3,2 +3,2 @@\n"
            "-1 when the peer is gone\n+0 when the peer is gone\n"
        ),
        "+    foo()",
        # Worded votes are support, not tokens.
        "I vote for SemVer",
        "SemVer gets my vote.",
        "I'm in UTC +1 as well",
    ],
)
def test_counts_arithmetic_and_patches_are_not_votes(text: str) -> None:
    assert tokens(text) == []


def test_moving_from_one_vote_to_another_is_a_change() -> None:
    chosen = deciding_vote(find_votes("Your last point is pushing me from -0 to -1."))
    assert chosen is not None and (chosen.token, chosen.kind) == ("-1", "change")


def test_a_patch_does_not_hide_the_vote_after_it() -> None:
    text = "@@ -1,2 +1,2 @@\n-0 old line\n+0 new line\n\n+1 with this patch\n"
    assert tokens(text) == [("+1", "vote")]


@pytest.mark.parametrize("line", ["+1 " * 350_000, "-" * 1_000_000, "+-" * 500_000])
def test_a_long_line_is_read_in_linear_time(line: str) -> None:
    started = time.perf_counter()
    find_votes(line)
    find_votes("I'm " + line)
    assert time.perf_counter() - started < 5.0  # quadratic would take minutes
