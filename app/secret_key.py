"""The key that signs sessions and CSRF tokens when none is configured.

A constant would let anyone forge a staff session for an install that kept the defaults, so
each home gets its own random key, generated once and kept beside the database. Several
worker processes may start on a fresh home at the same moment: the key is written to a
private temporary file and then hard-linked into place, which either succeeds or finds the
key another process linked first, so every process reads one complete key.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from pathlib import Path

from app.settings import SettingsError

KEY_FILE = "secret_key"


class SecretKeyError(SettingsError):
    """A key file that cannot be used (empty, unreadable)."""


def home_secret_key(home: Path) -> str:
    """The home's key, generated on first use (mode 0600)."""
    path = home / KEY_FILE
    if not path.exists():
        home.mkdir(parents=True, exist_ok=True)
        _publish(path, secrets.token_hex(32))
    key = path.read_text(encoding="ascii").strip()
    if not key:
        raise SecretKeyError(f"{path} is empty: delete it to generate a new key")
    return key


def _publish(path: Path, key: str) -> None:
    """Write the key where no other process can see it half-written, then link it into
    place unless another process already did."""
    temporary = path.with_name(f".{KEY_FILE}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="ascii") as out:
            out.write(key + "\n")
            out.flush()
            os.fsync(out.fileno())
        # If another process published first, its key is the home's key.
        with contextlib.suppress(FileExistsError):
            os.link(temporary, path)
    finally:
        temporary.unlink()
