"""The dashboard's chart, drawn on the server as SVG: no JavaScript, nothing to load, CSP-clean
(geometry in attributes, no inline style)."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from datetime import date, timedelta
from typing import Any

WIDTH, HEIGHT = 720, 220
MARGIN_LEFT, MARGIN_BOTTOM, MARGIN_TOP = 40, 28, 12


@dataclasses.dataclass(frozen=True)
class Bar:
    day: date
    series: str  # "calls" or "tokens"
    value: int
    x: float
    y: float
    width: float
    height: float


@dataclasses.dataclass(frozen=True)
class Chart:
    bars: list[Bar]
    peak: int
    labels: list[tuple[float, str]]  # x, day label (every few days)
    width: int = WIDTH
    height: int = HEIGHT
    baseline: float = HEIGHT - MARGIN_BOTTOM
    left: int = MARGIN_LEFT


def usage_chart(per_day: Iterable[dict[str, Any]], *, days: int, today: date) -> Chart:
    """Calls and tokens spent per day (UTC) for the ``days`` ending ``today``, as grouped bars."""
    by_day = {row["date"]: row for row in per_day}
    slots = [today - timedelta(days=days - 1 - i) for i in range(days)]
    peak = max([1, *(max(row["calls"], row["tokens_spent"]) for row in by_day.values())])
    slot = (WIDTH - MARGIN_LEFT) / days
    bar_width = max(1.0, slot * 0.4)
    plot_height = HEIGHT - MARGIN_BOTTOM - MARGIN_TOP
    bars: list[Bar] = []
    labels: list[tuple[float, str]] = []
    for i, day in enumerate(slots):
        row = by_day.get(day, {"calls": 0, "tokens_spent": 0})
        left = MARGIN_LEFT + i * slot + slot * 0.1
        for offset, series in ((0.0, "calls"), (bar_width, "tokens")):
            value = int(row["calls"] if series == "calls" else row["tokens_spent"])
            height = plot_height * value / peak
            y = HEIGHT - MARGIN_BOTTOM - height
            bars.append(
                Bar(day, series, value, round(left + offset, 1), round(y, 1), round(bar_width, 1), round(height, 1))
            )
        if i % 5 == days % 5 or day == today:
            labels.append((round(left + bar_width, 1), day.strftime("%d %b")))
    return Chart(bars=bars, peak=peak, labels=labels)
