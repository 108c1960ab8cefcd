"""Header decoding that keeps every character the sender meant.

Mail in the wild carries raw 8-bit bytes in headers (latin-1, cp1252, utf-8) as well as
RFC 2047 encoded words. mail-parser drops undeclared 8-bit bytes ("Grüße" → "Gre"), so
Quorum reads the header block itself, from bytes.
"""

from __future__ import annotations

import re
from email.header import decode_header

_HEADER_END = re.compile(rb"\r?\n\r?\n")
_FIELD = re.compile(rb"^([!-9;-~]+)[ \t]*:[ \t]?(.*)$")
_ENCODED_WORD = re.compile(r"=\?[^?\s]+\?[bBqQ]\?[^?\s]*\?=")


def split_message(data: bytes) -> tuple[bytes, bytes]:
    """Split raw bytes into the header block and the body (the body may be empty)."""
    match = _HEADER_END.search(data)
    if match is None:
        return data, b""
    return data[: match.start()], data[match.end() :]


def decode_bytes(raw: bytes, declared: str | None = None) -> str:
    """Bytes to text: the declared charset, else utf-8, else cp1252, else latin-1.

    cp1252 before latin-1 because mail that says (or implies) latin-1 is usually cp1252 in
    practice (curly quotes, euro sign); latin-1 never fails, so it is the last resort.
    """
    for charset in (declared, "utf-8", "cp1252"):
        if not charset:
            continue
        try:
            return raw.decode(charset)
        except (LookupError, UnicodeDecodeError):
            continue
    return raw.decode("latin-1")


def parse_header_block(block: bytes) -> list[tuple[str, bytes]]:
    """Header fields in order as (lower-case name, raw unfolded value bytes).

    Lines that are neither a field nor a continuation are skipped: they are defects of the
    message, not a reason to lose the headers after them.
    """
    fields: list[tuple[str, bytes]] = []
    for line in block.splitlines():
        if line[:1] in (b" ", b"\t"):
            if fields:
                name, value = fields[-1]
                fields[-1] = (name, value + b" " + line.strip())
            continue
        match = _FIELD.match(line)
        if match:
            fields.append((match.group(1).decode("ascii").lower(), match.group(2).strip()))
    return fields


def decode_header_value(raw: bytes) -> str:
    """A header value as text: raw 8-bit bytes decoded, RFC 2047 words expanded."""
    text = decode_bytes(raw)
    if "=?" not in text:
        return " ".join(text.split())
    # RFC 2047: whitespace between adjacent encoded words is not part of the text.
    text = re.sub(r"(\?=)\s+(=\?)", r"\1\2", text)
    try:
        parts = decode_header(text)
    except Exception:  # a malformed encoded word: keep the text as written
        return " ".join(text.split())
    out: list[str] = []
    for chunk, charset in parts:
        if isinstance(chunk, bytes):
            out.append(decode_bytes(chunk, charset))
        else:
            out.append(chunk)
    return " ".join("".join(out).split())


class Headers:
    """Case-insensitive access to decoded header values, first occurrence wins."""

    def __init__(self, block: bytes) -> None:
        self.fields = parse_header_block(block)

    def raw(self, name: str) -> bytes | None:
        name = name.lower()
        for field_name, value in self.fields:
            if field_name == name:
                return value
        return None

    def get(self, name: str) -> str | None:
        value = self.raw(name)
        return None if value is None else decode_header_value(value)

    def get_all(self, name: str) -> list[str]:
        name = name.lower()
        return [decode_header_value(v) for n, v in self.fields if n == name]

    def __bool__(self) -> bool:
        return bool(self.fields)
