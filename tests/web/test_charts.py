"""The dashboard's SVG chart builders: pure functions, no Flask, no servers."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import date

import pytest

from tutormax.web import charts

SVG = "{http://www.w3.org/2000/svg}"


def parse(svg: str) -> ET.Element:
    """The chart as XML: it must be well-formed to be inlined in HTML."""
    return ET.fromstring(svg)


@pytest.mark.parametrize(("score", "band"), [
    (None, None), (0.0, "needs-support"), (0.599, "needs-support"), (0.6, "approaching"),
    (0.79, "approaching"), (0.8, "mastered"), (1.0, "mastered"),
])
def test_mastery_band_bounds(score, band):
    assert charts.mastery_band(score) == band


@pytest.mark.parametrize(("value", "shown"), [(None, "—"), (0.6667, "67%"), (1.0, "100%"), (0.0, "0%")])
def test_percent(value, shown):
    assert charts.percent(value) == shown


@pytest.mark.parametrize(("value", "shown"), [(None, "—"), (72.5, "72.5"), (52.0, "52"), (4.456, "4.46"), (0, "0")])
def test_number(value, shown):
    assert charts.number(value) == shown


def test_histogram_bins_edges_go_up_and_the_top_is_inclusive():
    # [0, .2) [.2, .4) [.4, .6) [.6, .8) [.8, 1]: 0.6 (3 of 5) belongs to the 4th bin, 1.0 to the last,
    # and out-of-range values are clamped into the end bins.
    bins = charts.histogram_bins([0.0, 0.2, 0.6, 2 / 3, 1.0, 1.0, -0.1, 1.5], bins=5)
    assert [count for _, _, count in bins] == [2, 1, 0, 2, 3]
    assert [(low, high) for low, high, _ in bins][2] == (0.4, 0.6)


def test_histogram_bins_rejects_an_empty_range():
    with pytest.raises(ValueError):
        charts.histogram_bins([0.5], bins=0)
    with pytest.raises(ValueError):
        charts.histogram_bins([0.5], low=1, high=1)


def test_hbar_chart_scales_bars_escapes_labels_and_lists_the_numbers():
    svg = charts.hbar_chart([("S1", 0.75), ("<script>", None), ("S3", 1.0)], title="Mastery & more",
                            color=charts.mastery_color)
    root = parse(svg)
    assert root.get("role") == "img" and root.get("aria-label") == "Mastery & more"
    assert root.find(f"{SVG}title").text == "Mastery & more"
    # The description carries every figure, a null as a dash.
    assert root.find(f"{SVG}desc").text == "S1: 75%; <script>: —; S3: 100%"
    assert "<script>" not in svg
    rects = root.iter(f"{SVG}rect")
    tracks_and_bars = [(r.get("width"), r.get("fill")) for r in rects]
    # Bar room = 400 − 150 − 50 = 200: S1's bar is 0.75 × 200 = 150 in the approaching color,
    # the null row only has its track, S3 fills the track in the mastered color.
    assert ("150.0", "#b7791f") in tracks_and_bars
    assert ("200.0", "#2e7d4f") in tracks_and_bars
    assert len(tracks_and_bars) == 3 + 2


def test_column_chart_heights_are_proportional_to_the_peak():
    root = parse(charts.column_chart([("a", 1), ("b", 4), ("c", 0)], title="Counts"))
    heights = [float(r.get("height")) for r in root.iter(f"{SVG}rect")]
    # Plot height 220 − 36 − 22 = 162: 4 is the peak (162), 1 is a quarter (40.5), 0 draws nothing.
    assert heights == [40.5, 162.0, 0.0]
    assert root.find(f"{SVG}desc").text == "a: 1; b: 4; c: 0"


def test_line_chart_breaks_on_nulls_and_marks_every_point():
    start, end = date(2026, 1, 1), date(2026, 1, 11)
    points = [(date(2026, 1, 1), 0.0), (date(2026, 1, 6), 50.0), (date(2026, 1, 7), None),
              (date(2026, 1, 9), 100.0), (date(2026, 1, 11), 75.0)]
    root = parse(charts.line_chart(points, title="Engagement", start=start, end=end))
    lines = list(root.iter(f"{SVG}polyline"))
    circles = list(root.iter(f"{SVG}circle"))
    # Two segments around the null; four markers.
    assert len(lines) == 2 and len(circles) == 4
    # Plot width 400 − 40 − 12 = 348 over 10 days, height 200 − 14 − 30 = 156:
    # day 0 at x=40, value 0 at y=170; day 5 at x=40 + 174 = 214, value 50 at y=14 + 78 = 92.
    assert lines[0].get("points") == "40.0,170.0 214.0,92.0"
    assert circles[3].find(f"{SVG}title").text == "2026-01-11: 75"


def test_empty_charts_say_so():
    # No rows, rows that are all null or all zero: a sentence, not empty axes.
    for svg in (charts.hbar_chart([], title="x"), charts.column_chart([], title="x"),
                charts.hbar_chart([("S1", None), ("S2", None)], title="x"),
                charts.column_chart([("0–20%", 0), ("20–40%", 0)], title="x"),
                charts.line_chart([(date(2026, 1, 1), None)], title="x", start=date(2026, 1, 1),
                                  end=date(2026, 1, 2))):
        root = parse(svg)
        assert root.find(f"{SVG}text").text == "No data yet"
        assert re.search(r'aria-label="x"', svg)


def test_series_chart_draws_one_line_per_series_with_a_legend_and_breaks_on_nulls():
    weeks = ["2026-W40", "2026-W41", "2026-W42"]
    svg = charts.series_chart(weeks, [("Student", [50.0, None, 100.0]), ("Class", [60.0, 70.0, 80.0])],
                              title="Scores")
    root = parse(svg)
    # Plot width 400 − 40 − 12 = 348 over 2 steps → x = 40, 214, 388; height 220 − 30 − 30 = 160 from y = 30:
    # 60 → 30 + 160 − 96 = 94, 70 → 78, 80 → 62; the student's null leaves two lone points, no line.
    lines = [p.get("points") for p in root.iter(f"{SVG}polyline")]
    assert lines == ["40.0,94.0 214.0,78.0 388.0,62.0"]
    titles = [c.find(f"{SVG}title").text for c in root.iter(f"{SVG}circle")]
    assert titles == ["Student, 2026-W40: 50", "Student, 2026-W42: 100",
                      "Class, 2026-W40: 60", "Class, 2026-W41: 70", "Class, 2026-W42: 80"]
    assert root.find(f"{SVG}desc").text == ("Student: 2026-W40 50, 2026-W41 —, 2026-W42 100; "
                                            "Class: 2026-W40 60, 2026-W41 70, 2026-W42 80")
    legend = [t.text for t in root.iter(f"{SVG}text") if t.get("y") == "16"]
    assert legend == ["Student", "Class"]


def test_series_chart_without_any_value_says_so():
    root = parse(charts.series_chart(["2026-W40"], [("Class", [None])], title="x"))
    assert root.find(f"{SVG}text").text == "No data yet"
    assert parse(charts.series_chart([], [], title="x")).find(f"{SVG}text").text == "No data yet"
