"""Downloads for sync: conditional, retried, and whole or not at all.

A month file is ingested only once every byte of it is on disk: a download cut short (fewer
bytes than Content-Length, a broken chunked stream) is an error, never a shorter archive.
The server's validators (ETag, Last-Modified) are sent back, so an unchanged month costs one
small request and a 304.
"""

from __future__ import annotations

import hashlib
import http.client
import ssl
import tempfile
import time
import urllib.parse
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from app.sync.errors import SyncError, Unreachable

#: Redirects followed for one request.
MAX_REDIRECTS = 5
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
    """A 200 answer saved to ``path`` (the caller removes it), or a 304 (``path`` None),
    from ``url``: where the request ended after any redirects."""

    url: str
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


class HttpClient:
    """Conditional downloads over one kept-alive connection per server: a pass over a
    pipermail archive asks one server hundreds of small questions, and a new connection (a
    TLS handshake, on a real server) for each would cost more than the answers."""

    def __init__(self, retry: Retry = Retry()) -> None:
        self.retry = retry
        self._connections: dict[tuple[str, str, int | None], http.client.HTTPConnection] = {}

    def fetch(self, url: str, folder: Path, validators: dict[str, str] | None = None) -> Download:
        """GET ``url`` into a new file in ``folder``, conditionally when ``validators`` (the
        ``etag``/``last_modified`` of an earlier download) are given. Raises SyncError
        naming the URL when the server refuses (4xx), Unreachable when it keeps failing
        through the retries."""
        wait = self.retry.first_wait
        for attempt in range(1, self.retry.attempts + 1):
            try:
                return self._follow(url, folder, validators or {})
            except _Transient as exc:
                if attempt == self.retry.attempts:
                    raise Unreachable(f"{url}: {exc} (after {attempt} attempts)") from None
                time.sleep(wait)
                wait *= 2
        raise AssertionError("unreachable")  # pragma: no cover - the loop returns or raises

    def close(self) -> None:
        for connection in self._connections.values():
            connection.close()
        self._connections.clear()

    def _follow(self, url: str, folder: Path, validators: dict[str, str]) -> Download:
        """One attempt, following redirects (an archive moved to https, say)."""
        for _ in range(MAX_REDIRECTS + 1):
            answer = self._once(url, folder, validators)
            if isinstance(answer, Download):
                return answer
            url = answer
        raise SyncError(f"{url}: more than {MAX_REDIRECTS} redirects")

    def _once(self, url: str, folder: Path, validators: dict[str, str]) -> Download | str:
        """The answer to one request: a Download, or the URL a redirect points to."""
        parts = urllib.parse.urlsplit(url)
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        headers = {"User-Agent": USER_AGENT}
        if "etag" in validators:
            headers["If-None-Match"] = validators["etag"]
        if "last_modified" in validators:
            headers["If-Modified-Since"] = validators["last_modified"]
        response = self._request(parts, target, headers)
        try:
            status = response.status
            if status in (301, 302, 303, 307, 308) and response.getheader("Location"):
                response.read()
                return urllib.parse.urljoin(url, response.getheader("Location"))
            if status == 304:
                response.read()
                etag, modified = validators.get("etag"), validators.get("last_modified")
                return Download(url, None, etag, modified, None)
            if status >= 500 or status == 429:
                response.read()
                raise _Transient(f"the server answered {status} {response.reason}")
            if status != 200:
                response.read()
                raise SyncError(f"{url}: the server answered {status} {response.reason}")
            return _saved(url, response, folder)
        except BaseException:
            self._drop(parts)  # whatever is left of the answer must not be read as the next
            raise
        finally:
            if response.will_close:
                self._drop(parts)

    def _request(
        self, parts: urllib.parse.SplitResult, target: str, headers: dict[str, str]
    ) -> http.client.HTTPResponse:
        """Send the request on the server's connection. A kept-alive connection the server
        has closed meanwhile fails at once: it is replaced once without waiting."""
        for fresh in (False, True):
            key = (parts.scheme, parts.hostname or "", parts.port)
            reused = key in self._connections and not fresh
            connection = self._connections.get(key) if reused else None
            if connection is None:
                self._drop(parts)
                connection = self._connect(parts)
                self._connections[key] = connection
            try:
                connection.request("GET", target, headers=headers)
                return connection.getresponse()
            except (OSError, http.client.HTTPException) as exc:
                self._drop(parts)
                if not reused:
                    raise _Transient(
                        f"cannot reach the server ({exc or type(exc).__name__})"
                    ) from None
        raise AssertionError("unreachable")  # pragma: no cover - the loop returns or raises

    def _connect(self, parts: urllib.parse.SplitResult) -> http.client.HTTPConnection:
        timeout = self.retry.timeout
        if parts.scheme == "https":
            return http.client.HTTPSConnection(
                parts.hostname or "",
                parts.port,
                timeout=timeout,
                context=ssl.create_default_context(),
            )
        if parts.scheme == "http":
            return http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=timeout)
        raise SyncError(f"{urllib.parse.urlunsplit(parts)}: only http and https URLs are followed")

    def _drop(self, parts: urllib.parse.SplitResult) -> None:
        connection = self._connections.pop((parts.scheme, parts.hostname or "", parts.port), None)
        if connection is not None:
            connection.close()


def _saved(url: str, response: http.client.HTTPResponse, folder: Path) -> Download:
    """A 200 answer's body in a new file of ``folder``, or nothing (the file removed)."""
    with tempfile.NamedTemporaryFile(dir=folder, prefix="download-", delete=False) as handle:
        path = Path(handle.name)
        try:
            digest = _save(response, handle)
        except BaseException:
            handle.close()
            path.unlink(missing_ok=True)
            raise
    etag, modified = response.getheader("ETag"), response.getheader("Last-Modified")
    return Download(url, path, etag, modified, digest)


def _save(response: http.client.HTTPResponse, handle: IO[bytes]) -> str:
    """Copy the body into ``handle``; its SHA-256. A body shorter than the Content-Length
    the server announced, or a chunked body that breaks off, is a transient failure."""
    expected = response.getheader("Content-Length")
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
