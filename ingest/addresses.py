"""Sender names and addresses, including pipermail's obfuscated "foo at bar.com" form."""

from __future__ import annotations

import re
from email.utils import getaddresses

_OBFUSCATED = re.compile(r"^\s*(\S+) at (\S+?)\s*(?:\((.*)\))?\s*$")
_AT_FORM = re.compile(r"(\S+) at (\S+)")
# A sender's name and address fit in far fewer characters. The rest of a longer From value
# is not read: the standard library's address parser (and the pattern above) take time
# that grows with the square of the value's length.
_MAX_FROM = 2000


def normalise_address(address: str) -> str:
    """One spelling per address: trimmed, de-obfuscated, lower case."""
    address = address.strip().strip("<>").strip()
    match = _AT_FORM.fullmatch(address)
    if match:
        address = f"{match.group(1)}@{match.group(2)}"
    return address.lower()


def parse_from(value: str | None) -> tuple[str, str]:
    """(display name, normalised address) from a From header value; empty strings if absent."""
    if not value:
        return "", ""
    value = value[:_MAX_FROM]
    match = _OBFUSCATED.match(value)
    if match and "@" not in value:
        name = (match.group(3) or "").strip()
        return _unquote(name), normalise_address(f"{match.group(1)} at {match.group(2)}")
    pairs = getaddresses([value])
    name, address = pairs[0] if pairs else ("", "")
    if not address and "@" not in value:
        return _unquote(value.strip()), ""
    return _unquote(name.strip()), normalise_address(address)


def _unquote(name: str) -> str:
    if len(name) >= 2 and name[0] == name[-1] and name[0] in "\"'":
        name = name[1:-1]
    return name.strip()


def obfuscate(address: str) -> str:
    """The form shown to anonymous readers ("troy.toman at rackspace.com")."""
    return address.replace("@", " at ")
