"""What a pipermail archive's pages link to: the months of its ``index.html`` and the
articles of a month's ``thread.html``, read from the links alone (no page layout is
assumed beyond Mailman 2's file names). Both patterns are anchored on fixed text and scan
each link once, so a hostile page costs time linear in its size."""

from __future__ import annotations

import re
from dataclasses import dataclass

MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
_MONTH_LINK = re.compile(
    r"""href\s*=\s*["']?(\d{4})-([A-Z][a-z]{2,8})(\.txt\.gz|\.txt|/[a-z]+\.html)["'\s>]""",
    re.IGNORECASE,
)
_ARTICLE_LINK = re.compile(r"""href\s*=\s*["']?(\d{6}\.html)["'\s>]""", re.IGNORECASE)


@dataclass(frozen=True)
class ArchiveMonth:
    """One month of the archive: its name ("2003-April") and its text file, the gzip one
    when both are offered (None: the month is only in HTML article pages)."""

    name: str
    text_file: str | None


def archive_months(index_html: str) -> list[ArchiveMonth]:
    """The months an archive's index links to, oldest first."""
    files: dict[tuple[int, int], dict[str, str]] = {}
    for match in _MONTH_LINK.finditer(index_html):
        year, month, tail = match.group(1), match.group(2).capitalize(), match.group(3)
        if month not in MONTHS:
            continue
        found = files.setdefault((int(year), MONTHS.index(month)), {})
        found[tail.lower()] = f"{year}-{month}{tail}"
    months = []
    for (year, month), links in sorted(files.items()):
        text = links.get(".txt.gz") or links.get(".txt")
        months.append(ArchiveMonth(f"{year}-{MONTHS[month]}", text))
    return months


def month_articles(thread_html: str) -> list[str]:
    """The article pages a month's ``thread.html`` links to ("000123.html"), in order."""
    return list(dict.fromkeys(m.group(1) for m in _ARTICLE_LINK.finditer(thread_html)))
