"""An author's stance toward a thread's proposal, from their own words, with evidence.

Rules with cue lists, so every position can be explained by the sentence that fired it:

1. A vote token ("+1", "-0", …; see ``ingest.votes``) decides first: positive → support,
   negative → oppose, "-0" and fractions of -1 → concern, "+0"/"0" → neutral; a
   conditional vote ("+1 if …") is a concern; a withdrawal ("I withdraw my -1") is neutral.
2. Otherwise each sentence of own text is matched against cue lists for support, oppose,
   concern and explicit neutrality. Questions and negated cues do not count, and a
   support cue followed in its sentence by a condition ("…, but", "as long as") is a
   concern.
3. Opposition without support decides; an unconditional support cue outweighs side
   concerns (people agree and then discuss details); concerns alone decide; support mixed
   with opposition is undecidable and stays neutral: a wrong position attributed to a
   real person is worse than none.
4. No cue: thanks, greetings and empty replies are ``none``; anything else is ``neutral``
   (on topic, no side taken), with the first sentence as evidence and low confidence.

Evidence is always an exact slice of the body (``evidence_start``/``evidence_end`` are
offsets into it) taken from own text, never from quotes.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass
from typing import Literal, get_args

from ingest.segments import Segment, segment_body
from ingest.votes import Vote, deciding_vote, find_votes

#: What a position can be: support, oppose, concern (reservations or conditions), neutral
#: (on topic, no side taken) or none (no position: thanks, logistics, off topic).
StanceName = Literal["support", "oppose", "concern", "neutral", "none"]
#: Every stance, in the order listings, forms and a stance model's classes follow.
STANCES: tuple[StanceName, ...] = get_args(StanceName)


@dataclass(frozen=True, slots=True)
class Stance:
    """A reading of one message: by the cue rules here, or by the trained model
    (``ingest.stance_model``), which alone may be ``unsure``."""

    stance: StanceName
    vote: str | None
    evidence: str | None
    evidence_start: int | None
    evidence_end: int | None
    confidence: float
    method: str
    unsure: bool = False


def _cues(*phrases: str) -> re.Pattern[str]:
    """One case-insensitive pattern from phrases; a space matches any run of whitespace
    (sentences wrap over lines), an apostrophe matches straight or curly ones, and ADV an
    optional intensifier ("very", "fully", …) but never a negation."""
    body = "|".join(
        p.replace("ADV ", _ADVERB).replace(" ", r"\s+").replace("'", "['’?]") for p in phrases
    )
    return re.compile(rf"\b(?:{body})\b")


_ADVERB = (
    r"(?:(?:very|fully|totally|strongly|quite|all|also|definitely|certainly|generally|mostly|"
    r"really|completely|wholeheartedly|absolutely|basically|entirely|perfectly|pretty|"
    r"a bit|a little|somewhat|slightly|still|now) )?"
)
# Agreement and disagreement answer the message replied to: app.positions reads them
# against that message's stance (a "+1" to a counter-proposal opposes the proposal).
_AGREE = _cues(
    r"i ADV agree",
    r"seconded",
    r"i (?:would |'d )?second (?:it|this|that|the (?:motion|proposal|idea))",
    r"i second",
    r"me (?:too|3|three)",
    r"same here",
)
_DISAGREE = _cues(
    r"i (?:don't|do not|can't|cannot) (?:really )?agree",
    r"i (?:strongly )?disagree",
)
_SUPPORT = _cues(
    r"(?:i'm|i am|i'd be|we're|we are|i'll be) ADV (?:in favou?r|supportive|fine with|"
    r"happy with|ok with|okay with|all for|for it|"
    r"(?:glad|pleased) (?:to see|with|about|that) (?:this|that|it|the|we))",
    r"in favou?r of",
    r"sounds? (?:good|great|fine|reasonable|sensible|like a (?:good|great|fine) (?:idea|plan))",
    r"(?:good|great|excellent|fine|nice) idea(?! (?:about|of|how|what|where|why|for you))",
    r"makes (?:a lot of |perfect )?sense",
    r"seems ADV (?:reasonable|sensible|fine|right|like the right)",
    r"(?:looks|look) good",
    r"lgtm",
    r"(?:i|we) (?:fully |strongly |also )?support (?:this|it|that|the)",
    r"(?:would|'d) (?:love|like) to see (?:it|this|that|them|\w+) "
    r"(?:gone|go away|go|removed|dropped|happen)",
    r"(?:yay|hooray|hurray) for",
    r"(?:the|a) (?:right|correct) (?:thing|solution|approach|call|move|direction|way)",
    r"no objections?",
    r"(?:i|we) (?:don't|do not) (?:have any )?(?:object|objections?)",
    r"happily accept",
    r"(?:yes|absolutely|definitely)(?:, | )(?:absolutely|definitely|please|this is it)",
    r"(?:i|we) (?:should|must) (?:definitely |really )?(?:do|go (?:with|for|ahead)) "
    r"(?:it|this|that)",
    r"let's go for it",
    r"i (?:like|love) (?:it|this|the idea|the proposal|the plan)",
    r"(?:is|are|seems|sounds) ADV valid",
    r"(?:is|seems|sounds) ADV (?:a )?(?:good|great|fine) (?:plan|approach|choice|policy)",
    r"works for me",
    r"(?:fine|ok|okay|good) (?:by|with) me",
    r"count me in",
    r"thumbs up",
    r"let's do (?:it|this)",
    r"ship it",
)
# Affirmations that open a sentence ("Agreed.", "Seconded!", "Absolutely."); elsewhere the
# same words report ("we agreed on it at the sprint"). Used with .match() at a sentence
# start, hence no "^".
_AFFIRMATION = re.compile(
    r"\W*(?:agreed|seconded|absolutely|exactly|definitely|indeed|ditto|same here)\b"
    r"(?!\s+(?:on|to|that|with|not)\b)"
)
#: One of these occurs in every affirmation: most texts hold none, and skip the check of
#: each sentence's opening.
_AFFIRMATION_WORDS = (
    "agreed",
    "seconded",
    "absolutely",
    "exactly",
    "definitely",
    "indeed",
    "ditto",
    "same here",
)
_OPPOSE = _cues(
    r"i (?:don't|do not|can't|cannot) (?:really )?(?:support|like)",
    r"i (?:strongly )?(?:object|oppose)",
    r"(?:i'm|i am) ADV (?:against|opposed)",
    r"(?:bad|terrible|horrible|poor) idea",
    r"(?:this|that|it) (?:is|would be|will be) a (?:big |huge |serious )?mistake",
    r"(?:i'd|i would|we'd|we would) (?:much )?(?:prefer|rather) (?:to )?"
    r"(?:keep|not|stay|stick|leave)",
    r"(?:please (?:don't|do not)|let's not) do (?:this|that|it)",
    r"(?:don't|do not) (?:really )?feel good about",
    r"out of proportion",
    r"(?:i|we) (?:veto|reject)",
    r"not (?:a )?(?:good|great) idea",
    r"(?:isn't|is not|not) worth (?:it|the)",
    r"(?:don't|do not|doesn't|does not) (?:think|believe) (?:this|that|it)(?:'s| is| would be| "
    r"will be) (?:a )?(?:good|great|wise|worth|the right)",
    r"not a (?:big )?fan of",
    r"(?:doesn't|does not|don't|do not) (?:seem|sound|look) like a (?:good|great) idea",
    r"(?:i|we) (?:would|will) vote against",
)
_CONCERN = _cues(
    r"(?:i'm|i am) ADV (?:worried|concerned|nervous|uneasy|wary|hesitant|skeptical|"
    r"sceptical|not convinced|not sure (?:about|that|this|it))",
    r"i worry",
    r"my (?:only |main |one |biggest )?(?:concern|worry|reservation|hesitation)",
    r"(?:some|a few|serious) (?:concerns|reservations|doubts)",
    r"i have (?:my |some )?doubts",
    r"yes, but",
    r"(?:i|we) (?:still )?(?:rely|relies|depend|depends) on",
    r"(?:rely|relying|depend|depending) on (?:it|this|that|them)",
    r"(?:is|are) (?:fairly |very |quite |really )?important to (?:me|us)",
    r"would be nice to keep",
    r"(?:i|we|they|people|users)(?:'re| are)? (?:probably |likely |all )?still using",
)
# Conditions: a concern of their own, or conditional support after a support cue.
_CONDITION = _cues(
    r"as long as",
    r"provided that",
    r"only if",
    r"on (?:the )?condition",
    r"with the caveat",
    r"in principle",
)
_NEUTRAL = _cues(
    r"(?:i )?(?:don't|do not) (?:really )?(?:care|mind) (?:either way|one way or (?:the )?other)",
    r"no (?:strong )?(?:opinion|preference|feelings?)",
    r"either way",
    r"(?:i )?abstain",
    r"indifferent",
)
_NONE = re.compile(
    r"^\W*(?:thanks?(?: you)?|thx|cheers|ty|great,? thanks)\b[^?]{0,60}$", re.IGNORECASE
)
# A negation just before a cue ("not a good idea"), or a denied belief anywhere before it
# in the sentence ("I don't think this is a good idea").
_NEGATION = re.compile(
    r"\b(?:not|no|never|n't|hardly|nor)\W*(?:\w+\W+){0,3}$|"
    r"(?:n't|\bnot) (?:think|believe|seem|sound|look)\b"
)
_CONDITION_AFTER = re.compile(
    r"[^.!?]{0,80}?(?:,? but\b|\bas long as\b|\bprovided\b|\bonly if\b|\bunless\b|"
    r"\bhowever\b|\bexcept\b)"
)
_SENTENCE_END = re.compile(r"[.!?]+(?=\s|$)|\n[ \t]*\n")
# Cue patterns are written in lower case and run on a lowered copy of the text (much
# faster than re.IGNORECASE); only ASCII is lowered, so offsets stay those of the body.
_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")
_CODE_LINE = re.compile(r"^(?: {4}|\t|>>> |\.\.\. |\$ )")


@dataclass(frozen=True, slots=True)
class _Cue:
    kind: str
    start: int  # in the body
    end: int
    tag: str = ""  # "agree", "disagree" or "conditional" when the cue is one of those


def extract_stance(body: str, segments: list[Segment] | None = None) -> Stance:
    """The stance of a message's author, from the own-text segments of ``body``."""
    if segments is None:
        segments = segment_body(body)
    own = [s for s in segments if s.kind == "own" and s.text.strip()]
    if not own:
        return Stance("none", None, None, None, None, 0.6, "no-own-text")
    vote = _vote(own)
    if vote is not None:
        return vote
    cues = [cue for segment in own for cue in _sentence_cues(segment)]
    kinds = {c.kind for c in cues}
    if kinds:
        return _from_cues(body, cues, kinds)
    return _fallback(body, own)


def _vote(own: list[Segment]) -> Stance | None:
    found: list[tuple[Segment, Vote]] = [
        (segment, vote) for segment in own for vote in find_votes(segment.text)
    ]
    chosen = deciding_vote([v for _, v in found])
    if chosen is None:
        return None
    segment = next(s for s, v in found if v is chosen)
    start, end = segment.offset + chosen.start, segment.offset + chosen.end
    evidence = segment.text[chosen.start : chosen.end].rstrip()
    end = start + len(evidence)
    if chosen.kind == "withdrawal":
        return Stance("neutral", None, evidence, start, end, 0.8, "vote-withdrawn")
    value = chosen.value
    stance: StanceName
    if chosen.kind == "conditional":
        stance, confidence = "concern", 0.8
    elif value >= 1:
        stance, confidence = "support", 0.9
    elif value > 0:
        stance, confidence = "support", 0.6
    elif value <= -1:
        stance, confidence = "oppose", 0.9
    elif chosen.token.startswith("-") and value <= 0:
        stance, confidence = "concern", 0.7
    else:
        stance, confidence = "neutral", 0.8
    method = "vote-change" if chosen.kind == "change" else f"vote-{chosen.kind}"
    return Stance(stance, chosen.token, evidence, start, end, confidence, method)


# In order of priority when one sentence holds several cues: (kind, tag, pattern).
# The last item lists words one of which every cue of a small family holds (single words:
# phrases may wrap over lines); a family none of whose words occur is skipped.
_FAMILIES: tuple[tuple[str, str, re.Pattern[str], tuple[str, ...]], ...] = (
    ("oppose", "", _OPPOSE, ()),
    ("oppose", "disagree", _DISAGREE, ("agree",)),
    ("concern", "", _CONCERN, ()),
    (
        "concern",
        "condition",
        _CONDITION,
        ("long", "provided", "only", "condition", "caveat", "principle"),
    ),
    (
        "neutral",
        "",
        _NEUTRAL,
        ("care", "mind", "opinion", "preference", "feeling", "either", "abstain", "indifferent"),
    ),
    ("support", "", _SUPPORT, ()),
    ("support", "agree", _AGREE, ("agree", "second", "too", "3", "three", "same")),
)
_IF_BEFORE = re.compile(r"\bif\b[^,]*$")


def _sentence_cues(segment: Segment) -> list[_Cue]:
    """The first cue of each sentence that survives the filters. Each cue family is one
    pass over the whole segment (cheaper than one per sentence); matches are then placed
    in their sentences, which are checked in order of family priority."""
    text = segment.text.translate(_LOWER)
    sentences = _sentences(text)
    if not sentences:
        return []
    starts = [start for start, _ in sentences]
    found: dict[int, list[tuple[int, str, str, re.Match[str]]]] = {}
    for rank, (kind, tag, pattern, needs) in enumerate(_FAMILIES):
        if needs and not any(word in text for word in needs):
            continue
        for m in pattern.finditer(text):
            index = bisect_right(starts, m.start()) - 1
            if index >= 0 and m.end() <= sentences[index][1]:
                found.setdefault(index, []).append((rank, kind, tag, m))
    if any(word in text for word in _AFFIRMATION_WORDS):
        for index, (start, end) in enumerate(sentences):
            affirmation = _AFFIRMATION.match(text, start, end)
            if affirmation:
                found.setdefault(index, []).append(
                    (len(_FAMILIES), "support", "agree", affirmation)
                )
    cues: list[_Cue] = []
    for index in sorted(found):
        start, end = sentences[index]
        if text[end - 1] == "?" or _CODE_LINE.match(text, start):
            continue
        hits = found[index]
        for _, kind, tag, m in sorted(hits, key=lambda hit: (hit[0], hit[3].start())):
            before = text[start : m.start()]
            if kind != "oppose" and _NEGATION.search(before):
                continue
            if _IF_BEFORE.search(before):
                continue  # "if you agree", "if it sounds good": not the author's stance
            if kind == "support" and _CONDITION_AFTER.match(text, m.end(), end):
                kind, tag = "concern", "conditional"
            elif tag == "condition":
                supported = any(h[1] == "support" and h[3].start() < m.start() for h in hits)
                tag = "conditional" if supported else ""
            cues.append(_Cue(kind, segment.offset + start, segment.offset + end, tag))
            break
    return cues


def _from_cues(body: str, cues: list[_Cue], kinds: set[str]) -> Stance:
    decided: StanceName
    if kinds == {"support", "oppose"} or kinds >= {"support", "oppose", "concern"}:
        decided, confidence, method = "neutral", 0.4, "cues-mixed"
    elif "oppose" in kinds and "support" not in kinds:
        decided, confidence, method = "oppose", 0.7, "cue-oppose"
    elif "support" in kinds:
        decided, confidence, method = "support", 0.75, "cue-support"
    elif "concern" in kinds:
        decided, confidence, method = "concern", 0.65, "cue-concern"
    else:
        decided, confidence, method = "neutral", 0.6, "cue-neutral"
    chosen = [c for c in cues if c.kind == decided]
    tags = {c.tag for c in chosen}
    if len(tags) == 1 and "" not in tags:
        method = f"cue-{tags.pop()}"  # every cue agrees, disagrees or sets a condition
    pick = next((c for c in chosen if not c.tag), chosen[0] if chosen else cues[0])
    return Stance(
        decided, None, body[pick.start : pick.end], pick.start, pick.end, confidence, method
    )


def own_sentences(segments: list[Segment]) -> list[tuple[int, int]]:
    """The sentences of the author's own words (code lines left out), as offsets into the
    body the segments came from."""
    return [
        (segment.offset + start, segment.offset + end)
        for segment in segments
        if segment.kind == "own"
        for start, end in _sentences(segment.text)
        if not _CODE_LINE.match(segment.text, start)
    ]


def _fallback(body: str, own: list[Segment]) -> Stance:
    sentences = own_sentences(own)
    if not sentences:
        return Stance("none", None, None, None, None, 0.5, "no-own-text")
    words = sum(len(body[start:end].split()) for start, end in sentences)
    if words <= 25 and all(
        _NONE.match(body[start:end]) or _greeting(body[start:end]) for start, end in sentences
    ):
        return Stance("none", None, None, None, None, 0.5, "thanks-or-greeting")
    start, end = max(sentences[:3], key=lambda span: span[1] - span[0])
    return Stance("neutral", None, body[start:end], start, end, 0.3, "no-cue")


def _sentences(text: str) -> list[tuple[int, int]]:
    """Spans of the sentences of ``text``, without surrounding whitespace. A sentence ends
    at ".", "!" or "?" before a space (not inside "2.5"), or at a blank line."""
    spans: list[tuple[int, int]] = []
    start = 0
    for end in [m.end() for m in _SENTENCE_END.finditer(text)] + [len(text)]:
        chunk = text[start:end]
        stripped = chunk.strip()
        if stripped:
            lead = start + len(chunk) - len(chunk.lstrip())
            spans.append((lead, lead + len(stripped)))
        start = end
    return spans


def _greeting(sentence: str) -> bool:
    words = sentence.strip(" \t\n,.!-").split()
    return len(words) <= 3 and (not words or words[0].lower() in ("hi", "hello", "hey", "dear"))
