"""Header decoding that keeps every character the sender meant.

Mail in the wild carries raw 8-bit bytes in headers (latin-1, cp1252, utf-8) as well as
RFC 2047 encoded words. mail-parser drops undeclared 8-bit bytes ("Grüße" → "Gre"), so
Quorum reads the header block itself, from bytes.
"""

from __future__ import annotations

import binascii
import re
from email.quoprimime import header_decode

_HEADER_END = re.compile(rb"\r?\n\r?\n")
_FIELD = re.compile(rb"^([!-9;-~]+)[ \t]*:[ \t]?(.*)$")
# An RFC 2047 encoded word, read as leniently as the standard library reads one (mailers
# put spaces and "?" in the text): "=?charset?Q?text?=" or "=?charset?B?text?=".
_ENCODED_WORD = re.compile(r"=\?([^?]*)\?([qQbB])\?(.*?)\?=")


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
    message, not a reason to lose the headers after them. A field's lines are joined once,
    at the end: a value rebuilt per continuation line costs the square of its length.
    """
    fields: list[tuple[str, list[bytes]]] = []
    for line in block.splitlines():
        if line[:1] in (b" ", b"\t"):
            if fields:
                fields[-1][1].append(line.strip())
            continue
        match = _FIELD.match(line)
        if match:
            fields.append((match.group(1).decode("ascii").lower(), [match.group(2).strip()]))
    return [(name, b" ".join(parts)) for name, parts in fields]


def decode_header_value(raw: bytes) -> str:
    """A header value as text: raw 8-bit bytes decoded, RFC 2047 words expanded."""
    text = decode_bytes(raw)
    if "=?" in text:
        text = _expand_encoded_words(text)
    return " ".join(text.split())


def _expand_encoded_words(text: str) -> str:
    """RFC 2047 encoded words decoded, in one pass. Adjacent words of one charset are
    decoded together (a character may be split between them) and the whitespace between
    two encoded words is not part of the text, as the standard library reads them; its
    decoder takes time that grows with the square of the number of words. A word that
    does not decode stays as written."""
    out: list[str] = []
    run: list[bytes] = []
    run_charset = ""
    position = 0
    after_word = False
    # No word ends after the last "?=": searching no further keeps every "=?" that is never
    # closed from scanning the rest of the text.
    for word in _ENCODED_WORD.finditer(text, 0, text.rfind("?=") + 2):
        decoded = _word_bytes(word.group(2), word.group(3))
        if decoded is None:
            continue
        charset = word.group(1).lower()
        between = text[position : word.start()]
        joined = after_word and (not between or between.isspace())
        if run and (not joined or charset != run_charset):
            out.append(decode_bytes(b"".join(run), run_charset))
            run = []
        if not joined:
            out.append(between)
        run.append(decoded)
        run_charset, position, after_word = charset, word.end(), True
    if run:
        out.append(decode_bytes(b"".join(run), run_charset))
    out.append(text[position:])
    return "".join(out)


def _word_bytes(encoding: str, encoded: str) -> bytes | None:
    """The bytes an encoded word's text stands for; None when it is not valid base64."""
    if encoding in "qQ":
        return header_decode(encoded).encode("raw-unicode-escape")
    try:
        return binascii.a2b_base64((encoded + "=" * (-len(encoded) % 4)).encode("ascii", "ignore"))
    except binascii.Error:
        return None


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
