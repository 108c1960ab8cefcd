"""Message structure: which lines of a body are the author's own words, and which are not.

``segment_body`` splits a body into consecutive segments: ``own`` text, ``quoted`` text
(with its depth and, when an attribution line names one, its author), ``attribution``
lines, ``signature``, list ``footer`` and ``forwarded`` blocks. Positions read only own
text; the search index keeps own and quoted text in separate fields; the thread page folds
quoted segments. It runs for every message at ingest, so it is one pass of cheap regular
expressions over the lines.

Blank lines carry no meaning of their own: they join the segment around them (or the one
before), so a quote interrupted by empty lines stays one segment.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ingest.attribution import Attribution, may_start_attribution, parse_attribution

KINDS = ("own", "quoted", "attribution", "signature", "footer", "forwarded")


@dataclass(frozen=True, slots=True)
class Segment:
    """Lines ``start_line`` to ``end_line`` (exclusive) of the body, of one kind.

    ``text`` is the lines with their quote markers removed (own text is an exact slice of
    the body, starting at character ``offset``). ``depth`` is the quote depth, 0 for own
    text. ``quoted_author``/``quoted_address`` name whom a quoted (or forwarded) segment is
    from, when an attribution line says so."""

    kind: str
    text: str
    depth: int
    start_line: int
    end_line: int
    offset: int
    quoted_author: str | None = None
    quoted_address: str | None = None


# ">" and "&gt;" (HTML-escaped archives) at any depth; "| " as Enigmail and some
# newsreaders quote (a bare "|####" is not a quote).
_QUOTE_PREFIX = re.compile(r"[ \t]*(?:(?:>|&gt;|\|(?=[ >]|$))[ \t]?)+")
_ELISION = re.compile(r"^\s*(?:\.{3,}|…|[\[<(]\s*(?:\.{3,}|…|snip(?:ped)?)\s*[\]>)])\s*$", re.I)
_FOOTER_RULE = re.compile(r"^_{10,}\s*$")
_FOOTER_LINE = re.compile(
    r"^(?:more information about the .* mailing list\s*$|-{5,} next part -{5,}\s*$)",
    re.IGNORECASE,
)
_SIGNATURE_START = re.compile(
    r"^(?:--|-- |__|sent from my [\w -]{2,30}|sent from (?:mobile|phone)|"
    r"get outlook for \w+)\s*$",
    re.IGNORECASE,
)
_FORWARDED = re.compile(
    r"^\s*(?:-{3,}\s*forwarded message\s*-{3,}|begin forwarded message:|"
    r"-{5,} weitergeleitete nachricht -{5,}|-{5,} message transféré -{5,})",
    re.IGNORECASE,
)
_Label = tuple[str, int, str | None, str | None]  # kind, depth, author, address


def segment_body(body: str) -> list[Segment]:
    """Segments covering every line of ``body``, in order."""
    lines = body.split("\n")
    depths, texts = _strip_quotes(lines)
    labels = _label(depths, texts)
    return _merge(lines, texts, depths, labels)


def own_text(segments: list[Segment]) -> str:
    """The author's own words, paragraph blocks joined by blank lines."""
    return "\n\n".join(s.text for s in segments if s.kind == "own" and s.text.strip())


def quoted_text(segments: list[Segment]) -> str:
    """Everything the author quoted, markers removed."""
    return "\n\n".join(s.text for s in segments if s.kind == "quoted" and s.text.strip())


def quoted_authors(segments: list[Segment]) -> list[str]:
    """Names from attribution lines, in order of first appearance."""
    seen: dict[str, None] = {}
    for segment in segments:
        if segment.kind in ("quoted", "forwarded") and segment.quoted_author:
            seen.setdefault(segment.quoted_author, None)
    return list(seen)


def _strip_quotes(lines: list[str]) -> tuple[list[int], list[str]]:
    depths = [0] * len(lines)
    texts = list(lines)
    for i, line in enumerate(lines):
        if line[:1] in (">", " ", "\t", "&", "|"):
            m = _QUOTE_PREFIX.match(line)
            if m and m.end() and (">" in m.group() or "&gt;" in m.group() or "|" in m.group()):
                prefix = m.group()
                depths[i] = prefix.count(">") + prefix.count("&gt;") + prefix.count("|")
                texts[i] = line[m.end() :]
    return depths, texts


def _label(depths: list[int], texts: list[str]) -> list[_Label | None]:
    """One label per line; None for blank lines, filled in by ``_merge``."""
    n = len(texts)
    labels: list[_Label | None] = [None] * n
    _mark_footers(depths, texts, labels)
    authors: dict[int, tuple[str | None, str | None]] = {}
    signature_depth: int | None = None
    i = 0
    while i < n:
        text = texts[i]
        depth = depths[i]
        if labels[i] is not None or not text.strip():
            i += 1
            continue
        if signature_depth is not None and depth != signature_depth:
            signature_depth = None
        attribution = _attribution_at(depths, texts, i)
        if attribution is not None:
            i = _apply_attribution(depths, texts, labels, authors, i, attribution)
            signature_depth = None
            continue
        if _FORWARDED.match(text):
            header = parse_attribution(texts, _next_content(texts, i + 1) or i)
            author = (header.name, header.address) if header else (None, None)
            for j in range(i, n):
                if labels[j] is None and texts[j].strip():
                    labels[j] = ("forwarded", depths[j], *author)
            break
        if signature_depth is None and _SIGNATURE_START.match(text):
            signature_depth = depth
        if signature_depth is not None:
            labels[i] = ("signature", depth, None, None)
        elif depth == 0:
            labels[i] = ("own", 0, None, None)
        else:
            labels[i] = ("quoted", depth, *authors.get(depth, (None, None)))
        i += 1
    return labels


def _attribution_at(depths: list[int], texts: list[str], i: int) -> Attribution | None:
    """An attribution at line i whose lines all share one depth (cheap checks first)."""
    if not may_start_attribution(texts, i):
        return None
    same_depth = [texts[i]]
    j = i + 1
    while j < len(texts) and j - i < 8 and depths[j] == depths[i]:
        same_depth.append(texts[j])
        j += 1
    return parse_attribution(same_depth, 0)


def _apply_attribution(
    depths: list[int],
    texts: list[str],
    labels: list[_Label | None],
    authors: dict[int, tuple[str | None, str | None]],
    i: int,
    attribution: Attribution,
) -> int:
    """Label the attribution's lines and decide which quoted depth it names; returns the
    index of the first line after it.

    * Followed by deeper quotes: it names the next depth ("On …, X wrote:" then "> …").
    * At the head of a quoted region and followed by text of its own depth: the client
      quoted the attribution along with the text (the seed's "> On …, Thierry wrote:"), so
      it names that region's author when nothing else did.
    * Strong and followed by text of its own depth with no marked quote after it: the
      quoted message follows without markers (Outlook, top-posting clients), so the rest
      of the region moves one level down. An Outlook header block always does that.
    * A weak "X wrote:" followed by text of its own depth is prose, not an attribution."""
    depth = depths[i]
    after = i + attribution.line_count
    nxt = _next_content(texts, after)
    who = (attribution.name, attribution.address)
    if nxt is None or depths[nxt] < depth:
        pass
    elif depths[nxt] > depth:
        _forget_deeper(authors, depth)
        authors[depth + 1] = who
    else:
        previous = _previous_content(texts, i)
        heads_region = depth > 0 and (previous is None or depths[previous] < depth)
        stacked = depth > 0 and previous is not None and _kind(labels[previous]) == "attribution"
        if heads_region or stacked:
            if authors.get(depth, (None, None)) == (None, None):
                authors[depth] = who
        elif attribution.strong:
            if attribution.header_block or not _quotes_follow(depths, after, depth):
                _shift_region(depths, labels, after, depth)
            _forget_deeper(authors, depth)
            authors[depth + 1] = who
        else:
            author = authors.get(depth, (None, None))
            labels[i] = ("own", 0, None, None) if depth == 0 else ("quoted", depth, *author)
            return i + 1
    for j in range(i, after):
        labels[j] = ("attribution", depth, *who)
    return after


def _kind(label: _Label | None) -> str | None:
    return label[0] if label is not None else None


def _quotes_follow(depths: list[int], start: int, depth: int) -> bool:
    """Whether marked quotes deeper than ``depth`` follow in this region: then text
    between the attribution and them ("[...]") is not an unmarked quote."""
    for j in range(start, len(depths)):
        if depths[j] < depth:
            return False
        if depths[j] > depth:
            return True
    return False


def _shift_region(depths: list[int], labels: list[_Label | None], start: int, depth: int) -> None:
    """Move the rest of a region one quote level down: it is a quoted message written
    without markers."""
    for j in range(start, len(depths)):
        if depths[j] < depth:
            break
        if labels[j] is None:
            depths[j] += 1


def _forget_deeper(authors: dict[int, tuple[str | None, str | None]], depth: int) -> None:
    for level in [d for d in authors if d > depth]:
        del authors[level]


def _mark_footers(depths: list[int], texts: list[str], labels: list[_Label | None]) -> None:
    """Mailman's "____ / X mailing list / address / listinfo URL" block and pipermail's
    "More information about the X mailing list" line, at any depth."""
    n = len(texts)
    for i, text in enumerate(texts):
        if not text or text[0] not in "_-Mm" or labels[i] is not None:
            continue
        is_rule = _FOOTER_RULE.match(text) and any(
            "mailing list" in texts[k].lower() or "listinfo" in texts[k].lower()
            for k in range(i + 1, min(i + 4, n))
        )
        if not (is_rule or _FOOTER_LINE.match(text)):
            continue
        j = i
        while j < n and texts[j].strip() and depths[j] == depths[i]:
            labels[j] = ("footer", depths[j], None, None)
            j += 1


def _next_content(texts: list[str], i: int) -> int | None:
    """The next line with words, skipping elisions ("...", "[snip]") that people leave
    between an attribution and what they quote."""
    for j in range(i, len(texts)):
        if texts[j].strip() and not _ELISION.match(texts[j]):
            return j
    return None


def _previous_content(texts: list[str], i: int) -> int | None:
    for j in range(i - 1, -1, -1):
        if texts[j].strip():
            return j
    return None


def _merge(
    lines: list[str], texts: list[str], depths: list[int], labels: list[_Label | None]
) -> list[Segment]:
    """Fill blank lines from their neighbours and join runs of equal labels. A blank line
    joins the segment before it, except that an empty quoted line (">") joins a quote."""
    n = len(lines)
    # The next label after each line, found once from the end: looking ahead from every
    # blank line cost the square of the number of lines in a body of empty quotes.
    next_label: list[_Label | None] = [None] * (n + 1)
    for i in range(n - 1, -1, -1):
        next_label[i] = labels[i] if labels[i] is not None else next_label[i + 1]
    filled: list[_Label] = []
    for i in range(n):
        label = labels[i]
        if label is None:
            before = filled[-1] if filled else None
            if before is None or (depths[i] and before[1] != depths[i]):
                after = next_label[i + 1]
                if before is None or (after is not None and after[1] == depths[i]):
                    before = after
            label = before or ("own", 0, None, None)
        filled.append(label)
    offsets = [0] * (n + 1)
    for i, line in enumerate(lines):
        offsets[i + 1] = offsets[i] + len(line) + 1
    segments: list[Segment] = []
    start = 0
    for i in range(1, n + 1):
        if i < n and filled[i] == filled[start]:
            continue
        kind, depth, author, address = filled[start]
        source = lines if kind == "own" else texts
        segments.append(
            Segment(
                kind=kind,
                text="\n".join(source[start:i]),
                depth=depth,
                start_line=start,
                end_line=i,
                offset=offsets[start],
                quoted_author=author,
                quoted_address=address,
            )
        )
        start = i
    return segments
