"""Votes written as tokens ("+1", "-0", "+0.5", "++1") in an author's own text.

A token counts only where people put votes: at the start of a line ("+1", "+1 SemVer",
"-1: this breaks …"), maybe after a discourse word or two ("So, +1", "But yeah, +100."),
closing a line after a sentence ("… could object :-) +1") or after "I'm"/"I am" ("I'm
strongly +1 on this"). After a number people vote with (±0, ±1, +10, +100), whatever word
follows names what the vote is on ("+1 SemVer"), except a unit or quantity word, which makes
it a count ("-1 total open issues", "-1 more", "+1 day"); other numbers need a word that goes
with votes ("+2 for this", not "+2 hours", "-5 highest priority bugs"). A digit, an operator or
another token after it makes it arithmetic or a phone number; dates, version numbers
("-1.2.3"), numbered lists, list items ("-1 server" over "-some clients") and the lines of a
diff hunk never fire. These rules read how votes are written, not what a list discusses, so
they hold on lists never seen.

"I withdraw my -1", "changing my vote to +1" and "pushing me from -0 to -1" are vote
changes: the newest one in a message wins, and per thread the newest message wins
(``app.positions``).
"""

from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass

_NUMBER = r"(?:\+\+1|[+-](?:0|[1-9]\d{0,2})(?:\.\d{1,2})?|±0)"
# An apostrophe as mail writes it: straight, curly, a backtick, or "?" where an archive lost
# the encoding ("I?m +1").
_APOS = "['\u2019`?]"
# Words after a number that make it an amount, not a vote: units, counted things,
# comparatives, and verbs that make the number the subject ("-1 means no limit").
_COUNT_WORD = (
    r"(?:more|less|fewer|extra|additional|other|others|total|net|each|per|times|x|percent|pct|"
    r"points?|pts?|h|hrs?|hours?|mins?|minutes?|s|secs?|seconds?|ms|days?|weeks?|months?|"
    r"years?|yrs?|bytes?|[kmg]i?b|lines?|chars?|characters?|items?|issues?|tickets?|bugs?|"
    r"tests?|files?|commits?|errors?|failures?|warnings?|people|persons?|users?|utc|gmt|"
    r"degrees?|px|is|was|means|indicates|equals|returns|jan|january|feb|february|mar|march|"
    r"apr|april|may|jun|june|jul|july|aug|august|sept?|september|oct|october|nov|november|"
    r"dec|december)\b"
)
# Words that go with a vote whatever its number ("+2 for this", "-5 if we must").
_VOTE_WORD = (
    r"(?:for|on|to|from|here|if|but|though|although|as|with|provided|unless|in|overall|"
    r"binding|non-?binding|and|assuming|once|because|since|i|we|this|that|too|also|again|"
    r"now|anyway)\b"
)
# After the token: the end of the line; punctuation that is not a decimal point, a range
# dash or a list of numbers; "(binding)" or a parenthesis opening words; a vote word; a
# hyphen joining a preposition ("+10-for-this"); or, captured as ``word`` so that
# ``find_votes`` can check the number, any other word that is not a count ("+1 SemVer").
_AFTER = (
    r"(?=[ \t]*$|[ \t]*[!,:;)\]](?![ \t]*\d)|\.(?!\d)|[ \t]*-+[ \t]+(?!\d)|"
    r"[ \t]*\((?![ \t]*[\d+])|[ \t]+" + _VOTE_WORD + r"|-(?:for|on|to|from)\b|"
    r"[ \t]+(?P<word>(?!" + _COUNT_WORD + r")[^\W\d_]))"
)
# The numbers people vote with. Followed by an arbitrary word, any other number is a count
# or a date ("-5 highest priority bugs", "+11 Sep 2008").
_USUAL_VOTE = re.compile(r"\+\+1|[+-](?:0(?:\.\d+)?|1|10|100)|±0")
# A line of a list made with the token's own sign ("-1 server" over "-some clients").
_LIST_ITEM = {sign: re.compile(rf"[ \t]*\{sign}[ \t]*[^\W\d_]") for sign in "+-"}
_INTENSIFIER = (
    r"(?:(?:a[ \t]+)?(?:big|huge|strong|massive|solid|firm|definite|definitely|"
    r"enthusiastic|tentative|weak|mild|soft|my)[ \t]+)?"
)
# Words that open a line before a vote ("So, +1", "But yeah, +100", "In general: +1").
_LEAD = (
    r"(?:(?:and|so|but|yes|yeah|yep|ok|okay|also|anyway|otherwise|overall|well|personally|"
    r"fwiw|imho|imo|honestly|frankly|in general|in short|in summary|all in all|in any case|"
    r"either way|for my part|for me|summary|verdict|tl;?dr)[ \t]*[,:]?[ \t]+){0,2}"
)
# At a line start, maybe after a discourse word and an intensifier ("Overall, a big +1").
_LINE_VOTE = re.compile(
    rf"^[ \t]*{_LEAD}{_INTENSIFIER}(?P<token>{_NUMBER}){_AFTER}",
    re.IGNORECASE | re.MULTILINE,
)
# "… I don't see how anyone could object :-) +1": a token closing a line after a sentence.
_CLOSING_VOTE = re.compile(
    rf"(?:[.!)]|:-?\)|;-?\))[ \t]+(?P<token>{_NUMBER})[ \t]*!*[ \t]*$", re.MULTILINE
)
# "I'm +1", "I'm strongly -1", "I am hella-+10-for-this": one adverb may come between.
_PHRASE_VOTE = re.compile(
    rf"\b(?:i{_APOS}m|i am|i{_APOS}d be|i would be|i{_APOS}ll be|count me as|put me down as|"
    rf"i vote|my vote(?: is)?:?|vote:)[ \t]+"
    rf"(?:(?:\w+ly|hella|still|also|now|too|so|very|definitely|probably|roughly|about|"
    rf"around)[ \t-]+)?(?P<token>{_NUMBER}){_AFTER}",
    re.IGNORECASE | re.MULTILINE,
)
_CHANGE = re.compile(
    rf"\b(?:chang(?:e|ing) my vote to|switch(?:ing)? my vote to|"
    rf"(?:i|i{_APOS}ll|i will) (?:change|upgrade|downgrade|amend) (?:my vote )?"
    rf"(?:to|from \S+ to)|"
    rf"(?:me|my vote|i(?:{_APOS}m|{_APOS}ve| am| have)?(?: \w+)? (?:go|going|gone|went|"
    rf"move[sd]?|moving|switch(?:ed|ing)?|shift(?:ed|ing)?)) from {_NUMBER} to)\s+"
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
# A unified-diff hunk header; its line counts say how many lines of the patch follow it.
_HUNK_HEADER = re.compile(
    r"^@@ -\d{1,9}(?:,(?P<old>\d{1,9}))? \+\d{1,9}(?:,(?P<new>\d{1,9}))? @@[^\n]*$",
    re.MULTILINE,
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
            if m.groupdict().get("word") and not _loose_vote(text, m["token"], m.start("token")):
                continue
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
    patches = _hunks(text)
    return sorted(
        (v for v in unique.values() if not _inside(v.start, patches)), key=lambda v: v.start
    )


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


def _loose_vote(text: str, token: str, start: int) -> bool:
    """Whether a token followed by a word that is not a vote word is still a vote: only with
    a number people vote with, and not as an item of a list whose lines start with its sign,
    where the number counts the item ("-1 server")."""
    if not _USUAL_VOTE.fullmatch(token):
        return False
    line_start = text.rfind("\n", 0, start) + 1
    line_end = _line_end(text, start)
    item = _LIST_ITEM.get(token[0])
    if item is None:
        return True
    before = text.rfind("\n", 0, max(line_start - 1, 0)) + 1
    after_end = _line_end(text, line_end + 1)
    return not (
        (line_start > 0 and item.match(text, before, line_start - 1))
        or (line_end < len(text) and item.match(text, line_end + 1, after_end))
    )


def _hunks(text: str) -> list[tuple[int, int]]:
    """Where diff hunks are, header to last line: their "+1"/"-0" lines are added and removed
    lines, not votes. The header's counts say where a hunk ends, so a vote written after a
    patch still counts, even when the mail client stripped the blanks of context lines. Each
    search starts where the last hunk ended, so the scan stays linear whatever the counts."""
    spans: list[tuple[int, int]] = []
    pos = 0
    while (m := _HUNK_HEADER.search(text, pos)) is not None:
        old, new = int(m["old"] or 1), int(m["new"] or 1)
        i = m.end()
        while (old > 0 or new > 0) and i < len(text):
            sign = text[i + 1 : i + 2]
            if sign != "\\":  # "\\ No newline at end of file" is on neither side
                old -= sign != "+"
                new -= sign != "-"
            i = _line_end(text, i + 1)
        spans.append((m.start(), i))
        pos = max(i, m.end() + 1)
    return spans


def _inside(i: int, spans: list[tuple[int, int]]) -> bool:
    k = bisect_right(spans, i, key=lambda span: span[0]) - 1
    return k >= 0 and spans[k][0] <= i < spans[k][1]
