"""Where a list's mail comes from: the ``[[lists.NAME.sources]]`` tables of the settings.

Each source is checked when the settings are read, so a typo stops Quorum with the table
named rather than leaving a list silently unfollowed. Secrets never live here: an IMAP
password is named by an environment variable or a file, and read only when it is used.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

SOURCE_KINDS = ("pipermail", "mbox-url", "imap", "maildir")
#: The settings each kind accepts, beyond ``type`` and ``name``.
_FIELDS = {
    "pipermail": {"url"},
    "mbox-url": {"url"},
    "imap": {"host", "port", "tls", "user", "mailbox", "password_env", "password_file"},
    "maildir": {"path"},
}


class SourceSettingsError(ValueError):
    """A source table that cannot be followed; the message names what to change."""


@dataclass(frozen=True)
class SourceSettings:
    """One source of one list. ``key`` names it in the database and in reports: the
    ``name`` given, else its URL, mailbox or folder, so it stays the same across restarts."""

    kind: str
    key: str
    url: str = ""
    host: str = ""
    port: int = 993
    tls: bool = True
    user: str = ""
    mailbox: str = "INBOX"
    password_env: str = ""
    password_file: str = ""
    path: str = ""


def parse_source(table: dict[str, Any], where: str) -> SourceSettings:
    """One ``[[lists.NAME.sources]]`` table, checked."""
    kind = table.get("type")
    if kind not in SOURCE_KINDS:
        raise SourceSettingsError(f"{where}: type must be one of {', '.join(SOURCE_KINDS)}")
    unknown = set(table) - {"type", "name"} - _FIELDS[kind]
    if unknown:
        raise SourceSettingsError(f"{where}: unknown settings {', '.join(sorted(unknown))}")
    values = {k: v for k, v in table.items() if k not in ("type", "name")}
    for field_name in ("url", "host", "user", "mailbox", "password_env", "password_file", "path"):
        if not isinstance(values.get(field_name, ""), str):
            raise SourceSettingsError(f"{where}: {field_name} must be a string")
    if not isinstance(values.get("tls", True), bool):
        raise SourceSettingsError(f"{where}: tls must be true or false")
    port = values.get("port", 993 if values.get("tls", True) else 143)
    if not isinstance(port, int) or not 0 < port < 65536:
        raise SourceSettingsError(f"{where}: port must be a number from 1 to 65535")
    values["port"] = port
    if kind in ("pipermail", "mbox-url"):
        url = values.get("url", "")
        if not url.startswith(("http://", "https://")):
            raise SourceSettingsError(f"{where}: url must start with http:// or https://")
        if kind == "pipermail" and not url.endswith("/"):
            values["url"] = url + "/"
        key = values["url"]
    elif kind == "imap":
        for required in ("host", "user"):
            if not values.get(required):
                raise SourceSettingsError(f"{where}: {required} is required for an imap source")
        if bool(values.get("password_env")) == bool(values.get("password_file")):
            raise SourceSettingsError(
                f"{where}: name the password with exactly one of password_env (an environment"
                " variable) or password_file (a file); it is never written in the settings"
            )
        scheme = "imaps" if values.get("tls", True) else "imap"
        mailbox = values.get("mailbox", "INBOX")
        key = f"{scheme}://{values['user']}@{values['host']}:{port}/{mailbox}"
    else:
        if not values.get("path"):
            raise SourceSettingsError(f"{where}: path is required for a maildir source")
        values["path"] = str(Path(values["path"]).expanduser())
        key = values["path"]
    name = table.get("name", key)
    if not isinstance(name, str) or not name:
        raise SourceSettingsError(f"{where}: name must be a non-empty string")
    return SourceSettings(kind=kind, key=name, **values)


def parse_sources(tables: object, list_name: str, config_path: Path) -> tuple[SourceSettings, ...]:
    """The sources of one list, each named uniquely within it."""
    where = f"[[lists.{list_name}.sources]] in {config_path}"
    if not isinstance(tables, list) or not all(isinstance(t, dict) for t in tables):
        raise SourceSettingsError(f"{where}: sources must be an array of tables")
    sources = tuple(parse_source(t, f"{where} (#{i})") for i, t in enumerate(tables, 1))
    keys = [s.key for s in sources]
    if len(set(keys)) != len(keys):
        raise SourceSettingsError(f"{where}: two sources are the same; give each its own name")
    return sources
