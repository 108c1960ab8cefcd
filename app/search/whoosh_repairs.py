"""Two repairs to Whoosh (whoosh-reloaded, pinned), applied when this module is imported
(``app.search.store`` does, before any index is opened). Each has a test that fails
without it.

1. Segment names. Whoosh names new segments from the global `random` generator. Anything
   in the process that seeds it (Hypothesis does, for every example it runs) makes a later
   writer draw a name already on disk and fail while assembling the segment; names from
   the operating system's generator cannot repeat that way.

2. Reading memory-mapped segments. Whoosh reads each file of a mapped compound segment
   through a ``BytesIO`` built over the map, and building it copies the file: a process
   searching the twisted-python archive peaked at 473 MB instead of 198 MB
   (``bench/search.py --skip-build``), every web worker holding its own copy of the whole
   index, and a writer replacing 2,400 documents took 475 MB. `MappedFile` reads straight
   from the map, so the pages stay shared, clean and the operating system's to drop;
   searches are as fast as before.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable

from whoosh.codec import base as whoosh_codec
from whoosh.filedb import structfile

#: How far readline() looks at a time (Whoosh's pickled data rarely has long lines).
_LINE_STEP = 256


def _segment_id(_cls: type, size: int = 16) -> str:
    return secrets.token_hex(size // 2)


class MappedFile:
    """A read-only file over a buffer (a memoryview of a map) that never copies more than
    what each read returns: what ``BytesIO`` offers Whoosh's readers, without its copy."""

    def __init__(self, buffer: memoryview) -> None:
        self._buffer = buffer
        self._position = 0

    def read(self, size: int | None = -1) -> bytes:
        start = self._position
        end = len(self._buffer) if size is None or size < 0 else start + size
        data = bytes(self._buffer[start:end])
        self._position = start + len(data)
        return data

    def readline(self, size: int | None = -1) -> bytes:
        limit = len(self._buffer) if size is None or size < 0 else self._position + size
        limit = min(limit, len(self._buffer))
        end = self._position
        while end < limit:
            found = bytes(self._buffer[end : min(end + _LINE_STEP, limit)]).find(b"\n")
            if found >= 0:
                end += found + 1
                break
            end = min(end + _LINE_STEP, limit)
        line = bytes(self._buffer[self._position : end])
        self._position = end
        return line

    def seek(self, offset: int, whence: int = 0) -> int:
        base = (0, self._position, len(self._buffer))[whence]
        self._position = max(0, base + offset)
        return self._position

    def tell(self) -> int:
        return self._position

    def close(self) -> None:
        self._buffer = memoryview(b"")


def _buffer_file_init(
    self: structfile.BufferFile,
    buf: memoryview,
    name: str | None = None,
    onclose: Callable[..., object] | None = None,
) -> None:
    # The attributes Whoosh's own __init__ sets, with a MappedFile for its BytesIO.
    self._buf = buf
    self._name = name
    self.file = MappedFile(buf)
    self.onclose = onclose
    self.is_real = False
    self.is_closed = False


whoosh_codec.Segment._random_id = classmethod(_segment_id)
structfile.BufferFile.__init__ = _buffer_file_init
