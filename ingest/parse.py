"""One raw message to a ``ParsedMessage``: Quorum's adapter around mail-parser.

mail-parser walks the MIME tree and reports defects. Its text handling loses data in two
places, which this adapter takes over: undeclared 8-bit header bytes are dropped ("Grüße"
→ "Gre"), and a missing Message-ID is reported as "". Headers are therefore decoded from
bytes here (see ``ingest.headers``), and body parts with Quorum's charset fallbacks. Most
list mail is a single plain-text part, which is read directly: mail-parser computes many
properties Quorum never reads, and took more time than the rest of the ingest. Pipermail
HTML article pages have their own parser (``ingest.pipermail_article``).
"""

from __future__ import annotations

import logging
import re
from email.message import Message

import mailparser
from bs4 import BeautifulSoup

from ingest.addresses import parse_from
from ingest.copies import content_hash
from ingest.dates import best_date
from ingest.headers import Headers, decode_bytes, split_message
from ingest.message_ids import normalise_message_id, parse_id_list, synthetic_message_id
from ingest.pipermail_article import parse_article
from ingest.records import Attachment, ParsedMessage, RawMessage, RejectedMessage
from ingest.scrubbed import extract_scrubbed
from ingest.storable import storable

# mail-parser logs every odd part at WARNING; the account and defects list say it better.
logging.getLogger("mailparser").setLevel(logging.ERROR)

_CHARSET_PARAM = re.compile(r"charset\s*=\s*\"?([^\";\s]+)")
#: Bounds on each Content-* field the MIME parser is given (see ``_check_content_fields``):
#: its bytes as written, folding included, and its parameters (the ";" in it). Real fields
#: stay far below both, even a long non-ASCII file name split into RFC 2231 continuations.
MAX_CONTENT_FIELD_BYTES = 8 * 1024
MAX_CONTENT_PARAMETERS = 100
#: ... and on the parameters of all of them together: each costs the parsers a few
#: microseconds per look-up, and a message of small parts can hold many fields.
MAX_MESSAGE_CONTENT_PARAMETERS = 10_000
# A Content-* field at the start of any line (a lone CR ends a line too, as the standard
# library reads mail), with its continuation lines. No part of it can backtrack far: each
# continuation must start with a line break, which ``[^\r\n]*`` never takes.
_CONTENT_FIELD = re.compile(
    rb"(?:^|(?<=\r))(content-[!-9;-~]*)[ \t]*:[^\r\n]*(?:(?:\r\n?|\n)[ \t][^\r\n]*)*",
    re.IGNORECASE | re.MULTILINE,
)
# Charsets whose real-world use is a superset, as browsers treat them (WHATWG encoding).
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
    """Parse one message; raise ``RejectedMessage`` with a reason when it is not usable mail
    (or larger than the reader's limit: such a message was never read whole). The text
    comes out storable in every supported database (see ``ingest.storable``)."""
    if raw.spilled is not None:
        raise RejectedMessage(
            f"message too large: {raw.spilled.size:,} bytes, over the limit of"
            f" {raw.spilled.limit:,} (max_message_bytes)"
        )
    if raw.kind == "pipermail-article":
        return storable(parse_article(raw))
    return storable(_parse_mail(raw))


def _parse_mail(raw: RawMessage) -> ParsedMessage:
    if not raw.data.strip():
        raise RejectedMessage("empty message")
    header_block, body_bytes = split_message(raw.data)
    headers = Headers(header_block)
    if not headers:
        raise RejectedMessage("not a mail message: no header fields")
    if not any(headers.raw(name) is not None for name in ("from", "subject", "message-id", "date")):
        raise RejectedMessage("not a mail message: no From, Subject, Message-ID or Date")
    body, attachments, defects = _plain_body(headers, body_bytes) or _mime_body(raw.data)

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
    body, scrubbed = extract_scrubbed(body)
    attachments += scrubbed
    subject = headers.get("subject") or ""
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


def _plain_body(headers: Headers, body: bytes) -> tuple[str, list[Attachment], list[str]] | None:
    """The body of a single-part plain-text message without transfer encoding, read
    directly: most list mail is that, and the MIME parser would only copy it around."""
    content_type = (headers.get("content-type") or "text/plain").lower()
    encoding = (headers.get("content-transfer-encoding") or "7bit").strip().lower()
    if not content_type.startswith("text/plain") or encoding not in ("7bit", "8bit", "binary"):
        return None
    charset = _CHARSET_PARAM.search(content_type)
    text = _decode_text(body, charset.group(1) if charset else None)
    return text.replace("\r\n", "\n"), [], []


def _check_content_fields(data: bytes) -> None:
    """Reject a message with a Content-* field the MIME parser cannot read in linear time.

    The standard library splits a field's parameters by copying the rest of the value at
    each ";" (and recounts quotes from its start at each ";" inside a quoted string), and
    mail-parser and Quorum ask for the parameters many times per part: a 400 KB
    Content-Type of ";" took 13 s of CPU. Below the bounds that cost is small, so one
    linear scan before parsing keeps the whole parse linear in the message's size.

    The scan reads every line, not only the header blocks: finding the parts' header
    blocks is the parser's (costly) work. A body line that starts like a Content-* field
    and runs on, with its indented lines, past the bound is read as one too. That errs on
    the safe side: the message is quarantined with its reason and its raw bytes, so
    nothing is lost and the operator can see why. Cutting the field's parameters instead
    would store a message parsed from a header its sender never wrote (a dropped
    ``boundary`` turns every part into text), silently.
    """
    total = 0
    for field in _CONTENT_FIELD.finditer(data):
        name = field.group(1).decode("ascii")
        size = field.end() - field.start()
        if size > MAX_CONTENT_FIELD_BYTES:
            raise RejectedMessage(
                f"header too long: {name}, {size:,} bytes (limit {MAX_CONTENT_FIELD_BYTES:,})"
            )
        parameters = data.count(b";", field.start(), field.end())
        if parameters > MAX_CONTENT_PARAMETERS:
            raise RejectedMessage(
                f"too many header parameters: {name}, {parameters:,}"
                f" (limit {MAX_CONTENT_PARAMETERS:,})"
            )
        total += parameters
        if total > MAX_MESSAGE_CONTENT_PARAMETERS:
            raise RejectedMessage(
                f"too many header parameters: over {MAX_MESSAGE_CONTENT_PARAMETERS:,}"
                " in the Content-* fields of the message"
            )


def _mime_body(data: bytes) -> tuple[str, list[Attachment], list[str]]:
    _check_content_fields(data)
    try:
        mail = mailparser.parse_from_bytes(data)
        body, attachments = _body_and_attachments(mail.message)
    except Exception as exc:  # hostile MIME can break the parser in many ways
        raise RejectedMessage(f"MIME structure cannot be parsed: {exc}") from exc
    defects = sorted(mail.defects_categories) if mail.has_defects else []
    return body, attachments, defects


def _decode_text(payload: bytes, declared: str | None) -> str:
    declared = (declared or "").lower() or None
    return decode_bytes(payload, _CHARSET_ALIASES.get(declared, declared) if declared else None)


def _decode_part(part: Message) -> str:
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes):
        return ""
    return _decode_text(payload, part.get_content_charset())


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
