"""No install signs sessions with a key anyone can know: without QUORUM_SECRET_KEY a random
key is generated once into QUORUM_HOME and shared by every process on that home, and
serving beyond this machine needs a real key given explicitly."""

from __future__ import annotations

import multiprocessing
import os
import signal
import socket
import stat
import subprocess
import sys
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Barrier
from pathlib import Path

import pytest
from flask import Flask

from app import create_app
from app.secret_key import home_secret_key
from app.server import ServeRefused, check_serve_address
from app.settings import load_settings
from tests.helpers import signed_in

#: What Quorum used to sign sessions with when no key was configured.
OLD_CONSTANT = "development-only-not-secret"


def test_apps_built_on_one_home_share_a_generated_key_kept_private(tmp_path: Path) -> None:
    home = tmp_path / "home"
    first = create_app({"home": str(home), "secret_key": ""})
    second = create_app({"home": str(home), "secret_key": ""})
    elsewhere = create_app({"home": str(tmp_path / "elsewhere"), "secret_key": ""})

    key = first.config["SECRET_KEY"]
    assert key == second.config["SECRET_KEY"]
    assert key != elsewhere.config["SECRET_KEY"]
    assert key != OLD_CONSTANT and len(key) >= 32
    key_file = home / "secret_key"
    assert key_file.read_text().strip() == key
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600


def test_an_explicit_key_is_used_and_no_key_file_is_written(tmp_path: Path) -> None:
    app = create_app({"home": str(tmp_path / "home"), "secret_key": "k" * 40})
    assert app.config["SECRET_KEY"] == "k" * 40
    assert not (tmp_path / "home" / "secret_key").exists()


def _report_key(barrier: Barrier, home: Path, keys: Queue[str]) -> None:
    barrier.wait()
    keys.put(home_secret_key(home))


def test_workers_starting_together_agree_on_one_key(tmp_path: Path) -> None:
    context = multiprocessing.get_context("fork")
    barrier = context.Barrier(8)
    keys: Queue[str] = context.Queue()
    workers = [
        context.Process(target=_report_key, args=(barrier, tmp_path, keys)) for _ in range(8)
    ]
    for worker in workers:
        worker.start()
    reported = {keys.get(timeout=30) for _ in workers}
    for worker in workers:
        worker.join()
    assert len(reported) == 1
    assert (tmp_path / "secret_key").read_text().strip() == reported.pop()
    assert [p.name for p in tmp_path.iterdir()] == ["secret_key"]  # no temporary files left


def test_an_empty_key_file_is_refused_rather_than_signing_with_nothing(tmp_path: Path) -> None:
    (tmp_path / "secret_key").write_text("\n")
    with pytest.raises(RuntimeError, match="secret_key"):
        home_secret_key(tmp_path)


def test_a_session_cookie_signed_with_the_old_constant_is_refused(app: Flask) -> None:
    admin = signed_in(app, "admin")
    assert admin.get("/admin/audit").status_code == 200
    cookie = admin.get_cookie(app.config["SESSION_COOKIE_NAME"])
    assert cookie is not None
    payload = app.session_interface.get_signing_serializer(app).loads(cookie.value)  # type: ignore[attr-defined]
    forger = Flask("forger")
    forger.config["SECRET_KEY"] = OLD_CONSTANT
    forged = forger.session_interface.get_signing_serializer(forger).dumps(payload)  # type: ignore[attr-defined]

    attacker = app.test_client()
    attacker.set_cookie(app.config["SESSION_COOKIE_NAME"], forged)
    response = attacker.get("/admin/audit")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "::1", "127.0.0.2"])
def test_serving_on_loopback_needs_no_key(host: str) -> None:
    check_serve_address(load_settings({"secret_key": ""}, environ={}), host)


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.0.2.10", "quorum.example.org"])
def test_serving_beyond_this_machine_needs_a_real_key(host: str) -> None:
    for weak in ("", "short"):
        with pytest.raises(ServeRefused, match="QUORUM_SECRET_KEY"):
            check_serve_address(load_settings({"secret_key": weak}, environ={}), host)
    check_serve_address(load_settings({"secret_key": "x" * 32}, environ={}), host)


def test_quorum_serve_on_all_interfaces_without_a_key_exits_with_one_line(tmp_path: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    environ = {k: v for k, v in os.environ.items() if not k.startswith("QUORUM_")}
    environ["QUORUM_HOME"] = str(tmp_path / "home")
    quorum = Path(sys.executable).with_name("quorum")
    server = subprocess.Popen(
        [str(quorum), "serve", "--host", "0.0.0.0", "--port", str(port)],
        env=environ,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own process group, so gunicorn's workers die with it
    )
    try:
        _, stderr = server.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)
        server.communicate()
        pytest.fail("quorum serve started on 0.0.0.0 without a secret key")
    assert server.returncode == 2
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and "QUORUM_SECRET_KEY" in lines[0], stderr
