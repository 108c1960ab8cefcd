"""Snippets: a short, escaped excerpt of a message's own text with the matched words
marked ``<mark>…</mark>``.

Whoosh's highlighter re-analyses the whole stored text of every hit, which costs more than
the search itself on long mails. Here one regular expression finds the words that could
match (those starting like an indexed term), and only those are stemmed and compared with
the query's terms. Mail is hostile: every character of the text goes through ``escape``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from markupsafe import Markup, escape
from whoosh.lang.porter import stem

_SPACES = re.compile(r"\s+")
WIDTH = 240
#: Characters shown before the first match, so it is read in context.
LEAD = 60
#: Candidate words examined per text; enough to find a good window in any message.
MAX_CANDIDATES = 200


class Highlighter:
    """Marks the words of a text whose stems are among `terms` (the stemmed, indexed
    forms of the query's words, as ``Query.existing_terms`` gives them), or that start
    with one of `prefixes` (the postgres backend's ``interop*``, which it does not expand
    into words)."""

    def __init__(self, terms: Iterable[str], prefixes: Iterable[str] = ()) -> None:
        self.terms = {t for t in terms if t}
        self.prefixes = tuple(sorted({p.lower() for p in prefixes if p}))
        # Porter stemming only rewrites the end of a word, so a word matching a stem starts
        # with that stem minus its last letter (taking → take: "tak").
        prefixes = sorted(
            {t[: max(1, min(len(t) - 1, 4))] for t in self.terms} | set(self.prefixes), key=len
        )
        self._candidates = (
            re.compile(r"\b(?:" + "|".join(map(re.escape, prefixes)) + r")\w*", re.IGNORECASE)
            if prefixes
            else None
        )

    def matches(self, text: str) -> list[tuple[int, int, str]]:
        """(start, end, term) of every matching word, in order."""
        found: list[tuple[int, int, str]] = []
        if self._candidates is None:
            return found
        for n, match in enumerate(self._candidates.finditer(text)):
            if n >= MAX_CANDIDATES:
                break
            word = match.group().lower()
            term = word if word in self.terms else stem(word)
            if term in self.terms:
                found.append((match.start(), match.end(), term))
            elif self.prefixes and word.startswith(self.prefixes):
                found.append((match.start(), match.end(), word))
        return found

    def snippet(self, text: str, width: int = WIDTH) -> Markup:
        """The window of `text` holding the most distinct matched terms, escaped, matches
        marked; the beginning of the text when nothing matches."""
        matches = self.matches(text)
        start = _best_window(matches, width)
        start = max(0, start - LEAD) if matches else 0
        if start:
            space = text.find(" ", start, start + 20)
            start = space + 1 if space != -1 else start
        end = min(len(text), start + width)
        if end < len(text):
            space = text.rfind(" ", end - 20, end)
            end = space if space > start else end
        out: list[str] = ["…" if start else ""]
        cursor = start
        for m_start, m_end, _term in matches:
            if m_start < start or m_end > end:
                continue
            out.append(_plain(text[cursor:m_start]))
            out.append(f"<mark>{_plain(text[m_start:m_end])}</mark>")
            cursor = m_end
        out.append(_plain(text[cursor:end]))
        out.append("…" if end < len(text) else "")
        return Markup("".join(out).strip())


def _best_window(matches: list[tuple[int, int, str]], width: int) -> int:
    """Start of the first match of the window with the most distinct terms."""
    best, best_start = 0, 0
    window = matches[:50]  # the best window is almost always early; keeps this cheap
    for i, (start, _end, _term) in enumerate(window):
        distinct = {t for s, _e, t in window[i:] if s < start + width - LEAD}
        if len(distinct) > best:
            best, best_start = len(distinct), start
    return best_start


def _plain(text: str) -> str:
    """Escaped text on one line: mail line breaks mean little in a snippet."""
    return str(escape(_SPACES.sub(" ", text)))
