"""Two repairs to Whoosh (whoosh-reloaded, pinned), applied when this module is imported
(``app.search.index_store`` does, before any index is opened). Each has a test that fails
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

3. Field lengths. Writing a segment looks up, for every posting, the length of its field in
   its document (each block records its shortest and longest), and scoring a search does
   for every match. Whoosh reads each of those one-byte lengths through a file read of the
   segment's length column: on the twisted-python archive, a sixth of the time spent
   indexing. The column is read once per field and reader, into bytes, and looked up there.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable

from whoosh.codec import base as whoosh_codec
from whoosh.codec import whoosh3
from whoosh.filedb import structfile
from whoosh.util.numeric import byte_to_length

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


#: Whoosh's own reading of field lengths, which the repair replaces (kept for its test).
WHOOSH_DOC_FIELD_LENGTH = whoosh3.W3PerDocReader.doc_field_length


def _doc_field_length(
    self: whoosh3.W3PerDocReader, docnum: int, fieldname: str, default: int = 0
) -> int | None:
    # Whoosh's own answers, kept as they are: `default` for a field without lengths, and
    # None for a document whose field is empty.
    if docnum > self._doccount:
        raise IndexError(f"Asked for docnum {docnum!r} of {self._doccount}")
    columns: dict[str, bytes | None] = self.__dict__.setdefault("_lengths_in_memory", {})
    if fieldname not in columns:
        reader = self._cached_reader(whoosh3._lenfield(fieldname), whoosh3.LENGTHS_COLUMN)
        # One byte per document, then the column's default (0) for those never given one.
        columns[fieldname] = (
            None if reader is None else reader._dbfile.get(reader._basepos, reader._count)
        )
    column = columns[fieldname]
    if column is None:
        return default
    lbyte = column[docnum] if docnum < len(column) else 0
    return byte_to_length(lbyte) if lbyte else None


whoosh_codec.Segment._random_id = classmethod(_segment_id)
structfile.BufferFile.__init__ = _buffer_file_init
whoosh3.W3PerDocReader.doc_field_length = _doc_field_length
