"""Server-side SVG charts for the /dashboard pages: plain data in, an SVG string out.

No Flask here, and no JavaScript in the output: every chart is inline SVG with a
`<title>`, an `aria-label` and a `<desc>` listing its numbers, so screen readers
and text browsers get the figures too. Every piece of text is escaped, because
labels are producer-supplied ids.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from datetime import date
from html import escape

# Mastery bands (0–1 mastery score): lower bound, CSS class / name, bar color.
MASTERY_BANDS: tuple[tuple[float, str, str], ...] = (
    (0.8, "mastered", "#2e7d4f"),
    (0.6, "approaching", "#b7791f"),
    (0.0, "needs-support", "#c0392b"),
)
NEUTRAL_COLOR = "#3b6ea5"
FONT = 'font-family="system-ui, -apple-system, Segoe UI, sans-serif" font-size="14"'
# A viewBox near the size charts are shown at (CSS caps them at 30rem) keeps their text readable.
WIDTH = 400


def mastery_band(score: float | None) -> str | None:
    """The band name of a 0–1 mastery score (None when not assessed)."""
    if score is None:
        return None
    for lower, name, _ in MASTERY_BANDS:
        if score >= lower:
            return name
    return MASTERY_BANDS[-1][1]


def mastery_color(score: float | None) -> str:
    """The bar color of a 0–1 mastery score's band."""
    band = mastery_band(score)
    return next((color for _, name, color in MASTERY_BANDS if name == band), NEUTRAL_COLOR)


def percent(value: float | None) -> str:
    """A 0–1 fraction as a whole percentage ('—' when null)."""
    return "—" if value is None else f"{value * 100:.0f}%"


def number(value: float | None) -> str:
    """A number with at most 2 decimals and no trailing zeros ('—' when null)."""
    if value is None:
        return "—"
    return f"{value:.2f}".rstrip("0").rstrip(".")


def histogram_bins(values: Sequence[float], bins: int = 5, low: float = 0.0,
                   high: float = 1.0) -> list[tuple[float, float, int]]:
    """Counts of `values` in `bins` equal bins over [low, high]: (bin low, bin high, count).

    The last bin includes `high`; values outside the range are clamped into the end bins.
    """
    if bins < 1 or high <= low:
        raise ValueError("need bins >= 1 and high > low")
    span = high - low
    counts = [0] * bins
    for value in values:
        # Multiply rather than divide by the bin width: 0.6 lands in [0.6, 0.8), not below it.
        index = math.floor((value - low) * bins / span)
        counts[min(max(index, 0), bins - 1)] += 1
    return [(low + span * i / bins, low + span * (i + 1) / bins, counts[i]) for i in range(bins)]


def _open(title: str, height: int, summary: str) -> str:
    return (f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 {WIDTH} {height}" '
            f'role="img" aria-label="{escape(title)}" {FONT}>'
            f"<title>{escape(title)}</title><desc>{escape(summary)}</desc>")


def _empty(title: str) -> str:
    return (_open(title, 60, "No data.")
            + f'<text x="{WIDTH / 2:g}" y="35" text-anchor="middle" fill="#555">No data yet</text></svg>')


def _shorten(label: str, limit: int) -> str:
    return label if len(label) <= limit else label[: limit - 1] + "…"


def _polylines(points: Sequence[tuple[float, float] | None], color: str, dash: str = "") -> list[str]:
    """One polyline per run of points between nulls (a lone point draws none: its marker shows it)."""
    segments: list[list[tuple[float, float]]] = [[]]
    for point in points:
        if point is None:
            segments.append([])
        else:
            segments[-1].append(point)
    return [f'<polyline points="{" ".join(f"{x:.1f},{y:.1f}" for x, y in segment)}" fill="none" '
            f'stroke="{color}" stroke-width="2"{dash}/>' for segment in segments if len(segment) > 1]


def hbar_chart(items: Sequence[tuple[str, float | None]], *, title: str, max_value: float = 1.0,
               value_format: Callable[[float | None], str] = percent,
               color: Callable[[float | None], str] | None = None) -> str:
    """Horizontal bars, one per (label, value) row; a null value draws no bar (no value at all: "No data yet")."""
    if all(value is None for _, value in items):
        return _empty(title)
    label_width, value_width, row, top = 150, 50, 28, 8
    bar_room = WIDTH - label_width - value_width
    height = top * 2 + row * len(items)
    summary = "; ".join(f"{label}: {value_format(value)}" for label, value in items)
    parts = [_open(title, height, summary)]
    for i, (label, value) in enumerate(items):
        y = top + i * row
        shown = value_format(value)
        parts.append(f'<g><title>{escape(f"{label}: {shown}")}</title>')
        parts.append(f'<text x="{label_width - 8}" y="{y + 17}" text-anchor="end">'
                     f"{escape(_shorten(label, 20))}</text>")
        # The track shows the full scale, so a short bar reads as a fraction of it.
        parts.append(f'<rect x="{label_width}" y="{y + 4}" width="{bar_room}" height="{row - 8}" fill="#eef1f4"/>')
        if value is not None and max_value > 0:
            length = max(0.0, min(value / max_value, 1.0)) * bar_room
            fill = color(value) if color else NEUTRAL_COLOR
            parts.append(f'<rect x="{label_width}" y="{y + 4}" width="{length:.1f}" height="{row - 8}" '
                         f'fill="{fill}"/>')
        parts.append(f'<text x="{label_width + bar_room + 6}" y="{y + 17}">{escape(shown)}</text></g>')
    parts.append("</svg>")
    return "".join(parts)


def column_chart(items: Sequence[tuple[str, int | float]], *, title: str,
                 value_format: Callable[[float], str] = number, y_label: str = "") -> str:
    """Vertical columns, one per (label, value ≥ 0) with the value written above it (all zero: "No data yet")."""
    if not any(value for _, value in items):
        return _empty(title)
    height, left, bottom, top = 220, 28, 36, 22
    plot_height = height - bottom - top
    slot = (WIDTH - left - 10) / len(items)
    peak = max((value for _, value in items), default=0) or 1
    summary = "; ".join(f"{label}: {value_format(value)}" for label, value in items)
    parts = [_open(title, height, summary)]
    baseline = height - bottom
    parts.append(f'<line x1="{left}" y1="{baseline}" x2="{WIDTH - 10}" y2="{baseline}" stroke="#555"/>')
    if y_label:
        parts.append(f'<text x="10" y="{top + plot_height / 2:g}" text-anchor="middle" '
                     f'transform="rotate(-90 10 {top + plot_height / 2:g})" fill="#555">{escape(y_label)}</text>')
    for i, (label, value) in enumerate(items):
        bar_height = max(value, 0) / peak * plot_height
        x = left + i * slot + slot * 0.15
        centre = left + i * slot + slot / 2
        shown = value_format(value)
        parts.append(f'<g><title>{escape(f"{label}: {shown}")}</title>')
        parts.append(f'<rect x="{x:.1f}" y="{baseline - bar_height:.1f}" width="{slot * 0.7:.1f}" '
                     f'height="{bar_height:.1f}" fill="{NEUTRAL_COLOR}"/>')
        parts.append(f'<text x="{centre:.1f}" y="{baseline - bar_height - 5:.1f}" text-anchor="middle">'
                     f"{escape(shown)}</text>")
        parts.append(f'<text x="{centre:.1f}" y="{baseline + 16}" text-anchor="middle">'
                     f"{escape(_shorten(label, max(int(slot / 7.5), 4)))}</text></g>")
    parts.append("</svg>")
    return "".join(parts)


def line_chart(points: Sequence[tuple[date, float | None]], *, title: str, start: date, end: date,
               y_min: float = 0.0, y_max: float = 100.0,
               value_format: Callable[[float | None], str] = number) -> str:
    """A daily line over [start, end]; a null value breaks the line, every point gets a marker."""
    known = [(day, value) for day, value in points if value is not None]
    if not known:
        return _empty(title)
    height, left, right, top, bottom = 200, 40, 12, 14, 30
    plot_w, plot_h = WIDTH - left - right, height - top - bottom
    span_days = max((end - start).days, 1)
    span_y = (y_max - y_min) or 1

    def xy(day: date, value: float) -> tuple[float, float]:
        clamped = min(max(value, y_min), y_max)
        return (left + (day - start).days / span_days * plot_w,
                top + plot_h - (clamped - y_min) / span_y * plot_h)

    summary = "; ".join(f"{day.isoformat()}: {value_format(value)}" for day, value in points)
    parts = [_open(title, height, summary)]
    for step in range(5):
        tick = y_min + span_y * step / 4
        _, y = xy(start, tick)
        parts.append(f'<line x1="{left}" y1="{y:.1f}" x2="{WIDTH - right}" y2="{y:.1f}" stroke="#e3e6ea"/>')
        parts.append(f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" fill="#555">'
                     f"{escape(value_format(tick))}</text>")
    for day, anchor in ((start, "start"), (end, "end")):
        x, _ = xy(day, y_min)
        parts.append(f'<text x="{x:.1f}" y="{height - 10}" text-anchor="{anchor}" fill="#555">'
                     f"{day.isoformat()}</text>")
    in_order = sorted(points, key=lambda p: p[0])
    parts += _polylines([None if value is None else xy(day, value) for day, value in in_order], NEUTRAL_COLOR)
    for day, value in known:
        x, y = xy(day, value)
        parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{NEUTRAL_COLOR}">'
                     f"<title>{day.isoformat()}: {escape(value_format(value))}</title></circle>")
    parts.append("</svg>")
    return "".join(parts)


# Series colors of a multi-line chart, told apart by dash pattern as well as color.
SERIES_STYLES: tuple[tuple[str, str], ...] = ((NEUTRAL_COLOR, ""), ("#6b4400", ' stroke-dasharray="6 4"'))


def series_chart(labels: Sequence[str], series: Sequence[tuple[str, Sequence[float | None]]], *, title: str,
                 y_min: float = 0.0, y_max: float = 100.0,
                 value_format: Callable[[float | None], str] = number) -> str:
    """Lines over evenly spaced categories (e.g. ISO weeks), one per (name, values aligned with `labels`);
    a null value breaks its line. A legend names each series; every point has a marker with its value."""
    if not labels or all(value is None for _, values in series for value in values):
        return _empty(title)
    height, left, right, top, bottom = 220, 40, 12, 30, 30
    plot_w, plot_h = WIDTH - left - right, height - top - bottom
    step = plot_w / max(len(labels) - 1, 1)
    span_y = (y_max - y_min) or 1

    def xy(index: int, value: float) -> tuple[float, float]:
        clamped = min(max(value, y_min), y_max)
        x = left + (index * step if len(labels) > 1 else plot_w / 2)
        return x, top + plot_h - (clamped - y_min) / span_y * plot_h

    summary = "; ".join(
        f"{name}: " + ", ".join(f"{label} {value_format(value)}" for label, value in zip(labels, values))
        for name, values in series)
    parts = [_open(title, height, summary)]
    for tick_step in range(5):
        tick = y_min + span_y * tick_step / 4
        _, y = xy(0, tick)
        parts.append(f'<line x1="{left}" y1="{y:.1f}" x2="{WIDTH - right}" y2="{y:.1f}" stroke="#e3e6ea"/>')
        parts.append(f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" fill="#555">'
                     f"{escape(value_format(tick))}</text>")
    for index, anchor in ((0, "start"), (len(labels) - 1, "end")):
        x, _ = xy(index, y_min)
        parts.append(f'<text x="{x:.1f}" y="{height - 10}" text-anchor="{anchor if len(labels) > 1 else "middle"}" '
                     f'fill="#555">{escape(labels[index])}</text>')
    for number_, ((name, values), (color, dash)) in enumerate(zip(series, SERIES_STYLES)):
        legend_x = left + number_ * 160
        parts.append(f'<line x1="{legend_x}" y1="12" x2="{legend_x + 24}" y2="12" stroke="{color}" '
                     f'stroke-width="2"{dash}/><text x="{legend_x + 30}" y="16">{escape(_shorten(name, 18))}</text>')
        parts += _polylines([None if value is None else xy(index, value) for index, value in enumerate(values)],
                            color, dash)
        for index, value in enumerate(values):
            if value is not None:
                x, y = xy(index, value)
                parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{color}">'
                             f"<title>{escape(f'{name}, {labels[index]}: {value_format(value)}')}</title></circle>")
    parts.append("</svg>")
    return "".join(parts)
