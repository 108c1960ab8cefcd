"""Mailman's notes about attachments it removed from archived mail, turned into metadata.

Pipermail replaces each attachment with a note in the body::

    -------------- next part --------------
    A non-text attachment was scrubbed...
    Name: signature.asc
    Type: application/pgp-signature
    Size: 189 bytes
    Desc: not available
    URL: <http://example.org/pipermail/list/attachments/20020401/b5e74f6b/attachment.sig>

The note is the archive's, not the author's, and two exports of one message spell it
differently ("Url :" or "URL:", another file name or number), so it is taken out of the text
and kept as an attachment record (name, type, size, URL) instead.
"""

from __future__ import annotations

import re

from ingest.records import Attachment

_NEXT_PART = "-------------- next part --------------"
_NOTE = re.compile(
    r"^(An HTML attachment|A non-text attachment|An embedded and charset-unspecified text"
    r"|An embedded message) was scrubbed\.\.\.\s*$"
)
_FIELD = re.compile(r"^(Name|Type|Size|Desc|Url|From|Subject|Date)\s*:\s?(.*)$", re.IGNORECASE)
_SIZE = re.compile(r"(\d+)")
_DEFAULT_TYPE = {
    "An HTML attachment": "text/html",
    "A non-text attachment": "application/octet-stream",
    "An embedded and charset-unspecified text": "text/plain",
    "An embedded message": "message/rfc822",
}


def extract_scrubbed(body: str) -> tuple[str, list[Attachment]]:
    """(body without the scrubbed-attachment notes, one Attachment per note)."""
    if "was scrubbed..." not in body:
        return body, []
    lines = body.split("\n")
    kept: list[str] = []
    attachments: list[Attachment] = []
    i = 0
    while i < len(lines):
        starts_note = lines[i].strip() == _NEXT_PART and i + 1 < len(lines)
        note = _NOTE.match(lines[i + 1].strip()) if starts_note else _NOTE.match(lines[i])
        if note is None:
            kept.append(lines[i])
            i += 1
            continue
        i += 2 if starts_note else 1
        fields: dict[str, str] = {}
        last = ""
        while i < len(lines):
            field = _FIELD.match(lines[i])
            if field:
                last = field.group(1).lower()
                fields.setdefault(last, field.group(2).strip())
            elif last and lines[i][:1] in (" ", "\t") and lines[i].strip():
                fields[last] += " " + lines[i].strip()
            else:
                break
            i += 1
        attachments.append(_attachment(note.group(1), fields))
    return "\n".join(kept).rstrip(), attachments


def _attachment(kind: str, fields: dict[str, str]) -> Attachment:
    url = fields.get("url", "").strip().strip("<>").strip() or None
    name = fields.get("name", "")
    if not name or name == "not available":
        name = url.rsplit("/", 1)[-1] if url else ""
    size = _SIZE.search(fields.get("size", ""))
    return Attachment(
        filename=name,
        content_type=fields.get("type") or _DEFAULT_TYPE[kind],
        size=int(size.group(1)) if size else 0,
        url=url,
    )
