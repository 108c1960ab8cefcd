"""Votes written as tokens ("+1", "-0", "+0.5", "++1") in an author's own text.

A token counts only where people put votes: at the start of a line ("+1", "+1 from me",
"-1: this breaks …"), closing a line after a sentence ("… could object :-) +1") or after
"I'm"/"I am" ("I'm +1 on this"). What follows it must be
the end of the line, punctuation or a word that goes with votes ("for", "on", "if", …), so
that counts ("-1 total open issues", "-1 day"), arithmetic ("n+1", "C++11"), dates,
version numbers ("-1.2.3") and numbered lists never fire.

"I withdraw my -1" and "changing my vote to +1" are vote changes: the newest one in a
message wins, and per thread the newest message wins (``app.positions``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_NUMBER = r"(?:\+\+1|[+-](?:0|[1-9]\d{0,2})(?:\.\d{1,2})?|±0)"
# After the token: nothing, punctuation (not a decimal point or a dash of a range), or a
# word that belongs to a vote.
_AFTER = (
    r"(?=\s*$|\s*[!,:;)\]]|\.(?!\d)|\s*-+\s|\s*\((?:non-?)?binding\)|\s+(?:for|on|to|from|here|"
    r"if|but|though|although|as|with|provided|unless|in|overall|binding|non-?binding|"
    r"and|assuming|once|because|since|i|we|this|that|too|also|again|now|anyway|"
    r"(?:from|by) me|\w+\s+(?:me|us)\b)\b)"
)
# At a line start, maybe after an intensifier ("Big +1", "A tentative -0").
_LINE_VOTE = re.compile(
    rf"^[ \t]*(?:(?:a\s+)?(?:big|huge|strong|massive|solid|firm|definite|definitely|"
    rf"enthusiastic|tentative|weak|mild|soft|my)\s+)?(?P<token>{_NUMBER}){_AFTER}",
    re.IGNORECASE | re.MULTILINE,
)
# "… I don't see how anyone could object :-) +1": a token closing a line after a sentence.
_CLOSING_VOTE = re.compile(
    rf"(?:[.!)]|:-?\)|;-?\))[ \t]+(?P<token>{_NUMBER})[ \t]*!*[ \t]*$", re.MULTILINE
)
_PHRASE_VOTE = re.compile(
    rf"\b(?:i'm|i am|i'd be|i would be|i'll be|count me as|put me down as|i vote|"
    rf"my vote(?: is)?:?|vote:)\s+"
    rf"(?P<token>{_NUMBER}){_AFTER}",
    re.IGNORECASE,
)
_CHANGE = re.compile(
    rf"\b(?:chang(?:e|ing) my vote to|switch(?:ing)? my vote to|"
    rf"(?:i|i'll|i will) (?:change|upgrade|downgrade|amend) (?:my vote )?(?:to|from \S+ to))\s+"
    rf"(?P<token>{_NUMBER})",
    re.IGNORECASE,
)
_WITHDRAW = re.compile(
    rf"\b(?:i )?(?:withdraw|retract|rescind|take back|drop)(?:ing)? my\s+(?P<token>{_NUMBER})",
    re.IGNORECASE,
)
_CONDITION = re.compile(
    r"^\W*(?:if|provided|assuming|as long as|once|unless|but|though|although|with the "
    r"(?:caveat|condition)|on (?:the )?condition)\b",
    re.IGNORECASE,
)
_ANY_TOKEN = re.compile(r"[+±-][\d+]")  # a cheap test that rules out most texts
_BINDING = re.compile(r"\((non-?)?binding\)", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Vote:
    """A vote token as written, where it is in the text, and what kind of statement it is."""

    token: str
    start: int  # offset of the token in the text searched
    end: int  # end of the line (or sentence) the token belongs to
    kind: str  # "vote", "conditional", "change" or "withdrawal"
    binding: bool | None = None

    @property
    def value(self) -> float:
        return 1.0 if self.token == "++1" else float(self.token.replace("±", ""))


def find_votes(text: str) -> list[Vote]:
    """Every vote in ``text`` (own text), in order of appearance."""
    if not _ANY_TOKEN.search(text):
        return []
    votes: list[Vote] = []
    patterns = ((_LINE_VOTE, "vote"), (_CLOSING_VOTE, "vote"), (_PHRASE_VOTE, "vote"))
    for pattern, kind in (*patterns, (_CHANGE, "change")):
        for m in pattern.finditer(text):
            end = _line_end(text, m.end("token"))
            rest = text[m.end("token") : end]
            found_kind = "conditional" if kind == "vote" and _CONDITION.match(rest) else kind
            binding = _BINDING.search(rest)
            votes.append(
                Vote(
                    token=m["token"],
                    start=m.start("token"),
                    end=end,
                    kind=found_kind,
                    binding=None if binding is None else binding.group(1) is None,
                )
            )
    for m in _WITHDRAW.finditer(text):
        votes.append(
            Vote(m["token"], m.start(), _line_end(text, m.end("token")), "withdrawal", None)
        )
    unique = {v.start: v for v in sorted(votes, key=lambda v: v.kind != "vote")}
    return sorted(unique.values(), key=lambda v: v.start)


def deciding_vote(votes: list[Vote]) -> Vote | None:
    """The vote a message stands for: the last change or withdrawal if there is one (it
    replaces what came before), else the first vote (the one on the main point)."""
    changes = [v for v in votes if v.kind in ("change", "withdrawal")]
    if changes:
        return changes[-1]
    return votes[0] if votes else None


def _line_end(text: str, i: int) -> int:
    end = text.find("\n", i)
    return len(text) if end < 0 else end
