"""One raw message to a ``ParsedMessage``: Quorum's adapter around mail-parser.

mail-parser walks the MIME tree, collects attachments and reports defects. Its text
handling loses data in two places, which this adapter takes over: undeclared 8-bit header
bytes are dropped ("Grüße" → "Gre"), and a missing Message-ID is reported as "". Headers
are therefore decoded from bytes here (see ``ingest.headers``), and body parts are decoded
with Quorum's charset fallbacks instead of mail-parser's lossy ones.
"""

from __future__ import annotations

import hashlib
import logging
import re
from email.message import Message

import mailparser
from bs4 import BeautifulSoup

from ingest.addresses import parse_from
from ingest.dates import best_date
from ingest.headers import Headers, decode_bytes, split_message
from ingest.message_ids import normalise_message_id, parse_id_list, synthetic_message_id
from ingest.records import Attachment, ParsedMessage, RawMessage, RejectedMessage

# mail-parser logs every odd part at WARNING; the account and defects list say it better.
logging.getLogger("mailparser").setLevel(logging.ERROR)

# Charsets whose real-world use is a superset, as browsers treat them (WHATWG encoding).
_SCRUBBED_URL = re.compile(r"^\s*URL?\s*:\s*<?(?:https?://|/)\S*>?\s*$", re.IGNORECASE)
_LOSSY = re.compile(r"[^\x00-\x7f]|\?")
_CHARSET_ALIASES = {
    "iso-8859-1": "cp1252",
    "latin-1": "cp1252",
    "latin1": "cp1252",
    "us-ascii": None,
    "ascii": None,
    "x-unknown": None,
    "unknown-8bit": None,
}


def parse_message(raw: RawMessage) -> ParsedMessage:
    """Parse one message; raise ``RejectedMessage`` with a reason when it is not usable mail."""
    if not raw.data.strip():
        raise RejectedMessage("empty message")
    header_block, _ = split_message(raw.data)
    headers = Headers(header_block)
    if not headers:
        raise RejectedMessage("not a mail message: no header fields")
    if not any(headers.raw(name) is not None for name in ("from", "subject", "message-id", "date")):
        raise RejectedMessage("not a mail message: no From, Subject, Message-ID or Date")
    try:
        mail = mailparser.parse_from_bytes(raw.data)
    except Exception as exc:  # mail-parser raises many types on hostile input
        raise RejectedMessage(f"MIME structure cannot be parsed: {exc}") from exc

    message_id = normalise_message_id(headers.get("message-id"))
    synthetic = message_id is None
    if message_id is None:
        message_id = synthetic_message_id(raw.data)
    references = [r for r in parse_id_list(headers.get("references")) if r != message_id]
    in_reply_to = next(
        (r for r in parse_id_list(headers.get("in-reply-to")) if r != message_id), None
    )
    from_name, from_address = parse_from(headers.get("from"))
    date, date_source = best_date(headers.get("date"), headers.get_all("received"), raw.envelope)
    body, attachments = _body_and_attachments(mail.message)
    subject = headers.get("subject") or ""
    defects = sorted(mail.defects_categories) if mail.has_defects else []
    return ParsedMessage(
        message_id=message_id,
        synthetic_id=synthetic,
        in_reply_to=in_reply_to,
        references=references,
        subject=subject,
        from_name=from_name,
        from_address=from_address,
        date=date,
        date_source=date_source,
        list_id=_list_id(headers.get("list-id")),
        body=body,
        attachments=attachments,
        no_archive=_no_archive(headers),
        content_hash=content_hash(message_id, from_address, subject, date, body),
        defects=defects,
    )


def content_hash(message_id: str, address: str, subject: str, date: object, body: str) -> str:
    """What makes two copies of one message the same message.

    Archives that were exported twice differ in ways that are not the author's: trailing
    spaces, the URL line of a scrubbed attachment, and non-ASCII letters that one export
    turned into "?". Those are folded away so such copies count as duplicates.
    """
    lines = (line.rstrip() for line in body.strip().splitlines() if not _SCRUBBED_URL.match(line))
    text = "\x00".join((message_id, address, subject, str(date), "\n".join(lines)))
    return hashlib.sha256(_LOSSY.sub("?", text).encode("utf-8", "surrogatepass")).hexdigest()


def copy_quality(body: str) -> tuple[int, int]:
    """Lower is better: of two copies of one message, keep the one that lost fewer letters."""
    return (body.count("\ufffd") + body.count("?"), -len(body))


def _no_archive(headers: Headers) -> bool:
    return (headers.get("x-no-archive") or "").strip().lower() == "yes" or (
        headers.get("x-archive") or ""
    ).strip().lower().startswith("no")


def _list_id(value: str | None) -> str | None:
    """The list's short name from List-Id ("Foundation <foundation.lists.openstack.org>")."""
    if not value:
        return None
    ident = normalise_message_id(value)
    if ident is None:
        return None
    return ident.strip("<>").split(".", 1)[0].lower() or None


def _decode_part(part: Message) -> str:
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes):
        return ""
    declared = (part.get_content_charset() or "").lower() or None
    return decode_bytes(payload, _CHARSET_ALIASES.get(declared, declared) if declared else None)


def html_to_text(html: str) -> str:
    """Readable text from HTML mail; scripts and styles dropped, nothing kept as markup."""
    soup = BeautifulSoup(html, "lxml")
    for tag in soup(["script", "style", "head"]):
        tag.decompose()
    lines = (line.strip() for line in soup.get_text("\n").splitlines())
    text = "\n".join(lines)
    while "\n\n\n" in text:
        text = text.replace("\n\n\n", "\n\n")
    return text.strip()


def _body_and_attachments(message: Message) -> tuple[str, list[Attachment]]:
    plain: list[str] = []
    html: list[str] = []
    attachments: list[Attachment] = []
    for part in message.walk():
        if part.is_multipart():
            continue
        content_type = part.get_content_type()
        filename = part.get_filename()
        disposition = (part.get_content_disposition() or "").lower()
        if (
            disposition == "attachment"
            or (filename and content_type != "text/plain")
            or (not content_type.startswith("text/"))
        ):
            payload = part.get_payload(decode=True)
            size = len(payload) if isinstance(payload, bytes) else 0
            attachments.append(Attachment(str(filename or ""), content_type, size))
            continue
        if content_type == "text/html":
            html.append(_decode_part(part))
        else:
            plain.append(_decode_part(part))
    if any(p.strip() for p in plain):
        body = "\n\n".join(p for p in plain if p.strip())
    else:
        body = "\n\n".join(html_to_text(h) for h in html if h.strip())
    return body.replace("\r\n", "\n"), attachments
