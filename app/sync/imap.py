"""An IMAP mailbox subscribed to the list, read incrementally by UID.

The cursor is the mailbox's UIDVALIDITY and the highest UID stored: a pass asks only for
newer UIDs, so a restart resumes exactly. When the server changes UIDVALIDITY (the mailbox
was recreated, the server migrated) the old UIDs mean nothing: the pass reads the mailbox
again from the start, and the messages already stored count as duplicates. Mail deleted on
the server stays in Quorum: a pass only ever adds. The mailbox is opened read-only, so
Quorum never marks anything seen.
"""

from __future__ import annotations

import contextlib
import imaplib
import io
import os
import re
import ssl
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from app.source_settings import SourceSettings
from app.sync.errors import SyncError, Unreachable
from app.sync.sink import Sink
from ingest.records import RawMessage
from ingest.sources.bounded import read_bounded

#: Messages fetched (and committed, with the cursor) at a time.
FETCH_CHUNK = 200
_FETCH_UID = re.compile(rb"\bUID (\d+)")


def read_password(source: SourceSettings) -> str:
    """The password, from the environment variable or the file the settings name."""
    if source.password_env:
        password = os.environ.get(source.password_env)
        if not password:
            raise SyncError(f"{source.key}: the variable {source.password_env} is not set")
        return password
    try:
        return Path(source.password_file).read_text().rstrip("\r\n")
    except OSError as exc:
        raise SyncError(
            f"{source.key}: cannot read the password file {source.password_file}"
            f" ({exc.strerror or exc})"
        ) from None


def pull_imap(source: SourceSettings, cursor: dict[str, Any], sink: Sink) -> None:
    password = read_password(source)
    conn = _connect(source, sink)
    try:
        try:
            conn.login(source.user, password)
        except imaplib.IMAP4.error as exc:
            raise SyncError(
                f"{source.key}: the server refused the login of {source.user!r}"
                f" ({_text(exc)}): check the password"
            ) from None
        status, answer = conn.select(_quoted(source.mailbox), readonly=True)
        if status != "OK":
            raise SyncError(f"{source.key}: cannot open the mailbox ({_text(answer)})")
        uidvalidity = int(conn.response("UIDVALIDITY")[1][0] or 0)
        last_uid = int(cursor.get("last_uid", 0))
        if cursor.get("uidvalidity") != uidvalidity:
            last_uid = 0  # the old UIDs name other messages now: read everything again
        status, answer = conn.uid("SEARCH", f"UID {last_uid + 1}:*")
        if status != "OK":
            raise SyncError(f"{source.key}: the server refused the search ({_text(answer)})")
        # "N:*" always matches the newest message, even when its UID is below N.
        uids = sorted(u for u in (int(x) for x in (answer[0] or b"").split()) if u > last_uid)
        for start in range(0, len(uids), FETCH_CHUNK):
            chunk = uids[start : start + FETCH_CHUNK]
            messages = list(_fetch(conn, source, chunk, sink))
            sink.take(messages, {"uidvalidity": uidvalidity, "last_uid": chunk[-1]})
        if not uids:
            sink.save_cursor({"uidvalidity": uidvalidity, "last_uid": last_uid})
    except (OSError, imaplib.IMAP4.abort) as exc:
        raise Unreachable(f"{source.key}: the connection failed ({_text(exc)})") from None
    finally:
        with contextlib.suppress(OSError, imaplib.IMAP4.error):
            conn.logout()


def _connect(source: SourceSettings, sink: Sink) -> imaplib.IMAP4:
    """A connection, retried with growing waits when the server cannot be reached."""
    wait = sink.retry.first_wait
    for attempt in range(1, sink.retry.attempts + 1):
        try:
            if source.tls:
                # The default context verifies the server's certificate and name
                # (imaplib's own default does not).
                return imaplib.IMAP4_SSL(
                    source.host,
                    source.port,
                    ssl_context=ssl.create_default_context(),
                    timeout=sink.retry.timeout,
                )
            return imaplib.IMAP4(source.host, source.port, timeout=sink.retry.timeout)
        except (OSError, imaplib.IMAP4.error) as exc:
            if attempt == sink.retry.attempts:
                raise Unreachable(
                    f"{source.key}: cannot connect ({_text(exc)}; after {attempt} attempts)"
                ) from None
            time.sleep(wait)
            wait *= 2
    raise AssertionError("unreachable")  # pragma: no cover - the loop returns or raises


def _fetch(
    conn: imaplib.IMAP4, source: SourceSettings, uids: list[int], sink: Sink
) -> Iterator[RawMessage]:
    """The messages of ``uids`` in UID order; a UID expunged since the search is absent."""
    status, answer = conn.uid("FETCH", ",".join(map(str, uids)), "(UID BODY.PEEK[])")
    if status != "OK":
        raise SyncError(f"{source.key}: the server refused to fetch ({_text(answer)})")
    found: dict[int, bytes] = {}
    for item in answer:
        if isinstance(item, tuple):
            fetched = _FETCH_UID.search(item[0])
            if fetched is not None:
                found[int(fetched.group(1))] = item[1]
    for uid in uids:
        if uid in found:
            data, spilled = read_bounded(io.BytesIO(found.pop(uid)), sink.limit)
            yield RawMessage(
                data=data, source=source.key, offset=uid, list_hint=sink.list_name, spilled=spilled
            )


def _quoted(mailbox: str) -> str:
    return '"' + mailbox.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _text(value: object) -> str:
    """A server's answer or an exception as one line of text."""
    if isinstance(value, BaseException) and len(value.args) == 1:
        value = value.args[0]  # imaplib's errors hold the server's bytes
    if isinstance(value, list):
        value = b" ".join(v for v in value if isinstance(v, bytes))
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)
