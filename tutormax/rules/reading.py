"""Reading-domain formulas of SPEC 3.2 (book bands, reading profiles) as pure functions."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

BANDS: tuple[str, ...] = (
    "beginner",
    "early_elementary",
    "late_elementary",
    "middle_school",
    "advanced",
)

# Inclusive upper reading level of each band but the last; above the last is "advanced".
_LEVEL_CEILINGS: tuple[tuple[float, str], ...] = (
    (2.0, "beginner"),
    (4.0, "early_elementary"),
    (6.0, "late_elementary"),
    (8.0, "middle_school"),
)

_RECENT_WINDOW = 5
_TREND_WINDOW = 10
_TREND_MIN_CHECKOUTS = 4

TREND_INSUFFICIENT_DATA = "insufficient_data"
TREND_ADVANCING = "advancing"
TREND_DECLINING = "declining"
TREND_STEADY = "steady"


def level_to_band(level: float | None) -> str | None:
    """Band of a numeric reading level (inclusive upper thresholds); None when there is no level."""
    if level is None:
        return None
    if not level >= 0:  # also rejects NaN, which would otherwise fall through to "advanced"
        raise ValueError(f"reading_level must be a number >= 0, got {level!r}")
    for ceiling, band in _LEVEL_CEILINGS:
        if level <= ceiling:
            return band
    return BANDS[-1]


def book_band(difficulty_band: str | None, reading_level: float | None) -> str | None:
    """A book's band: its explicit difficulty_band when set, else the band of its reading_level."""
    if difficulty_band is not None:
        _check_band(difficulty_band)
        return difficulty_band
    return level_to_band(reading_level)


def choose_catalog_entry(entries: Iterable[Mapping[str, Any]]) -> Mapping[str, Any] | None:
    """The newest BOOK_CATALOGED entry of one book by (timestamp, seq); None when there is none."""
    ordered = _in_time_order(entries)
    return ordered[-1] if ordered else None


def catalog_band(entries: Iterable[Mapping[str, Any]]) -> str | None:
    """The band of a book given all its BOOK_CATALOGED entries (None if uncataloged or unbanded)."""
    entry = choose_catalog_entry(entries)
    if entry is None:
        return None
    return book_band(entry.get("difficulty_band"), entry.get("reading_level"))


def reading_profile(checkouts: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """A student's reading profile from all their checkouts (each with timestamp, seq and band)."""
    ordered = _in_time_order(checkouts)
    banded = [c["band"] for c in ordered if c["band"] is not None]
    for band in banded:
        _check_band(band)
    counts = Counter(banded)
    dominant = _dominant_band(counts)
    return {
        "histogram": {band: counts[band] for band in BANDS if counts[band] > 0},
        "total_checkouts": len(ordered),
        "unbanded_checkouts": len(ordered) - len(banded),
        "dominant_band": dominant,
        "recent_band": _recent_band(banded[-_RECENT_WINDOW:]),
        "trend": _trend(banded[-_TREND_WINDOW:]),
        "stability": _stability(counts[dominant], len(banded)) if dominant else None,
    }


def _check_band(band: str) -> None:
    if band not in BANDS:
        raise ValueError(f"unknown band {band!r}; expected one of {BANDS}")


def _in_time_order(events: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    # seq (the event's database id) breaks timestamp ties; two rows with one seq would make
    # the order depend on the input order, so that is a caller bug, not something to guess at.
    ordered = sorted(events, key=lambda e: (e["timestamp"], e["seq"]))
    seqs = [e["seq"] for e in ordered]
    if len(set(seqs)) != len(seqs):
        raise ValueError("events must have distinct seq values")
    return ordered


def _dominant_band(counts: Counter[str]) -> str | None:
    if not counts:
        return None
    return max(counts, key=lambda band: (counts[band], BANDS.index(band)))


def _recent_band(recent: list[str]) -> str | None:
    if not recent:
        return None
    counts = Counter(recent)
    top = max(counts.values())
    # Walking back from the newest checkout, the first band with the top count is the one
    # whose most recent checkout is the latest among the tied bands.
    return next(band for band in reversed(recent) if counts[band] == top)


def _trend(window: list[str]) -> str:
    if len(window) < _TREND_MIN_CHECKOUTS:
        return TREND_INSUFFICIENT_DATA
    half = len(window) // 2
    earlier = sum(BANDS.index(band) for band in window[:half])
    later = sum(BANDS.index(band) for band in window[-half:])
    # mean(later) - mean(earlier) = (later - earlier) / half; compared in integers so the
    # 0.5 boundaries are exact.
    doubled_gap = 2 * (later - earlier)
    if doubled_gap >= half:
        return TREND_ADVANCING
    if doubled_gap <= -half:
        return TREND_DECLINING
    return TREND_STEADY


def _stability(dominant_count: int, banded_count: int) -> float:
    # Half-up, as a reader expects (5/8 = 0.625 -> 0.63); round() would give 0.62.
    ratio = Decimal(dominant_count) / Decimal(banded_count)
    return float(ratio.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))
