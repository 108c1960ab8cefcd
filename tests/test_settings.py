"""Settings: the documented defaults, environment overrides and refusals."""

from __future__ import annotations

from pathlib import Path

import pytest

from app import create_app
from app.settings import SettingsError, load_settings


def test_embedded_defaults_use_sqlite_under_var() -> None:
    settings = load_settings(environ={})
    assert settings.env == "development"
    assert settings.home == Path("./var")
    assert settings.sqlalchemy_url == f"sqlite:///{Path('./var/quorum.sqlite3').resolve()}"
    assert settings.index_dir == Path("./var/index")
    assert settings.quarantine_dir == Path("./var/quarantine")


def test_environment_overrides_the_settings_file(tmp_path: Path) -> None:
    settings = load_settings(
        environ={
            "QUORUM_HOME": str(tmp_path),
            "QUORUM_DATABASE_URL": "postgresql+psycopg://q@/q",
            "QUORUM_SECRET_KEY": "s3cret",
        }
    )
    assert settings.home == tmp_path
    assert settings.sqlalchemy_url == "postgresql+psycopg://q@/q"
    assert settings.secret_key == "s3cret"


def test_a_settings_file_named_by_quorum_config_is_read(tmp_path: Path) -> None:
    config = tmp_path / "quorum.toml"
    config.write_text('home = "/srv/quorum"\n[ingest]\nbatch_size = 7\n')
    settings = load_settings(environ={"QUORUM_CONFIG": str(config)})
    assert settings.home == Path("/srv/quorum")
    assert settings.ingest.batch_size == 7


def test_production_without_a_secret_key_is_refused_with_a_clear_error() -> None:
    with pytest.raises(SettingsError, match="QUORUM_SECRET_KEY is required in production"):
        load_settings(environ={"QUORUM_ENV": "production"})
    with pytest.raises(SettingsError, match="QUORUM_SECRET_KEY"):
        create_app({"env": "production", "secret_key": ""})


def test_the_production_example_is_valid_once_a_secret_is_given() -> None:
    example = Path(__file__).resolve().parent.parent / "config" / "production.example.toml"
    settings = load_settings(environ={"QUORUM_CONFIG": str(example), "QUORUM_SECRET_KEY": "x" * 32})
    assert settings.production
    assert settings.sqlalchemy_url.startswith("postgresql+psycopg://")


def test_unknown_settings_and_bad_files_are_refused(tmp_path: Path) -> None:
    typo = tmp_path / "typo.toml"
    typo.write_text('hoem = "/tmp"\n')
    with pytest.raises(SettingsError, match="unknown settings"):
        load_settings(environ={"QUORUM_CONFIG": str(typo)})
    with pytest.raises(SettingsError, match="not found"):
        load_settings(environ={"QUORUM_CONFIG": str(tmp_path / "missing.toml")})
