"""A message being read: held in memory up to the size limit, spilled to a file beyond it.

Readers add a message's bytes piece by piece. Once the message passes
``SizeLimit.max_bytes``, what was held goes to a spill file and so does the rest, so no
reader ever holds more than the limit (plus one piece) of a message, however large the
message is or however well a gzip archive compressed it. Such a message comes out with only
its first bytes in memory and the ``Spilled`` file beside them; ``parse_message`` rejects
it and the store moves the file into the quarantine, so nothing is lost.
"""

from __future__ import annotations

import hashlib
import tempfile
from pathlib import Path
from typing import IO, BinaryIO

from ingest.records import SizeLimit, Spilled

#: How much a reader asks of a file at a time.
BLOCK = 1 << 20
#: What an oversized message keeps in memory: enough for its header block, for the record.
HEAD_BYTES = 64 * 1024


class MessageBuffer:
    """The bytes of one message, in memory until they pass the limit, then in a file."""

    def __init__(self, limit: SizeLimit) -> None:
        self.limit = limit
        self._reset()

    def _reset(self) -> None:
        self.size = 0
        self._pieces: list[bytes] = []
        self._spill: IO[bytes] | None = None
        self._head = b""
        self._digest = hashlib.sha256()

    def add(self, piece: bytes) -> None:
        self.size += len(piece)
        if self._spill is not None:
            self._write(piece)
            return
        self._pieces.append(piece)
        if self.size > self.limit.max_bytes:
            self._start_spilling()

    def take(self) -> tuple[bytes, Spilled | None]:
        """The message read so far (its bytes, or its head and its spill file), leaving the
        buffer empty for the next one."""
        if self._spill is None:
            taken: tuple[bytes, Spilled | None] = (b"".join(self._pieces), None)
        else:
            self._spill.close()
            spilled = Spilled(
                path=Path(self._spill.name),
                size=self.size,
                sha256=self._digest.hexdigest(),
                limit=self.limit.max_bytes,
            )
            taken = (self._head, spilled)
        self._reset()
        return taken

    def _start_spilling(self) -> None:
        folder = self.limit.spill_dir
        if folder is not None:
            folder.mkdir(parents=True, exist_ok=True)
        self._spill = tempfile.NamedTemporaryFile(  # noqa: SIM115 (closed by take())
            dir=folder, prefix=".oversized-", suffix=".eml", delete=False
        )
        held, self._pieces = self._pieces, []
        head = bytearray()
        for piece in held:
            if len(head) < HEAD_BYTES:
                head += piece[: HEAD_BYTES - len(head)]
            self._write(piece)
        self._head = bytes(head)

    def _write(self, piece: bytes) -> None:
        assert self._spill is not None
        self._digest.update(piece)
        self._spill.write(piece)


def read_bounded(fh: BinaryIO, limit: SizeLimit) -> tuple[bytes, Spilled | None]:
    """A whole stream as one message (an ``.eml`` file, a maildir file, an article page)."""
    buffer = MessageBuffer(limit)
    while chunk := fh.read(BLOCK):
        buffer.add(chunk)
    return buffer.take()
