"""A throwaway Dovecot IMAP server for sync tests, like the PostgreSQL cluster: its own
configuration, users (a passwd-file) and maildirs in a temporary folder, listening on
127.0.0.1 only. Mail is delivered the way a mail server does, by writing into the user's
maildir; ``doveadm`` changes what only the server can (UIDVALIDITY, expunges)."""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

import pytest

DOVECOT = Path("/usr/sbin/dovecot")
DOVEADM = Path("/usr/bin/doveadm")
#: Mail is owned by an unprivileged account: Dovecot refuses to serve mail as root.
MAIL_ACCOUNT = "nobody"

CONFIG = """\
protocols = imap
listen = 127.0.0.1
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
mail_location = maildir:{root}/mail/%u
mail_uid = {uid}
mail_gid = {gid}
first_valid_uid = {uid}
last_valid_uid = {uid}
first_valid_gid = {gid}
default_login_user = dovenull
default_internal_user = dovecot
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/passwd
}}
userdb {{
  driver = static
  args = home={root}/home/%u
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
"""


def dovecot_or_skip() -> None:
    if not DOVECOT.exists() or not DOVEADM.exists():
        pytest.skip(f"IMAP tests need Dovecot ({DOVECOT}, {DOVEADM}: apt install dovecot-imapd)")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Dovecot:
    """One Dovecot instance with one user and password; ``start``, ``stop`` and ``restart``
    as the tests need."""

    def __init__(self, user: str, password: str) -> None:
        # Not under pytest's folders: Dovecot's own users (auth, login) must reach it.
        root = Path(tempfile.mkdtemp(prefix="quorum-dovecot-"))
        root.chmod(0o755)
        self.root = root
        self.user = user
        self.port = _free_port()
        account = pwd.getpwnam(MAIL_ACCOUNT)
        self.uid, self.gid = account.pw_uid, account.pw_gid
        for folder in ("run", "state", "mail", "home"):
            (root / folder).mkdir(parents=True)
        (root / "passwd").write_text(f"{user}:{password}::::::\n")
        (root / "passwd").chmod(0o644)
        self.config = root / "dovecot.conf"
        self.config.write_text(CONFIG.format(root=root, port=self.port, uid=self.uid, gid=self.gid))
        self.maildir = root / "mail" / user
        for sub in ("cur", "new", "tmp"):
            (self.maildir / sub).mkdir(parents=True)
        for path in (root / "mail", root / "home", self.maildir, *self.maildir.iterdir()):
            os.chown(path, self.uid, self.gid)
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [str(DOVECOT), "-F", "-c", str(self.config)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                log = (
                    (self.root / "dovecot.log").read_text()
                    if (self.root / "dovecot.log").exists()
                    else ""
                )
                raise RuntimeError(f"dovecot exited: {self.process.stderr.read().decode()} {log}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as conn:
                    if conn.recv(100).startswith(b"* OK"):
                        return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("dovecot did not start listening within 20 s")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=20)
            self.process = None

    def restart(self) -> None:
        self.stop()
        self.start()

    def deliver(self, message: bytes) -> None:
        """Deliver as a mail server does: write into tmp/, then move into new/."""
        name = f"{time.time_ns()}.{uuid.uuid4().hex}.quorum-test"
        staged = self.maildir / "tmp" / name
        staged.write_bytes(message)
        os.chown(staged, self.uid, self.gid)
        staged.rename(self.maildir / "new" / name)

    def doveadm(self, *args: str) -> str:
        done = subprocess.run(
            [str(DOVEADM), "-c", str(self.config), *args],
            capture_output=True,
            check=True,
            timeout=60,
        )
        return done.stdout.decode()

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)
