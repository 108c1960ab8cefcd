"""Finding archives on disk and splitting them into raw messages.

Each reader yields ``RawMessage`` objects lazily, so memory stays flat however large the
archive is. ``iter_archive`` picks the reader for a path (or takes the forced format).
"""

from __future__ import annotations

from ingest.sources.detect import FORMATS, SourceError, detect_format, iter_archive, list_files

__all__ = ["FORMATS", "SourceError", "detect_format", "iter_archive", "list_files"]
