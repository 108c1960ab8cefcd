"""Downloads for sync: conditional, retried, and whole or not at all.

A month file is ingested only once every byte of it is on disk: a download cut short (fewer
bytes than Content-Length, a broken chunked stream) is an error, never a shorter archive.
The server's validators (ETag, Last-Modified) are sent back, so an unchanged month costs one
small request and a 304.
"""

from __future__ import annotations

import hashlib
import http.client
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from app.sync.errors import SyncError, Unreachable

#: What a download is read in.
CHUNK = 1 << 16
USER_AGENT = "Quorum-sync/1 (mailing-list archive follower)"


@dataclass(frozen=True)
class Retry:
    """How a request is retried on network errors, timeouts and 5xx answers: ``attempts``
    in all, waiting ``first_wait`` seconds, then twice as long each time."""

    attempts: int = 3
    first_wait: float = 2.0
    timeout: float = 60.0


@dataclass(frozen=True)
class Download:
    """A 200 answer saved to ``path`` (the caller removes it), or a 304 (``path`` None)."""

    path: Path | None
    etag: str | None
    last_modified: str | None
    sha256: str | None

    @property
    def validators(self) -> dict[str, str]:
        return {
            k: v
            for k, v in (("etag", self.etag), ("last_modified", self.last_modified))
            if v is not None
        }


class _Transient(Exception):
    """A failure worth another attempt (the network, a timeout, a 5xx)."""


def fetch(
    url: str, folder: Path, validators: dict[str, str] | None = None, retry: Retry = Retry()
) -> Download:
    """GET ``url`` into a new file in ``folder``, conditionally when ``validators`` (the
    ``etag``/``last_modified`` of an earlier download) are given. Raises SyncError naming
    the URL when the server refuses (4xx) or keeps failing after the retries."""
    wait = retry.first_wait
    for attempt in range(1, retry.attempts + 1):
        try:
            return _fetch_once(url, folder, validators or {}, retry.timeout)
        except _Transient as exc:
            if attempt == retry.attempts:
                raise Unreachable(f"{url}: {exc} (after {attempt} attempts)") from None
            time.sleep(wait)
            wait *= 2
    raise AssertionError("unreachable")  # pragma: no cover - the loop returns or raises


def _fetch_once(url: str, folder: Path, validators: dict[str, str], timeout: float) -> Download:
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
    if "etag" in validators:
        request.add_header("If-None-Match", validators["etag"])
    if "last_modified" in validators:
        request.add_header("If-Modified-Since", validators["last_modified"])
    try:
        response = urllib.request.urlopen(request, timeout=timeout)
    except urllib.error.HTTPError as exc:
        if exc.code == 304:
            return Download(None, validators.get("etag"), validators.get("last_modified"), None)
        if exc.code >= 500 or exc.code == 429:
            raise _Transient(f"the server answered {exc.code} {exc.reason}") from None
        raise SyncError(f"{url}: the server answered {exc.code} {exc.reason}") from None
    except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
        reason = getattr(exc, "reason", exc)
        raise _Transient(f"cannot reach the server ({reason})") from None
    with (
        response,
        tempfile.NamedTemporaryFile(dir=folder, prefix="download-", delete=False) as handle,
    ):
        path = Path(handle.name)
        try:
            digest = _save(response, handle)
        except BaseException:
            handle.close()
            path.unlink(missing_ok=True)
            raise
        return Download(
            path,
            response.headers.get("ETag"),
            response.headers.get("Last-Modified"),
            digest,
        )


def _save(response: http.client.HTTPResponse, handle: IO[bytes]) -> str:
    """Copy the body into ``handle``; its SHA-256. A body shorter than the Content-Length
    the server announced, or a chunked body that breaks off, is a transient failure."""
    expected = response.headers.get("Content-Length")
    digest = hashlib.sha256()
    size = 0
    try:
        while chunk := response.read(CHUNK):
            digest.update(chunk)
            handle.write(chunk)
            size += len(chunk)
    except (http.client.IncompleteRead, TimeoutError, ConnectionError) as exc:
        raise _Transient(f"the download was cut short ({type(exc).__name__})") from None
    if expected is not None and expected.isdigit() and size != int(expected):
        raise _Transient(f"the download stopped at {size} of {expected} bytes")
    return digest.hexdigest()
