"""Charts as inline SVG, drawn on the server: no script, nothing for the CSP to allow."""

from __future__ import annotations

from datetime import datetime

from markupsafe import Markup, escape

from app.web.threads_view import daily_counts


def bars(
    values: list[int], labels: list[str], *, width: int = 120, height: int = 24, title: str = ""
) -> Markup:
    """A bar sparkline; each bar carries its label and count as a tooltip for readers."""
    if not values:
        return Markup("")
    top = max(values) or 1
    step = width / len(values)
    parts = [
        f'<svg class="chart" role="img" viewBox="0 0 {width} {height}" width="{width}" '
        f'height="{height}" aria-label="{escape(title)}"><title>{escape(title)}</title>'
    ]
    for i, (value, label) in enumerate(zip(values, labels, strict=True)):
        bar_height = max(1.0, height * value / top) if value else 0.0
        parts.append(
            f'<rect x="{i * step:.1f}" y="{height - bar_height:.1f}" width="{max(step - 1, 1):.1f}"'
            f' height="{bar_height:.1f}"><title>{escape(label)}: {value}</title></rect>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))


def timeline(dates: list[datetime | None], title: str, bar_width: int) -> Markup:
    """Messages per day from the first to the last, one bar a day, at most 600 px wide."""
    days = daily_counts(dates)
    return bars(
        [n for _, n in days],
        [day.isoformat() for day, _ in days],
        width=min(600, max(60, bar_width * len(days))),
        height=32,
        title=title,
    )
