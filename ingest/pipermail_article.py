"""One pipermail HTML article page (``NNNNNN.html``) to a ``ParsedMessage``.

Mailman 2.0 and 2.1 write the same skeleton: the subject in ``<H1>`` (and ``<TITLE>``), the
author's name in ``<B>``, the obfuscated address as the text of a ``mailto:`` link with an
``In-Reply-To=`` parameter, the archiver's local date in ``<I>``, and the body as ``<PRE>``
text between ``<!--beginarticle-->`` and ``<!--endarticle-->``. The link's parameter is the
article's own Message-ID in Mailman 2.1 pages (it is the link to answer the article), but
the article's own In-Reply-To header in Mailman 2.0 pages (empty when the mail had none),
which 2.0's template tells apart by its HTML 3.2 doctype. A page carries no other header,
so the parent, unless a 2.0 page names it, comes from the month's ``thread.html`` (see
``ingest.sources.pipermail_thread``), which the folder's reader hands over in the
``RawMessage``. Forward searches rather than an HTML parser: the template is fixed and
this is much faster on archives of thousands of pages. Each field is found by searching
forward from where the one before it was found, never by a pattern that spans unknown
text: a hostile page repeating an opening marker without its closing one would otherwise
make every opening scan the rest of the page (a 20 KB page took 30 s).
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from urllib.parse import unquote

from ingest.addresses import normalise_address
from ingest.copies import content_hash
from ingest.headers import decode_bytes
from ingest.message_ids import normalise_message_id, synthetic_message_id
from ingest.records import ParsedMessage, RawMessage, RejectedMessage
from ingest.scrubbed import extract_scrubbed

_CHARSET = re.compile(rb"charset=([A-Za-z0-9_-]+)", re.IGNORECASE)
_BEGIN, _END = re.compile("<!--beginarticle-->", re.I), re.compile("<!--endarticle-->", re.I)
_H1, _H1_END = re.compile("<H1>", re.I), re.compile("</H1>", re.I)
_TITLE, _TITLE_END = re.compile("<TITLE>", re.I), re.compile("</TITLE>", re.I)
_B_END, _A_END = re.compile("</B>", re.I), re.compile("</A>", re.I)
_I_END = re.compile("</I>", re.I)
_AUTHOR_START = re.compile(r"</H1>\s*<B>", re.IGNORECASE)
_MAILTO = re.compile(r"\s*<A\s+HREF=\"mailto:([^\"]*)\"[^>]*>", re.IGNORECASE)
_DATE_START = re.compile(r"</A><BR>\s*<I>", re.IGNORECASE)
_IN_REPLY_TO = re.compile(r"[?&]In-Reply-To=([^&\"]*)", re.IGNORECASE)
# The doctype of Mailman 2.0's article template (2.1's is HTML 4.01 Transitional).
_MAILMAN_20 = re.compile(rb"^\s*<!DOCTYPE HTML PUBLIC \"-//W3C//DTD HTML 3\.2//EN\">", re.I)
# A tag holds no "<": an unclosed "<" costs a scan to the next "<", not to the end.
_TAG = re.compile(r"<[^<>]*>")
#: The date source of a message read from an article page (no Date header seen).
ARTICLE_DATE_SOURCE = "article"
# The zones Mailman's archiver printed after its local time (time.strftime("%Z")).
_ZONES = {
    "UTC": 0,
    "GMT": 0,
    "UT": 0,
    "EST": -5,
    "EDT": -4,
    "CST": -6,
    "CDT": -5,
    "MST": -7,
    "MDT": -6,
    "PST": -8,
    "PDT": -7,
    "CET": 1,
    "CEST": 2,
    "BST": 1,
}


@dataclass(frozen=True, slots=True)
class Article:
    """What an article page says about its message, as text."""

    subject: str
    author: str
    address: str
    date_text: str
    message_id: str | None
    #: The In-Reply-To header a Mailman 2.0 page carries in its reply link.
    in_reply_to: str | None
    body: str

    def fingerprint(self) -> tuple[str, str, str]:
        """What identifies a message among copies that lack a Message-ID: who, when (in UTC:
        two builds of one archive printed different zones), what."""
        date = article_date(self.date_text)
        when = date.astimezone(UTC).isoformat() if date else self.date_text
        return (self.address, when, " ".join(self.subject.split()))


def read_article(data: bytes) -> Article | None:
    """The fields of an article page, or None when the page is not a pipermail article."""
    charset = _CHARSET.search(data[:2000])
    text = decode_bytes(data, charset.group(1).decode("ascii").lower() if charset else None)
    body = _between(text, _BEGIN, _END)
    if body is None:
        return None
    heading = _between(text, _H1, _H1_END)
    if heading is None:
        heading = _between(text, _TITLE, _TITLE_END)
    author = _author(text)
    date = _between(text, _DATE_START, _I_END)
    linked_id = None
    if author is not None:
        reply_link = _IN_REPLY_TO.search(author[1])
        if reply_link is not None:
            linked_id = normalise_message_id(unquote(reply_link.group(1)))
    mailman_20 = _MAILMAN_20.match(data) is not None
    return Article(
        subject=_text(heading) if heading is not None else "",
        author=_text(author[0]) if author else "",
        address=normalise_address(_text(author[2])) if author else "",
        date_text=_text(date) if date is not None else "",
        message_id=None if mailman_20 else linked_id,
        in_reply_to=linked_id if mailman_20 else None,
        body=html.unescape(_TAG.sub("", body)).replace("\r\n", "\n").strip("\n"),
    )


def _between(text: str, opening: re.Pattern[str], closing: re.Pattern[str]) -> str | None:
    """The text between the first `opening` and the first `closing` after it; None when
    either is missing."""
    opened = opening.search(text)
    if opened is None:
        return None
    closed = closing.search(text, opened.end())
    return None if closed is None else text[opened.end() : closed.start()]


def _author(text: str) -> tuple[str, str, str] | None:
    """(name, mailto link, link text) of ``</H1> <B>name</B> <A HREF="mailto:…">text</A>``."""
    opened = _AUTHOR_START.search(text)
    if opened is None:
        return None
    name_end = _B_END.search(text, opened.end())
    link = _MAILTO.match(text, name_end.end()) if name_end else None
    link_end = _A_END.search(text, link.end()) if link else None
    if name_end is None or link is None or link_end is None:
        return None
    return (
        text[opened.end() : name_end.start()],
        link.group(1),
        text[link.end() : link_end.start()],
    )


def _text(fragment: str) -> str:
    return " ".join(html.unescape(_TAG.sub("", fragment)).split())


def article_date(text: str) -> datetime | None:
    """The archiver's date ("Tue Apr  1 11:48:04 MST 2003") with its zone as an offset."""
    parts = text.split()
    if len(parts) != 6:
        return None
    zone = _ZONES.get(parts[4].upper(), 0)
    try:
        naive = datetime.strptime(" ".join(parts[:4] + parts[5:]), "%a %b %d %H:%M:%S %Y")
    except ValueError:
        return None
    return naive.replace(tzinfo=timezone(timedelta(hours=zone)))


def parse_article(raw: RawMessage) -> ParsedMessage:
    """An article page as a message: the id and parent the folder gave it, its own fields."""
    article = read_article(raw.data)
    if article is None:
        raise RejectedMessage("not a pipermail article: no <!--beginarticle--> marker")
    body, attachments = extract_scrubbed(article.body)
    message_id = raw.message_id or article.message_id
    synthetic = message_id is None
    if message_id is None:
        message_id = synthetic_message_id("\x00".join(article.fingerprint()).encode("utf-8"))
    date = article_date(article.date_text)
    return ParsedMessage(
        message_id=message_id,
        synthetic_id=synthetic,
        in_reply_to=article.in_reply_to,
        references=[],
        subject=article.subject,
        from_name=article.author,
        from_address=article.address,
        date=date,
        date_source=ARTICLE_DATE_SOURCE if date else None,
        list_id=None,
        body=body,
        attachments=attachments,
        no_archive=False,
        content_hash=content_hash(message_id, article.address, article.subject, date, body),
        thread_parent=raw.thread_parent,
        from_article=True,
    )
