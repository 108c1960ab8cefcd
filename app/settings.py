"""Settings: a TOML file (documented in config/default.toml) overridden by QUORUM_* variables.

Settings are resolved once, into a plain dataclass, so the rest of the app never reads the
environment itself and tests can build any configuration explicitly.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flask import Flask

from app.source_settings import SourceSettings, SourceSettingsError, parse_sources
from ingest.records import DEFAULT_MAX_MESSAGE_BYTES

DEFAULT_CONFIG = Path(__file__).resolve().parent.parent / "config" / "default.toml"
#: `quorum serve`'s default address, the base URL when none is configured.
DEFAULT_BASE_URL = "http://127.0.0.1:5000"


class SettingsError(RuntimeError):
    """A configuration that Quorum refuses to start with."""


@dataclass(frozen=True)
class IngestSettings:
    batch_size: int = 500
    subject_window_days: int = 30
    index_every: int = 2500
    #: A larger message is quarantined without ever being held whole in memory.
    max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES


@dataclass(frozen=True)
class ApiSettings:
    writes_per_minute: int = 60


@dataclass(frozen=True)
class SearchSettings:
    """What one search may cost: an anonymous reader must not be able to keep a core busy
    with one request (see app.search.query.bound_expansions)."""

    #: Words a query may search once its wildcards, prefixes and ranges are expanded.
    max_terms: int = 256
    #: Indexed words the expansions of one query may look through.
    max_scanned_words: int = 20_000
    #: Where search lives: "whoosh" (an index folder beside each app) or "postgres"
    #: (PostgreSQL full-text search in the database itself, shared by every web node).
    backend: str = "whoosh"
    #: A read-only database (a replica) the postgres backend searches; empty: the main one.
    read_database_url: str = ""


@dataclass(frozen=True)
class WebSettings:
    #: The page cache of each worker process holds at most this many bytes of pages...
    page_cache_bytes: int = 64 * 1024 * 1024
    #: ...and never a page larger than this: a huge message is rendered for each reader
    #: rather than pinning its copies (one per query string) in memory.
    page_cache_max_page_bytes: int = 2 * 1024 * 1024


@dataclass(frozen=True)
class SyncSettings:
    """How `quorum sync` treats servers that fail (see app.sync)."""

    #: Attempts of one request (network errors, timeouts, 5xx answers) within a pass...
    attempts: int = 3
    #: ...waiting this many seconds after the first failure, twice as long after each next.
    retry_wait_seconds: float = 2.0
    #: A request that waits longer for the server than this fails.
    timeout_seconds: float = 60.0
    #: A source whose pass failed is left alone this long, doubled after each further
    #: failure up to the maximum: a broken source is reported, not hammered.
    backoff_seconds: int = 60
    max_backoff_seconds: int = 6 * 3600


VISIBILITIES = ("public", "private")
SEARCH_BACKENDS = ("whoosh", "postgres")
#: A PostgreSQL text-search configuration's name, optionally schema-qualified.
_CONFIG_NAME = re.compile(r"^[a-z_][a-z0-9_]*(\.[a-z_][a-z0-9_]*)?$")


@dataclass(frozen=True)
class ListSettings:
    """A list declared in the settings, before or after its first ingest."""

    #: The visibility the list is created with by its first ingest.
    visibility: str = "public"
    #: Whether mail may be filed into this list (when private) because its List-Id header
    #: names it; otherwise only `quorum ingest --list NAME` stores mail in a private list.
    accept_list_id: bool = False
    #: The PostgreSQL text-search configuration (language) its messages are searched with
    #: by the postgres search backend: "english", "french", "simple"…
    search_config: str = "english"
    #: Where its mail comes from, for `quorum sync` (see app.source_settings).
    sources: tuple[SourceSettings, ...] = ()


@dataclass(frozen=True)
class Settings:
    env: str = "development"
    home: Path = Path("./var")
    database_url: str = ""
    secret_key: str = ""
    public_base_url: str = ""
    ingest: IngestSettings = field(default_factory=IngestSettings)
    api: ApiSettings = field(default_factory=ApiSettings)
    search: SearchSettings = field(default_factory=SearchSettings)
    web: WebSettings = field(default_factory=WebSettings)
    lists: dict[str, ListSettings] = field(default_factory=dict)
    sync: SyncSettings = field(default_factory=SyncSettings)

    @property
    def production(self) -> bool:
        return self.env == "production"

    @property
    def sqlalchemy_url(self) -> str:
        return self.database_url or f"sqlite:///{(self.home / 'quorum.sqlite3').resolve()}"

    @property
    def base_url(self) -> str:
        """Where readers reach the app: every absolute URL (feeds) starts with it, never
        with the Host header a request claims."""
        return (self.public_base_url or DEFAULT_BASE_URL).rstrip("/")

    @property
    def index_dir(self) -> Path:
        return self.home / "index"

    @property
    def quarantine_dir(self) -> Path:
        return self.home / "quarantine"


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError as exc:
        raise SettingsError(f"settings file not found: {path}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(f"settings file {path} is not valid TOML: {exc}") from exc


def _list_settings(raw: dict[str, Any], config_path: Path) -> dict[str, ListSettings]:
    """The `[lists.NAME]` tables, checked: a typo in a privacy setting must stop Quorum
    rather than leave a list public."""
    lists: dict[str, ListSettings] = {}
    for name, table in raw.items():
        if isinstance(table, ListSettings):
            lists[name] = table
            continue
        where = f"[lists.{name}] in {config_path}"
        if name != name.lower():
            raise SettingsError(f"{where}: list names are lower case ({name.lower()!r})")
        unknown = set(table) - {"visibility", "accept_list_id", "search_config", "sources"}
        if unknown:
            raise SettingsError(f"{where}: unknown settings {', '.join(sorted(unknown))}")
        try:
            sources = parse_sources(table.get("sources", []), name, config_path)
        except SourceSettingsError as exc:
            raise SettingsError(str(exc)) from None
        declared = ListSettings(**{**table, "sources": sources})
        if declared.visibility not in VISIBILITIES:
            raise SettingsError(f"{where}: visibility must be 'public' or 'private'")
        if not isinstance(declared.accept_list_id, bool):
            raise SettingsError(f"{where}: accept_list_id must be true or false")
        if not _CONFIG_NAME.match(str(declared.search_config)):
            raise SettingsError(f"{where}: search_config must name a text-search configuration")
        lists[name] = declared
    return lists


#: The top-level keys of a settings file, each with what its value becomes.
_TOP_LEVEL: dict[str, Callable[[Any], Any]] = {
    "env": str,
    "home": Path,
    "database_url": str,
    "secret_key": str,
    "public_base_url": str,
}
#: The ``[name]`` tables of a settings file, each read into its dataclass.
_SECTIONS: dict[str, type] = {
    "ingest": IngestSettings,
    "api": ApiSettings,
    "search": SearchSettings,
    "web": WebSettings,
    "sync": SyncSettings,
}


def _section(table: Any, kind: type) -> Any:
    """One ``[name]`` table as its dataclass; the keys it leaves out keep the field
    defaults. An override may give the dataclass itself."""
    return table if isinstance(table, kind) else kind(**table)


def load_settings(
    overrides: dict[str, Any] | None = None, environ: dict[str, str] | None = None
) -> Settings:
    """Resolve settings: file (QUORUM_CONFIG or the default) < environment < overrides."""
    env = os.environ if environ is None else environ
    config_path = Path(env["QUORUM_CONFIG"]) if env.get("QUORUM_CONFIG") else DEFAULT_CONFIG
    raw = _read_toml(config_path)
    for key, var in (
        ("home", "QUORUM_HOME"),
        ("database_url", "QUORUM_DATABASE_URL"),
        ("secret_key", "QUORUM_SECRET_KEY"),
        ("env", "QUORUM_ENV"),
    ):
        if env.get(var):
            raw[key] = env[var]
    raw.update(overrides or {})

    known = set(_TOP_LEVEL) | set(_SECTIONS) | {"lists"}
    unknown = set(raw) - known
    if unknown:
        raise SettingsError(f"unknown settings in {config_path}: {', '.join(sorted(unknown))}")
    # Only the keys given are passed on: every default is the dataclass field's, once.
    top = {key: convert(raw[key]) for key, convert in _TOP_LEVEL.items() if key in raw}
    sections = {name: _section(raw.get(name, {}), kind) for name, kind in _SECTIONS.items()}
    lists = _list_settings(raw.get("lists", {}), config_path)
    settings = Settings(**top, **sections, lists=lists)
    if settings.public_base_url and not settings.public_base_url.startswith(
        ("http://", "https://")
    ):
        raise SettingsError(
            f"public_base_url must start with http:// or https://, not {settings.public_base_url!r}"
        )
    if settings.search.backend not in SEARCH_BACKENDS:
        raise SettingsError(
            f"[search] backend must be 'whoosh' or 'postgres', not {settings.search.backend!r}"
        )
    if settings.search.backend == "postgres" and not settings.sqlalchemy_url.startswith(
        "postgresql"
    ):
        raise SettingsError(
            "[search] backend = 'postgres' searches the database itself: set database_url"
            " (QUORUM_DATABASE_URL) to a PostgreSQL database, or use backend = 'whoosh'"
        )
    if settings.env not in {"development", "production"}:
        raise SettingsError(f"env must be 'development' or 'production', not {settings.env!r}")
    if settings.production and not settings.secret_key:
        raise SettingsError(
            "QUORUM_SECRET_KEY is required in production: export a long random value "
            '(python -c "import secrets; print(secrets.token_hex(32))")'
        )
    return settings


def settings_of(app: Flask) -> Settings:
    """The settings `app` was created with (app.create_app keeps them in its config)."""
    settings: Settings = app.config["QUORUM"]
    return settings
