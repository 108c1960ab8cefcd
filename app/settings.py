"""Settings: a TOML file (documented in config/default.toml) overridden by QUORUM_* variables.

Settings are resolved once, into a plain dataclass, so the rest of the app never reads the
environment itself and tests can build any configuration explicitly.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

DEFAULT_CONFIG = Path(__file__).resolve().parent.parent / "config" / "default.toml"


class SettingsError(RuntimeError):
    """A configuration that Quorum refuses to start with."""


@dataclass(frozen=True)
class IngestSettings:
    batch_size: int = 500
    subject_window_days: int = 30
    index_every: int = 5000


@dataclass(frozen=True)
class ApiSettings:
    writes_per_minute: int = 60


@dataclass(frozen=True)
class Settings:
    env: str = "development"
    home: Path = Path("./var")
    database_url: str = ""
    secret_key: str = ""
    ingest: IngestSettings = field(default_factory=IngestSettings)
    api: ApiSettings = field(default_factory=ApiSettings)

    @property
    def production(self) -> bool:
        return self.env == "production"

    @property
    def sqlalchemy_url(self) -> str:
        return self.database_url or f"sqlite:///{(self.home / 'quorum.sqlite3').resolve()}"

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

    ingest_raw = raw.pop("ingest", {})
    ingest = ingest_raw if isinstance(ingest_raw, IngestSettings) else IngestSettings(**ingest_raw)
    api_raw = raw.pop("api", {})
    api = api_raw if isinstance(api_raw, ApiSettings) else ApiSettings(**api_raw)
    known = {"env", "home", "database_url", "secret_key"}
    unknown = set(raw) - known
    if unknown:
        raise SettingsError(f"unknown settings in {config_path}: {', '.join(sorted(unknown))}")
    settings = Settings(
        env=str(raw.get("env", "development")),
        home=Path(raw.get("home", "./var")),
        database_url=str(raw.get("database_url", "")),
        secret_key=str(raw.get("secret_key", "")),
        ingest=ingest,
        api=api,
    )
    if settings.env not in {"development", "production"}:
        raise SettingsError(f"env must be 'development' or 'production', not {settings.env!r}")
    if settings.production and not settings.secret_key:
        raise SettingsError(
            "QUORUM_SECRET_KEY is required in production: export a long random value "
            '(python -c "import secrets; print(secrets.token_hex(32))")'
        )
    return settings
