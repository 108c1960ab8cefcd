"""Stance rules: each cue family, votes first, own words only, evidence always exact."""

from __future__ import annotations

import pytest

from app.models import STANCES
from ingest.parse import parse_message
from ingest.records import RejectedMessage
from ingest.sources import SourceError, detect_format, iter_archive
from ingest.stance import extract_stance
from tests.helpers import CORPORA
from tests.test_segments import SEED


def decided(body: str) -> tuple[str, str | None, str | None]:
    found = extract_stance(body)
    if found.evidence is not None:
        assert body[found.evidence_start : found.evidence_end] == found.evidence
    return found.stance, found.vote, found.evidence


def test_the_seed_is_support_from_toman_s_own_words_only() -> None:
    stance = extract_stance(SEED)
    assert stance.stance == "support"
    assert stance.evidence is not None
    assert "I am very supportive of taking simpler first steps" in stance.evidence
    assert SEED[stance.evidence_start : stance.evidence_end] == stance.evidence
    assert SEED.index(stance.evidence) > SEED.index("Personally I think")


def test_quoted_words_never_decide() -> None:
    body = "Ann wrote:\n> I strongly disagree, this is a terrible idea.\n\nWhen is the call?\n"
    assert decided(body)[0] == "neutral"
    assert decided("Ann wrote:\n> +1\n> I agree!\n")[0] == "none"


@pytest.mark.parametrize(
    ("body", "stance", "vote"),
    [
        ("+1\n", "support", "+1"),
        ("+1 for reducing the public interface.\n", "support", "+1"),
        ("-1: this breaks every plugin.\n", "oppose", "-1"),
        ("+0\n", "neutral", "+0"),
        ("-0, I would rather wait.\n", "concern", "-0"),
        ("+0.5\n", "support", "+0.5"),
        ("-0.9\n", "concern", "-0.9"),
        ("+1 if we keep the old API for one release.\n", "concern", "+1"),
        ("Fair point, I withdraw my -1.\n", "neutral", None),
        ("-1 at first, but after the benchmarks: changing my vote to +1.\n", "support", "+1"),
    ],
)
def test_votes_decide_first(body: str, stance: str, vote: str | None) -> None:
    assert decided(body)[:2] == (stance, vote)


@pytest.mark.parametrize(
    "body",
    [
        "I agree with Ann, let's do it.",
        "Agreed.",
        "Seconded!",
        "I'm in favor of option 3.",
        "Sounds like a good plan to me.",
        "That makes sense.",
        "Yes, absolutely.",
        "I am very supportive of taking simpler first steps.",
        "No objection from me.",
    ],
)
def test_support_cues(body: str) -> None:
    assert decided(body)[0] == "support"


@pytest.mark.parametrize(
    "body",
    [
        "I don't agree with this proposal.",
        "I disagree: the old format is faster.",
        "I'm strongly against renaming it.",
        "I'd prefer to keep .tap the default.",
        "This is a bad idea.",
    ],
)
def test_oppose_cues(body: str) -> None:
    assert decided(body)[0] == "oppose"


@pytest.mark.parametrize(
    "body",
    [
        "I worry that plugins will break.",
        "I'm a bit concerned about the deprecation period.",
        "My only concern is the documentation.",
        "Fine, as long as the old API keeps working for a release.",
        "Yes, but new-style classes are really nice.",
        "We still rely on pool.waiters for monitoring.",
    ],
)
def test_concern_cues(body: str) -> None:
    assert decided(body)[0] == "concern"


@pytest.mark.parametrize(
    "body",
    [
        "I'm not in favor of this.",
        "I'm not against it, but I don't see the point.",
        "If you agree, please say so on the ticket.",
        "Do you agree that this is the right approach?",
        "That is not a good idea.",
    ],
)
def test_negated_conditional_and_questioning_cues_never_give_support(body: str) -> None:
    assert decided(body)[0] != "support"


def test_support_and_opposition_in_one_message_stay_neutral() -> None:
    assert decided("I agree with the goal. I disagree with the schedule.")[0] == "neutral"


def test_an_unconditional_agreement_outweighs_a_side_worry() -> None:
    body = "I agree with the plan.\n\nI worry a little about the docs, but that can wait."
    assert decided(body)[0] == "support"


def test_no_cue_is_neutral_with_a_sentence_as_evidence() -> None:
    stance, vote, evidence = decided("The buildbot for Windows runs Python 2.6 and 2.7.\n")
    assert (stance, vote) == ("neutral", None)
    assert evidence == "The buildbot for Windows runs Python 2.6 and 2.7."


@pytest.mark.parametrize(
    "body", ["Thanks!\n", "Thank you, Ann.\n\n-- \nBob\n", "", "> quoted only\n"]
)
def test_thanks_and_empty_replies_have_no_position(body: str) -> None:
    assert decided(body) == ("none", None, None)


def test_false_vote_tokens_do_not_make_a_position() -> None:
    body = "We had -1 total open issues this week, and C++11 builds work.\n"
    assert decided(body)[:2] == ("neutral", None)


@pytest.mark.parametrize(
    ("body", "stance"),
    [
        ("Works for me.", "support"),
        ("Fine by me.", "support"),
        ("Big +1 from me.", "support"),
        ("My vote: -1", "oppose"),
        ("I don't think this is a good idea.", "oppose"),
        ("I'm not a fan of the new layout.", "oppose"),
        ("I have some doubts about the timing.", "concern"),
        ("I agree in principle, but the docs must come first.", "concern"),
    ],
)
def test_common_phrasings_of_other_lists(body: str, stance: str) -> None:
    assert decided(body)[0] == stance


@pytest.mark.corpus
def test_every_odd_message_gets_a_stance_with_exact_evidence() -> None:
    """Hostile and unusual mail (odd-mail corpus) never breaks extraction."""
    checked = 0
    for path in sorted((CORPORA / "odd-mail").rglob("*")):
        try:
            raws = list(iter_archive(path, detect_format(path))) if path.is_file() else []
        except SourceError:
            continue
        for raw in raws:
            try:
                body = parse_message(raw).body
            except RejectedMessage:
                continue
            found = extract_stance(body)
            assert found.stance in STANCES
            if found.evidence is not None:
                assert body[found.evidence_start : found.evidence_end] == found.evidence
            checked += 1
    assert checked > 200


@pytest.mark.parametrize(
    "body",
    [
        "I am pleased to announce the first release of txfoo.",
        "That will give me a good idea about how to handle it.",
        "If you're happy with that, you should go for it.",
        "Writing to a socket would block, so don't do that.",
        "Andrea says that Twisted was a mistake for him.",
    ],
)
def test_announcements_advice_and_reported_speech_take_no_side(body: str) -> None:
    assert decided(body)[0] == "neutral"


def test_a_denied_good_idea_is_an_objection() -> None:
    assert decided("This doesn't seem like a good idea right now.")[0] == "oppose"
