"""Vote tokens: every form people write counts, and nothing that only looks like one."""

from __future__ import annotations

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
