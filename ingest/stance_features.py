"""What the stance classifier reads of one message: hashed, sparse features.

Stance is a relation between a reply, the thread's proposal and the message it answers,
so the features describe all three: the author's own words (word uni- and bigrams, and
those of its opening), what the cue rules of
``ingest.stance`` and the vote detector of ``ingest.votes`` read in them (as evidence for
the classifier, no longer as verdicts), and the message's place in the thread (is the
author the proposer, does it answer the proposer, what the answered message itself read
as, how deep, how early, how long, how many questions). The relation features carry most
of the signal: without them grouped cross-validation falls from macro-F1 0.40 to 0.29.

Features are hashed into a fixed space (CRC-32 of the feature's name), so the labelled
examples shipped with Quorum and the staff corrections of any install live in the same
space without a vocabulary to carry around, and a model is just a weight matrix. Each
group is normalised on its own so no group drowns the others by its size.
``FEATURE_VERSION`` names this exact recipe; models and examples record it and refuse
another.
"""

from __future__ import annotations

import itertools
import math
import re
import zlib
from collections.abc import Iterable
from dataclasses import dataclass

from ingest.stance import Stance

FEATURE_VERSION = "stance-features-3"
DIMENSIONS = 1 << 18

_TOKEN = re.compile(r"[+-]\d+(?:\.\d+)?|[a-z][a-z0-9']*|\d+|[?!:]")
_QUESTION = re.compile(r"\?(?:\s|$)")
#: Opening words carry most stance ("+1", "Agreed.", "I don't think…").
_OPENING_TOKENS = 24
#: Weights of the feature groups against the words (1.0), chosen in grouped
#: cross-validation; character n-grams and the words of first-person sentences alone
#: were measured too, and did not pay.
READING_WEIGHT = 3.0
THREAD_WEIGHT = 1.0
_MAX_TOKENS = 600


@dataclass(frozen=True, slots=True)
class StanceContext:
    """One message as the classifier sees it (everything is derived from the thread)."""

    body: str  # the whole body: evidence is a slice of it
    sentences: tuple[tuple[int, int], ...]  # own sentences, as offsets into the body
    own: str  # the author's own words: quotes, signatures, footers removed
    parent_own: str  # the own words of the message it answers ("" when unknown)
    root_own: str  # the own words of the thread's opening message (the proposal)
    is_root: bool
    by_proposer: bool  # the author opened the thread
    answers_proposer: bool  # it answers the proposer (or nothing known)
    depth: int  # ancestors above it in the reply tree
    rank: int  # 0 for the opening message, 1 for the first reply by date, …
    earlier_by_author: int  # the author's messages in the thread before this one
    participants: int  # people who wrote in the thread up to this message
    quoted_lines: int
    rule: Stance  # what the cue rules read in its own words
    parent_rule: Stance | None  # what they read in the message it answers


def featurize(context: StanceContext) -> dict[int, float]:
    """The sparse feature vector of ``context``: hashed index → value."""
    vector: dict[int, float] = {}
    own = context.own.lower()
    tokens = _TOKEN.findall(own)[:_MAX_TOKENS]
    _add_block(vector, _ngrams("w", tokens), 1.0)
    _add_block(vector, _ngrams("o", ["^", *tokens[:_OPENING_TOKENS]]), 1.0)
    _add_block(vector, _reading(context, tokens), READING_WEIGHT)
    _add_block(vector, _thread(context, tokens), THREAD_WEIGHT)
    return vector


def ngram_names(prefix: str, text: str) -> list[str]:
    """The word uni- and bigram features of a lowercased text (as ``featurize`` names
    them), e.g. to weigh one sentence under a model."""
    return _ngrams(prefix, _TOKEN.findall(text)[:_MAX_TOKENS])


def hashed(names: list[str]) -> list[int]:
    """The indices of distinct feature names in the hashed space."""
    return sorted(set(_indices(set(names))))


def _indices(names: Iterable[str]) -> list[int]:
    """Each name's index in the hashed space. One comprehension, not a call per name:
    a message has hundreds of names, and positions are derived for every message."""
    crc32, mask = zlib.crc32, DIMENSIONS - 1
    return [crc32(name.encode()) & mask for name in names]


def _ngrams(prefix: str, tokens: list[str]) -> list[str]:
    names = [f"{prefix}:{t}" for t in tokens]
    names += [f"{prefix}:{a} {b}" for a, b in itertools.pairwise(tokens)]
    return names


def _reading(context: StanceContext, tokens: list[str]) -> list[str]:
    """What the cue rules and the vote detector read in the message, alone and against
    the thread: the same "+1" means another thing under an objection."""
    rule, parent = context.rule, context.parent_rule
    parent_side = _parent_side(context)
    vote = rule.vote or ""
    sign = "plus" if vote.startswith("+") else "minus" if vote.startswith("-") else "none"
    names = [
        f"r:rule={rule.stance}",
        f"r:method={rule.method}",
        f"r:vote={sign}",
        f"r:parent-side={parent_side}&rule={rule.stance}",
        f"r:proposer={context.by_proposer}&rule={rule.stance}",
    ]
    if parent is not None:
        names.append(f"r:parent-method={parent.method}&method={rule.method}")
    if context.by_proposer:
        names += [f"r:proposer&w:{t}" for t in tokens[:_OPENING_TOKENS]]
    return names


def _parent_side(context: StanceContext) -> str:
    """The side of the message answered: the proposer's is the proposal's (support),
    anyone else's is what the cue rules read in it."""
    if context.answers_proposer:
        return "support"
    return context.parent_rule.stance if context.parent_rule else "none"


def _thread(context: StanceContext, tokens: list[str]) -> list[str]:
    """The message's place in the thread: who wrote it, what it answers, how deep, how
    early, how long, how many questions, how much it takes up of the proposal."""
    parent = context.parent_rule
    parent_side = _parent_side(context)
    questions = len(_QUESTION.findall(context.own))
    words = len(tokens)
    return [
        f"s:root={context.is_root}",
        f"s:proposer={context.by_proposer}",
        f"s:answers-proposer={context.answers_proposer}",
        f"s:parent-side={parent_side}",
        f"s:parent-rule={parent.stance if parent else '-'}",
        f"s:depth={min(context.depth, 4)}",
        f"s:rank={_bucket(context.rank)}",
        f"s:words={_bucket(words)}",
        f"s:questions={min(questions, 3)}",
        f"s:question-share={_share(questions, max(1, len(_sentences(context.own))))}",
        f"s:quoted={_bucket(context.quoted_lines)}",
        f"s:quotes-only={words == 0}",
        f"s:earlier-by-author={min(context.earlier_by_author, 3)}",
        f"s:participants={_bucket(context.participants)}",
        f"s:root-overlap={_overlap(tokens, context.root_own)}",
        f"s:parent-overlap={_overlap(tokens, context.parent_own)}",
    ]


def _sentences(text: str) -> list[str]:
    return [s for s in re.split(r"[.!?]+\s|\n\s*\n", text) if s.strip()]


def _overlap(tokens: list[str], other: str) -> int:
    """How much of the message's vocabulary (words of four letters or more) comes from
    another message, in quarters: replies that take up the proposal's words discuss it."""
    mine = {t for t in tokens if len(t) > 3}
    if not mine or not other:
        return -1
    theirs = set(_TOKEN.findall(other.lower()))
    return _share(len(mine & theirs), len(mine))


def _bucket(n: int) -> int:
    """Counts on a log scale: 0, 1, 2-3, 4-7, …"""
    return 0 if n <= 0 else int(math.log2(n)) + 1


def _share(part: int, whole: int) -> int:
    return round(4 * part / whole)


def _add_block(vector: dict[int, float], names: list[str], weight: float) -> None:
    """Add one feature group, binary and scaled to unit length times ``weight``."""
    unique = set(names)
    if not unique:
        return
    value = weight / math.sqrt(len(unique))
    for index in _indices(unique):
        vector[index] = vector.get(index, 0.0) + value
