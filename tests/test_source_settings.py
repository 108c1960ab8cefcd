"""Sources in the settings: `[[lists.NAME.sources]]` tables, checked when Quorum starts so
that a typo stops it with the table named, and no password is ever accepted in the file."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.settings import Settings, SettingsError, load_settings
from app.source_settings import SourceSettings


def settings_with(tmp_path: Path, text: str) -> Settings:
    config = tmp_path / "quorum.toml"
    config.write_text(text)
    return load_settings(environ={"QUORUM_CONFIG": str(config)})


def test_each_kind_of_source_is_read_with_its_key(tmp_path: Path) -> None:
    settings = settings_with(
        tmp_path,
        """
[lists.governance]
visibility = "private"

[[lists.governance.sources]]
type = "pipermail"
url = "https://lists.example.org/pipermail/governance"

[[lists.governance.sources]]
type = "imap"
host = "imap.example.org"
user = "archive"
password_file = "/etc/quorum/imap-password"

[[lists.governance.sources]]
type = "maildir"
path = "/var/mail/governance"
name = "local delivery"

[[lists.announce.sources]]
type = "mbox-url"
url = "https://lists.example.org/archives/list/announce@example.org/export/announce.mbox.gz?start={since}"
""",
    )
    assert settings.lists["governance"].visibility == "private"
    assert settings.lists["governance"].sources == (
        SourceSettings(
            kind="pipermail",
            key="https://lists.example.org/pipermail/governance/",
            url="https://lists.example.org/pipermail/governance/",
        ),
        SourceSettings(
            kind="imap",
            key="imaps://archive@imap.example.org:993/INBOX",
            host="imap.example.org",
            user="archive",
            password_file="/etc/quorum/imap-password",
        ),
        SourceSettings(kind="maildir", key="local delivery", path="/var/mail/governance"),
    )
    [announce] = settings.lists["announce"].sources
    assert announce.kind == "mbox-url" and announce.url.endswith("?start={since}")


@pytest.mark.parametrize(
    ("table", "complaint"),
    [
        ('type = "nntp"', "type must be one of pipermail, mbox-url, imap, maildir"),
        ('type = "pipermail"\nurl = "ftp://x/"', "url must start with http:// or https://"),
        (
            'type = "imap"\nhost = "h"\nuser = "u"\npassword = "hunter2"',
            "unknown settings password",
        ),
        (
            'type = "imap"\nhost = "h"\nuser = "u"',
            "name the password with exactly one of password_env",
        ),
        (
            'type = "imap"\nhost = "h"\nuser = "u"\npassword_env = "P"\nport = 0',
            "port must be a number from 1 to 65535",
        ),
        ('type = "imap"\nuser = "u"\npassword_env = "P"', "host is required"),
        ('type = "maildir"', "path is required for a maildir source"),
        ('type = "maildir"\npath = "/m"\ntls = "yes"', "unknown settings tls"),
    ],
)
def test_a_source_that_cannot_be_followed_stops_quorum(
    tmp_path: Path, table: str, complaint: str
) -> None:
    with pytest.raises(SettingsError) as error:
        settings_with(tmp_path, f"[[lists.board.sources]]\n{table}\n")
    assert f"[[lists.board.sources]] in {tmp_path / 'quorum.toml'} (#1)" in str(error.value)
    assert complaint in str(error.value)


def test_the_same_source_twice_is_refused(tmp_path: Path) -> None:
    source = '[[lists.board.sources]]\ntype = "maildir"\npath = "/var/mail/board"\n'
    with pytest.raises(SettingsError, match="two sources are the same; give each its own name"):
        settings_with(tmp_path, source + source)


def test_sync_settings_have_documented_defaults() -> None:
    sync = load_settings(environ={}).sync
    assert (sync.attempts, sync.retry_wait_seconds, sync.timeout_seconds) == (3, 2.0, 60.0)
    assert (sync.backoff_seconds, sync.max_backoff_seconds) == (60, 21600)
