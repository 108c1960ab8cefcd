"""Attribution lines: who wrote the text a reply quotes, as mail clients announce it.

Pure text in, ``Attribution`` out. Recognised forms (quote markers already removed):

* "X wrote:", "X <addr> writes:", "X said:", "X wrote on DATE:", and a bare "X Y:";
* "On DATE, X wrote:" and "On DATE X <addr> wrote:", also wrapped over two lines;
* verb-first forms: German "Am DATE schrieb X:", Dutch "Op DATE schreef X:", Swedish,
  Norwegian and Danish "Den DATE skrev X:";
* verb-last forms in other languages: French "a écrit", Spanish "escribió", Polish
  "napisał", Russian "написал", Italian "ha scritto", Portuguese "escreveu";
* Gmail's "2014-02-05 13:05 GMT+01:00 X <addr>:";
* Outlook header blocks ("From: X" followed by "Sent:"/"Date:"/"To:"/"Subject:" lines,
  in English, French, German, Dutch and Spanish), with or without "-----Original Message-----".

A *strong* attribution names a date or is a header block: clients that write one put the
quoted message after it even when they add no ">" markers, so the segmenter may treat the
unmarked text that follows as quoted. A bare "X wrote:" is weak: it only counts when a
quoted block follows.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Attribution:
    """Who is quoted. ``name`` is None when the line names nobody usable ("you wrote:")."""

    name: str | None
    address: str | None
    line_count: int  # lines the attribution occupies (2 when wrapped, more for header blocks)
    strong: bool
    header_block: bool = False  # an Outlook "From:/Sent:/To:" block


_VERBS_LAST = (
    r"wrote|writes|said|a\s+écrit|escribió|escribio|schreef|skrev|"
    r"napisał\(a\)|napisała|napisał|написал\(а\)|написала|написал|"
    r"ha\s+scritto|scrisse|escreveu|het\s+volgende\s+geschreven"
)
_VERBS_FIRST = r"schrieb|schreef|skrev|wrote"
_VERB_STEMS = (
    *("wrote", "writes", "said", "écrit", "escribi", "schrieb", "schreef", "skrev"),
    *("napisa", "написал", "scritto", "scrisse", "escreveu", "geschreven"),
)
_ADDRESS = r"[\w.+=-]+(?:@|\s+at\s+)[\w-]+(?:\.[\w-]+)+"

# "PRE VERB:" / "PRE VERB on DATE:" — the name is at the end of PRE.
_VERB_LAST = re.compile(
    rf"^(?P<pre>.*?)\s*\b(?P<verb>{_VERBS_LAST})(?P<on>\s+on\s+.+?)?\s*:\s*$", re.IGNORECASE
)
# "Am DATE schrieb NAME <addr>:" — verb-second languages put the name after the verb.
_VERB_FIRST = re.compile(
    rf"^(?P<lead>am|op|den|d\.|on)\s+(?P<date>.+?)\s+(?:{_VERBS_FIRST})\s+(?P<name>.+?)\s*:\s*$",
    re.IGNORECASE,
)
# Gmail: "2014-02-05 13:05 GMT+01:00 Thierry Carrez <thierry@openstack.org>:".
_GMAIL = re.compile(
    rf"^\d{{4}}-\d{{2}}-\d{{2}}\s.*?GMT[+-]\d{{1,2}}:\d{{2}}\s+(?P<name>.*?)\s*<(?P<addr>{_ADDRESS})>\s*:\s*$",
    re.IGNORECASE,
)
# "John Santos:" alone on a line before a quote (weak: counts only when a quote follows).
_BARE_NAME = re.compile(r"^(?P<name>[A-Z][\w'.-]+(?: [A-Z][\w'.-]+){1,3})\s?:$")
_LONE_VERB = re.compile(rf"^(?:{_VERBS_LAST})\s*:$", re.IGNORECASE)
_ANGLE_ADDRESS = re.compile(rf"<\s*(?:mailto:)?(?P<addr>{_ADDRESS})\s*>", re.IGNORECASE)
_BARE_ADDRESS = re.compile(rf"\(?\b(?P<addr>{_ADDRESS})\b\)?", re.IGNORECASE)
_QUOTED_NAME = re.compile(r'"(?P<name>[^"]+)"\s*$')
_BRACKETS = re.compile(r"\[[^\]]*\]|\([^)]*\)")
_DATE_TOKEN = re.compile(
    r"^(?:\d[\d:/.,-]*(?:am|pm|h)?|[+-]\d{4}|am|pm|a\.m\.|p\.m\.|at|um|à|a|las|kl\.?|om|o|"
    r"utc|gmt|[a-z]{2,4}t|"
    r"mon|tue|wed|thu|fri|sat|sun|monday|tuesday|wednesday|thursday|friday|saturday|sunday|"
    r"jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec|january|february|march|april|"
    r"june|july|august|september|october|november|december|г\.?|пользователь|user|dnia|w|dniu)"
    r"[.,]?$",
    re.IGNORECASE,
)
# Words that say the line is prose, not an attribution ("As I wrote:", "what you said:").
_NOT_A_NAME = frozenset(
    {
        *("i", "you", "he", "she", "we", "they", "it", "this", "that", "what", "which", "as"),
        *("also", "previously", "earlier", "above", "below", "someone", "somebody", "who"),
    }
)
_PRONOUN_NAMES = frozenset(("you", "he", "she", "they", "someone", "somebody"))
_HEADER_FROM = re.compile(r"^\*?(?:from|de|von|van|från|od|от)\s?:\*?\s*(?P<value>.+?)\s*$", re.I)
_HEADER_OTHER = re.compile(
    r"^\*?(?:sent|date|to|cc|subject|reply-to|newsgroups|organization|envoyé|à|objet|"
    r"gesendet|datum|an|betreff|"
    r"verzonden|aan|onderwerp|enviado|para|asunto|fecha)\s?:\*?",
    re.IGNORECASE,
)
_ORIGINAL_MESSAGE = re.compile(
    r"^\s*-{2,}\s*(?:original message|ursprüngliche nachricht|message d'origine|"
    r"oorspronkelijk bericht|mensaje original)\s*-{2,}\s*$",
    re.IGNORECASE,
)
_MAX_LINE = 240


def may_start_attribution(lines: list[str], i: int) -> bool:
    """A cheap test that rules out almost every line before the regular expressions run:
    attributions and headers hold a colon (on their line or the next), and Outlook's
    marker line is made of dashes."""
    line = lines[i]
    if ":" in line:
        stripped = line.rstrip()
        if stripped.endswith(":"):
            return True
        head = stripped.lstrip("* ")[:4].lower()
        if head.startswith(("from", "de", "von", "van", "frå", "od", "от")):
            return True
    if i + 1 < len(lines) and ":" in lines[i + 1] and lines[i + 1].rstrip().endswith(":"):
        return True
    return "--" in line and is_original_message_marker(line)


def is_original_message_marker(line: str) -> bool:
    """Outlook's "-----Original Message-----" line (and its translations)."""
    return bool(_ORIGINAL_MESSAGE.match(line))


def parse_attribution(lines: list[str], i: int) -> Attribution | None:
    """The attribution starting at ``lines[i]`` (quote markers removed), if any.

    Looks at ``lines[i + 1]`` too, for attributions wrapped over two lines and for Outlook
    header blocks."""
    line = lines[i].strip()
    if not line or len(line) > _MAX_LINE:
        return None
    header = _header_block(lines, i)
    if header is not None:
        return header
    if line.endswith(":") and _has_attribution_word(line):
        found = _single_line(line)
        if found is not None:
            return Attribution(found[0], found[1], 1, found[2])
    bare = _BARE_NAME.match(line)
    if bare:
        return Attribution(bare["name"], None, 1, False)
    if i + 1 < len(lines):
        following = lines[i + 1].strip()
        lone_verb = bool(_LONE_VERB.match(following))
        if (
            following.endswith(":")
            and len(following) < 80
            and (lone_verb or _starts_like_attribution(line))
        ):
            joined = f"{line} {following}"
            found = _single_line(joined) if _has_attribution_word(joined) else None
            if found is not None:
                return Attribution(found[0], found[1], 2, found[2])
    return None


def _has_attribution_word(line: str) -> bool:
    """A verb of the recognised forms, or Gmail's "GMT" (a cheap test before the regexes)."""
    lowered = line.lower()
    return "gmt" in lowered or any(stem in lowered for stem in _VERB_STEMS)


def _starts_like_attribution(line: str) -> bool:
    """A first line that may continue on the next: "On DATE, NAME <addr>" and the like."""
    head = line.split(None, 1)[0].lower()
    return head in ("on", "at", "am", "le", "el", "op", "den", "w", "dnia") or line[:1].isdigit()


def _single_line(line: str) -> tuple[str | None, str | None, bool] | None:
    """(name, address, strong) of a one-line attribution."""
    gmail = _GMAIL.match(line)
    if gmail:
        return _clean_name(gmail["name"]), _address(gmail["addr"]), True
    first = _VERB_FIRST.match(line)
    if first:
        name, address = _name_and_address(first["name"])
        if name or address:
            return name, address, True
    last = _VERB_LAST.match(line)
    if last is None:
        return None
    pre = last["pre"]
    dated = bool(last["on"]) or bool(re.match(r"^(?:on|at|le|el|w|dnia)\b", pre, re.I))
    dated = dated or pre[:1].isdigit()
    name, address = _name_and_address(pre.rsplit(",", 1)[-1] if "<" not in pre else pre)
    if address is None and name is None:
        return None
    if name is not None and name.lower() in _PRONOUN_NAMES:
        return None, address, dated
    if name is not None and not _plausible_name(name):
        return None
    return name, address, dated


def _name_and_address(text: str) -> tuple[str | None, str | None]:
    """Split "…, "Thierry Carrez" <thierry at openstack.org>" into the name and address."""
    address = None
    angle = _ANGLE_ADDRESS.search(text)
    if angle:
        address = _address(angle["addr"])
        text = text[: angle.start()]
        quoted = _QUOTED_NAME.search(text)
        if quoted:
            return _clean_name(quoted["name"]), address
        if "," in text:
            text = text.rsplit(",", 1)[-1]
    else:
        bare = _BARE_ADDRESS.search(text)
        if bare:
            address = _address(bare["addr"])
            text = text[: bare.start()] + text[bare.end() :]
    text = _BRACKETS.sub(" ", text)
    return _clean_name(text), address


def _clean_name(text: str) -> str | None:
    """Drop leading date words ("On Tue 4 Feb 2014 at 14:05") and quotes around a name."""
    words = text.replace('"', " ").replace("'", " ").split()
    while words and (_DATE_TOKEN.match(words[0]) or words[0].lower() in ("on", "am", "le", "el")):
        words.pop(0)
    while words and _DATE_TOKEN.match(words[-1]) and words[-1][:1].isdigit():
        words.pop()
    name = " ".join(words).strip(" ,;*-")
    return name or None


def _plausible_name(name: str) -> bool:
    words = name.split()
    if len(words) > 5 or len(name) > 60:
        return False
    return not any(w.lower().strip(",.") in _NOT_A_NAME for w in words if len(words) > 1) and (
        name.lower() not in _NOT_A_NAME
    )


def _address(text: str) -> str:
    return re.sub(r"\s+at\s+", "@", text.strip()).lower()


def _header_block(lines: list[str], i: int) -> Attribution | None:
    """Outlook's "From: X / Sent: … / To: … / Subject: …" block (or Thunderbird's, which
    starts with Subject), after an optional "-----Original Message-----" line. Needs a
    From line and another header; a value may wrap over up to two lines
    ("[mailto:…] On Behalf Of Jean-Paul" / "Calderone")."""
    start = i
    marker = is_original_message_marker(lines[i])
    if marker:
        i += 1
        while i < len(lines) and not lines[i].strip():
            i += 1
    sender: str | None = None
    headers = 0
    end = i
    while end < len(lines) and end - i < 9:
        line = lines[end].strip()
        from_line = _HEADER_FROM.match(line)
        if from_line is not None and sender is None:
            sender = from_line["value"]
        elif not _HEADER_OTHER.match(line):
            if not (headers and line and _header_within(lines, end + 1, 2)):
                break
            headers -= 1  # a wrapped value, not a header of its own
        headers += 1
        end += 1
    if sender is None or headers < 2:
        return None
    name, address = _name_and_address(sender.replace("*", ""))
    return Attribution(name, address, end - start, True, header_block=True)


def _header_within(lines: list[str], i: int, n: int) -> bool:
    return any(
        _HEADER_OTHER.match(line.strip()) or _HEADER_FROM.match(line.strip())
        for line in lines[i : i + n]
    )
