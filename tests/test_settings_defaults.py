"""Settings defaults are written once, in the dataclasses of app/settings.py: the values
config/default.toml shows a reader are checked against them here."""

from __future__ import annotations

import dataclasses
import tomllib
from pathlib import Path
from typing import Any

from app.settings import DEFAULT_CONFIG, Settings, load_settings


def _defaults(settings: Any) -> dict[str, Any]:
    """A dataclass's fields and their default values, tables as nested dicts."""
    return {
        field.name: (_defaults(value) if dataclasses.is_dataclass(value) else value)
        for field in dataclasses.fields(settings)
        for value in [getattr(settings, field.name)]
    }


def test_every_value_in_the_default_file_is_the_dataclass_default() -> None:
    written = tomllib.loads(DEFAULT_CONFIG.read_text(encoding="utf-8"))
    defaults = _defaults(Settings())
    for key, value in written.items():
        if isinstance(value, dict):
            for inner, inner_value in value.items():
                assert inner_value == defaults[key][inner], f"[{key}] {inner}"
        elif key == "home":
            assert Path(value) == defaults[key], key
        else:
            assert value == defaults[key], key


def test_the_default_file_sets_every_default_the_dataclasses_hold() -> None:
    written = tomllib.loads(DEFAULT_CONFIG.read_text(encoding="utf-8"))
    for key, value in _defaults(Settings()).items():
        if key == "lists":
            continue  # no list is declared by default; the file shows one as an example
        assert key in written, key
        if isinstance(value, dict):
            assert set(written[key]) == set(value), f"[{key}]"


def test_loading_the_default_file_gives_the_dataclass_defaults() -> None:
    assert load_settings(environ={}) == Settings()


def test_a_key_left_out_of_the_settings_file_takes_the_dataclass_default(
    tmp_path: Path,
) -> None:
    sparse = tmp_path / "sparse.toml"
    sparse.write_text("[ingest]\nbatch_size = 7\n")
    settings = load_settings(environ={"QUORUM_CONFIG": str(sparse)})
    assert settings.ingest.batch_size == 7
    assert dataclasses.replace(settings.ingest, batch_size=500) == Settings().ingest
    assert dataclasses.replace(settings, ingest=Settings().ingest) == Settings()
