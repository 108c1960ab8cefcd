"""Subjects as people read them: list tags and reply prefixes stripped.

Used for display (without "[Twisted-Python]") and for the subject fallback of threading,
which must only ever join a reply ("Re: X") to an earlier message about X.
"""

from __future__ import annotations

import re

# Reply and forward prefixes in the languages list mail is commonly written in:
# English Re/Fwd, German AW/WG, Dutch Antw, Scandinavian SV/VS, Finnish VS, French/Italian/
# Spanish RE/TR/R/RV, Polish Odp, Turkish YNT, Chinese 回复/答复/转发, Russian/Greek ΑΠ/ΣΧΕΤ.
_REPLY = r"(?:re|aw|antw|antwort|sv|vs|odp|ynt|ref|rif|r|res|回复|答复|回覆|ΑΠ|ΣΧΕΤ|ответ)"
_FORWARD = r"(?:fwd?|wg|tr|rv|doorst|vb|i|enc|转发)"
_PREFIX = re.compile(
    rf"^\s*(?:{_REPLY}|{_FORWARD})\s*(?:\[\d+\]|\(\d+\))?\s*[:：]\s*", re.IGNORECASE
)
_REPLY_ONLY = re.compile(rf"^\s*{_REPLY}\s*(?:\[\d+\]|\(\d+\))?\s*[:：]", re.IGNORECASE)
_LIST_TAG = re.compile(r"^\s*\[[^\]]{1,60}\]\s*")


def strip_list_tag(subject: str) -> str:
    """ "[Twisted-Python] Re: [Twisted-Python] X" → "Re: X" (every list tag removed)."""
    previous = None
    while previous != subject:
        previous = subject
        subject = _LIST_TAG.sub("", subject, count=1)
        subject = re.sub(
            rf"^(\s*{_REPLY}\s*[:：]\s*)\[[^\]]{{1,60}}\]\s*", r"\1", subject, flags=re.IGNORECASE
        )
    return subject.strip()


def base_subject(subject: str) -> str:
    """The topic: list tags and every reply/forward prefix removed."""
    previous = None
    subject = strip_list_tag(subject)
    while previous != subject:
        previous = subject
        subject = strip_list_tag(_PREFIX.sub("", subject, count=1))
    return subject.strip()


def subject_key(subject: str) -> str:
    """A comparison key for subject threading: the topic, case- and space-folded."""
    return " ".join(base_subject(subject).casefold().split())[:500]


def is_reply(subject: str) -> bool:
    return bool(_REPLY_ONLY.match(strip_list_tag(subject)))


def run_key(subject: str) -> str:
    """What a run of near-identical subjects shares: the topic with every number and every
    punctuation mark folded away, so "Weekly Bug Summary" posted each week, or
    "Twisted-Python Digest, Vol 90, Issue 16" and "…, Vol 91, Issue 2", give one key.
    Pages collapse such a run into one entry instead of letting it fill a listing."""
    folded = re.sub(r"[^\w\s]|_", " ", subject_key(subject))
    return " ".join(re.sub(r"\d+", "0", folded).split())
