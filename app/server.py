"""`quorum serve`: the app under gunicorn, the same server production uses."""

from __future__ import annotations

import ipaddress
from dataclasses import replace
from typing import Any

from flask import Flask
from gunicorn.app.base import BaseApplication

from app.settings import Settings

#: The shortest key `quorum serve` accepts for an address other machines can reach.
MIN_SECRET_KEY = 32


class ServeRefused(RuntimeError):
    """An address Quorum will not serve on with these settings."""


class _Gunicorn(BaseApplication):
    def __init__(self, app: Flask, options: dict[str, Any]) -> None:
        self.application = app
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    # gunicorn's stubs type a WSGI environ as a MutableMapping; Flask takes the dict PEP 3333 says.
    def load(self) -> Flask:  # type: ignore[override]
        return self.application


def is_loopback(host: str) -> bool:
    """Whether only this machine can reach `host` (a name other than localhost may resolve
    anywhere, so it counts as reachable)."""
    host = host.strip("[]")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_serve_address(settings: Settings, host: str) -> None:
    """Refuse to let other machines reach an app whose sessions are signed with a key
    nobody chose: the generated key is only as safe as the home folder, and a short key
    can be guessed."""
    if is_loopback(host):
        return
    if len(settings.secret_key) < MIN_SECRET_KEY:
        raise ServeRefused(
            f"refusing to serve on {host} without a secret key of at least {MIN_SECRET_KEY}"
            ' characters: export QUORUM_SECRET_KEY (python -c "import secrets;'
            ' print(secrets.token_hex(32))") or serve on 127.0.0.1'
        )


def base_url_for(host: str, port: int) -> str:
    """The URL of a serve address, for absolute links when no public base URL is set."""
    host = host.strip("[]")
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def serve_forever(app: Flask, host: str, port: int, workers: int) -> None:
    settings: Settings = app.config["QUORUM"]
    if not settings.public_base_url:
        app.config["QUORUM"] = replace(settings, public_base_url=base_url_for(host, port))
    # Each worker needs its own database connections: drop the ones inherited on fork.
    app.extensions["quorum.engine"].dispose(close=False)
    _Gunicorn(
        app,
        {"bind": f"{host}:{port}", "workers": workers, "accesslog": "-", "timeout": 60},
    ).run()
