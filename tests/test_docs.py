"""The documentation keeps up with the code: every `quorum` command and option is shown in
the README, and every key config/default.toml documents (its commented-out example
included) is one the settings read."""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click
import pytest

from app.cli import main
from app.settings import DEFAULT_CONFIG, load_settings

README = Path(__file__).resolve().parent.parent / "README.md"
#: Keys of a source table whose value the settings hold under another name.
_RENAMED = {"type": "kind", "name": "key"}


def _commands(command: click.Command, path: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    """The path of every command and group under `command`, e.g. ("lists", "set")."""
    if path:
        yield path
    if isinstance(command, click.Group):
        for name, sub in sorted(command.commands.items()):
            yield from _commands(sub, (*path, name))


def _command(path: tuple[str, ...]) -> click.Command:
    command: click.Command = main
    for name in path:
        assert isinstance(command, click.Group)
        command = command.commands[name]
    return command


def _readme_lines_showing(path: tuple[str, ...]) -> list[str]:
    """README lines that show `quorum PATH` (not a longer command name starting with it)."""
    shown = re.compile(r"quorum " + re.escape(" ".join(path)) + r"(?![\w-])")
    return [line for line in README.read_text(encoding="utf-8").splitlines() if shown.search(line)]


@pytest.mark.parametrize("path", list(_commands(main)), ids=" ".join)
def test_every_command_and_its_options_are_shown_in_the_readme(path: tuple[str, ...]) -> None:
    lines = _readme_lines_showing(path)
    assert lines, f"README.md never shows `quorum {' '.join(path)}`"
    for option in _command(path).params:
        if not isinstance(option, click.Option) or option.hidden:
            continue
        for flag in option.opts:
            flag_shown = re.compile(re.escape(flag) + r"(?![\w-])")
            assert any(flag_shown.search(line) for line in lines), (
                f"no README.md line showing `quorum {' '.join(path)}` shows {flag}"
            )


def _commented_example(text: str) -> str:
    """The example tables the file documents as comments (from its first commented-out
    table header on), uncommented by one level."""
    start = re.search(r"^# \[", text, re.MULTILINE)
    assert start, "config/default.toml no longer shows a commented-out example table"
    return "\n".join(
        line.removeprefix("#").removeprefix(" ") for line in text[start.start() :].splitlines()
    )


def _assert_read(written: dict[str, Any], loaded: Any, where: str) -> None:
    """Every key of `written` reaches `loaded` (settings, a dict of them or a dataclass)
    with the value written."""
    for key, value in written.items():
        here = f"{where}{key}"
        if isinstance(loaded, dict):
            assert key in loaded, f"{here} is not read by the settings"
            target = loaded[key]
        else:
            attribute = _RENAMED.get(key, key)
            assert hasattr(loaded, attribute), f"{here} is not read by the settings"
            target = getattr(loaded, attribute)
        if isinstance(value, dict):
            _assert_read(value, target, f"{here}.")
        elif isinstance(value, list) and all(isinstance(item, dict) for item in value):
            assert len(target) == len(value), here
            for number, (item, read) in enumerate(zip(value, target, strict=True)):
                _assert_read(item, read, f"{here}[{number}].")
        else:
            assert target == (Path(value) if isinstance(target, Path) else value), here


def test_every_key_of_the_default_file_and_its_example_is_read_by_the_settings(
    tmp_path: Path,
) -> None:
    text = DEFAULT_CONFIG.read_text(encoding="utf-8")
    documented = text + "\n" + _commented_example(text)
    config = tmp_path / "documented.toml"
    config.write_text(documented, encoding="utf-8")
    settings = load_settings(environ={"QUORUM_CONFIG": str(config)})
    _assert_read(tomllib.loads(documented), settings, "")
    assert settings.lists, "the commented-out example declares no list"
