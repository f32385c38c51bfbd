"""Table-driven tests of the reading formulas (SPEC 3.2); expected values worked out by hand."""

from __future__ import annotations

import math
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tutormax.rules.reading import (
    BANDS,
    book_band,
    catalog_band,
    choose_catalog_entry,
    level_to_band,
    reading_profile,
)

BEG, EARLY, LATE, MID, ADV = BANDS
T0 = datetime(2024, 9, 2, 8, 0, tzinfo=timezone.utc)
PLUS_2 = timezone(timedelta(hours=2))


def at(minute: int) -> datetime:
    return T0 + timedelta(minutes=minute)


def checkouts(*bands: str | None) -> list[dict[str, Any]]:
    """Checkouts in time order: the i-th one a minute after the (i-1)-th, seq = event_id = 100 + i."""
    return [
        {"timestamp": at(i), "seq": 100 + i, "event_id": 100 + i, "band": band}
        for i, band in enumerate(bands)
    ]


def test_bands_are_the_five_spec_bands_in_order() -> None:
    assert BANDS == ("beginner", "early_elementary", "late_elementary", "middle_school", "advanced")


# --- level_to_band -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("level", "band"),
    [
        (0, "beginner"),  # 0 <= 2.0
        (2.0, "beginner"),  # 2.0 <= 2.0, threshold is inclusive
        (2.01, "early_elementary"),  # 2.01 > 2.0, <= 4.0
        (4.0, "early_elementary"),  # inclusive
        (4.01, "late_elementary"),
        (6.0, "late_elementary"),  # inclusive
        (6.01, "middle_school"),
        (8.0, "middle_school"),  # inclusive
        (8.01, "advanced"),  # above 8.0
        (12, "advanced"),
        (Decimal("2.0"), "beginner"),  # a NUMERIC column hands back Decimal
        (Decimal("8.01"), "advanced"),
        (None, None),  # no level, no band
    ],
)
def test_level_to_band(level: Any, band: str | None) -> None:
    assert level_to_band(level) == band


@pytest.mark.parametrize("level", [-0.5, math.nan])
def test_level_to_band_rejects_levels_outside_the_contract(level: float) -> None:
    with pytest.raises(ValueError):
        level_to_band(level)


# --- book_band -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("difficulty_band", "reading_level", "band"),
    [
        ("advanced", 1.0, "advanced"),  # level 1.0 would be beginner; explicit band wins
        ("beginner", 9.5, "beginner"),  # level 9.5 would be advanced; explicit band wins
        ("middle_school", None, "middle_school"),  # band only
        (None, 5.5, "late_elementary"),  # level only: 4.0 < 5.5 <= 6.0
        (None, 0, "beginner"),  # level 0 is a level, not "no level"
        (None, None, None),  # neither: unbanded
    ],
)
def test_book_band(difficulty_band: str | None, reading_level: float | None, band: str | None) -> None:
    assert book_band(difficulty_band, reading_level) == band


def test_book_band_rejects_an_unknown_band() -> None:
    with pytest.raises(ValueError):
        book_band("expert", None)


# --- choose_catalog_entry / catalog_band ---------------------------------------------------


def cataloged(minute: int, seq: int, **fields: Any) -> dict[str, Any]:
    return {"timestamp": at(minute), "seq": seq, "book_id": "b1", "title": "T", **fields}


@pytest.mark.parametrize(
    ("entries", "chosen_seq", "band"),
    [
        # newest timestamp wins even though it arrived first (seq 1 < seq 2): level 1.0 -> beginner
        ([cataloged(10, 1, reading_level=1.0), cataloged(5, 2, reading_level=9.0)], 1, "beginner"),
        # same timestamp: later arrival (seq 3) wins whatever the list order: 7.0 -> middle_school
        ([cataloged(5, 3, reading_level=7.0), cataloged(5, 2, reading_level=3.0)], 3, "middle_school"),
        # re-leveled: newest entry's explicit band wins over both its own level and the older entry
        (
            [
                cataloged(0, 1, reading_level=3.0),
                cataloged(1, 2, reading_level=3.0, difficulty_band="advanced"),
            ],
            2,
            "advanced",
        ),
        # newest entry has neither band nor level: the book is unbanded, the older band is gone
        ([cataloged(0, 1, difficulty_band="beginner"), cataloged(1, 2)], 2, None),
    ],
)
def test_newest_catalog_entry_wins(entries: list[dict[str, Any]], chosen_seq: int, band: str | None) -> None:
    assert choose_catalog_entry(entries)["seq"] == chosen_seq
    assert choose_catalog_entry(list(reversed(entries)))["seq"] == chosen_seq
    assert catalog_band(entries) == band


def test_uncataloged_book_has_no_entry_and_no_band() -> None:
    assert choose_catalog_entry([]) is None
    assert catalog_band([]) is None


# --- reading_profile: whole shape ----------------------------------------------------------


def test_profile_shape_and_values() -> None:
    profile = reading_profile(checkouts(EARLY, None, EARLY, MID, ADV))
    # banded: [early, early, middle, advanced] = indexes [1, 1, 3, 4]; 1 unbanded of 5
    # dominant: early 2 > 1; recent (last 5 banded = all 4): early 2 > 1
    # trend: 4 banded, halves of 2: (3 + 4)/2 - (1 + 1)/2 = 3.5 - 1 = 2.5 >= 0.5 -> advancing
    # stability: 2 early / 4 banded = 0.5
    assert profile == {
        "histogram": {"early_elementary": 2, "middle_school": 1, "advanced": 1},
        "total_checkouts": 5,
        "unbanded_checkouts": 1,
        "dominant_band": "early_elementary",
        "recent_band": "early_elementary",
        "trend": "advancing",
        "stability": 0.5,
    }


@pytest.mark.parametrize(
    "bands",
    [
        [],  # no checkouts at all
        [None, None],  # only uncataloged / unbanded books
    ],
)
def test_profile_without_banded_checkouts(bands: list[str | None]) -> None:
    assert reading_profile(checkouts(*bands)) == {
        "histogram": {},
        "total_checkouts": len(bands),
        "unbanded_checkouts": len(bands),
        "dominant_band": None,
        "recent_band": None,
        "trend": "insufficient_data",
        "stability": None,
    }


# --- histogram and counts ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("bands", "histogram", "total", "unbanded"),
    [
        # unbanded counted in total (3) but not in the histogram
        ([BEG, None, BEG], {"beginner": 2}, 3, 1),
        # only bands with checkouts appear (no zero entries)
        ([ADV, None, None, LATE], {"late_elementary": 1, "advanced": 1}, 4, 2),
    ],
)
def test_histogram_and_counts(
    bands: list[str | None], histogram: dict[str, int], total: int, unbanded: int
) -> None:
    profile = reading_profile(checkouts(*bands))
    assert profile["histogram"] == histogram
    assert profile["total_checkouts"] == total
    assert profile["unbanded_checkouts"] == unbanded


def test_re_checkout_of_the_same_book_counts_twice() -> None:
    # Two checkout events (ids 7 and 9) of one book: 2 checkouts, histogram early = 2.
    same_book = [
        {"timestamp": at(0), "seq": 7, "event_id": 7, "book_id": "b1", "band": EARLY},
        {"timestamp": at(60), "seq": 9, "event_id": 9, "book_id": "b1", "band": EARLY},
    ]
    profile = reading_profile(same_book)
    assert profile["histogram"] == {"early_elementary": 2}
    assert profile["total_checkouts"] == 2


# --- dominant_band -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("bands", "dominant"),
    [
        # beginner 2 = advanced 2 -> higher band; advanced is neither the first nor the last
        ([BEG, ADV, ADV, BEG], ADV),
        ([EARLY, LATE, BEG], LATE),  # three-way tie 1 = 1 = 1 -> highest index (2) of {1, 2, 0}
        ([ADV, BEG, BEG], BEG),  # beginner 2 > advanced 1: count beats band order
        ([MID, None, None, None], MID),  # unbanded checkouts never compete
    ],
)
def test_dominant_band(bands: list[str | None], dominant: str) -> None:
    assert reading_profile(checkouts(*bands))["dominant_band"] == dominant


# --- recent_band ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("bands", "recent"),
    [
        # last 5: adv, adv, beg, beg, middle -> adv 2 = beg 2; most recent tied one is beg (4th)
        ([ADV, ADV, BEG, BEG, MID], BEG),
        # mirror: beg 2 = adv 2; most recent tied one is adv -> so neither "higher" nor "lower" wins
        ([BEG, BEG, ADV, ADV, MID], ADV),
        # 6 advanced then 5 beginner: last 5 are all beginner (dominant would be advanced 6 > 5)
        ([ADV] * 6 + [BEG] * 5, BEG),
        # last 5 of 7: beg, beg, beg, adv, adv -> beg 3 > 2; a window of 6 would tie 3 = 3 and
        # give adv, a window of 4 (beg 2 = adv 2) too
        ([ADV, ADV, BEG, BEG, BEG, ADV, ADV], BEG),
        # last 5 *banded* are adv, adv, adv, beg, beg -> adv 3; the last 5 raw rows would say beg
        ([ADV, ADV, ADV, BEG, BEG, None, None], ADV),
    ],
)
def test_recent_band(bands: list[str | None], recent: str) -> None:
    assert reading_profile(checkouts(*bands))["recent_band"] == recent


def test_recent_band_orders_by_timestamp_then_seq_not_by_list_order() -> None:
    rows = [
        # arrived later (seq 2) but happened first
        {"timestamp": at(0), "seq": 2, "event_id": 2, "band": ADV},
        # happened later, arrived first: the most recent checkout
        {"timestamp": at(5), "seq": 1, "event_id": 1, "band": BEG},
        # same instant as the next row written in another offset (10:10+02:00 = 08:10Z), seq 3 < 4
        {"timestamp": datetime(2024, 9, 2, 10, 10, tzinfo=PLUS_2), "seq": 4, "event_id": 4, "band": MID},
        {"timestamp": at(10), "seq": 3, "event_id": 3, "band": LATE},
    ]
    # time order: adv(t0), beg(t5), late(t10, seq 3), mid(t10, seq 4): all tied 1 each,
    # most recent is mid (same instant as late, higher seq).
    assert reading_profile(rows)["recent_band"] == MID
    # dropping mid: adv, beg, late tied; most recent is late
    assert reading_profile(rows[:2] + rows[3:])["recent_band"] == LATE
    # only the first two: adv (t0) and beg (t5) tied; beg is more recent despite its lower seq
    assert reading_profile(rows[:2])["recent_band"] == BEG


# --- trend ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("bands", "trend"),
    [
        # 3 banded < 4 -> insufficient (would otherwise look advancing)
        ([BEG, ADV, ADV], "insufficient_data"),
        # 3 banded + 3 unbanded: still 3 banded < 4
        ([BEG, None, ADV, None, ADV, None], "insufficient_data"),
        # 4 banded (unbanded skipped): [0, 0 | 4, 4] -> 4 - 0 = 4 -> advancing
        ([BEG, None, BEG, None, ADV, ADV], "advancing"),
        # [0, 0 | 0, 1] -> 0.5 - 0 = 0.5, boundary is inclusive -> advancing
        ([BEG, BEG, BEG, EARLY], "advancing"),
        # [1, 0 | 0, 0] -> 0 - 0.5 = -0.5, inclusive -> declining
        ([EARLY, BEG, BEG, BEG], "declining"),
        # [4, 4 | 0, 0] -> 0 - 4 = -4 -> declining
        ([ADV, ADV, BEG, BEG], "declining"),
        # [0, 0, 0 | 0, 0, 1] -> 1/3 - 0 = 0.33 -> steady
        ([BEG] * 5 + [EARLY], "steady"),
        # [1, 0, 0 | 0, 0, 0] -> 0 - 1/3 = -0.33 -> steady
        ([EARLY] + [BEG] * 5, "steady"),
        # 10: [0]*5 | [0, 0, 0, 1, 1] -> 2/5 = 0.4 < 0.5 -> steady
        ([BEG] * 8 + [EARLY] * 2, "steady"),
        # 10: [0]*5 | [0, 0, 1, 1, 1] -> 3/5 = 0.6 -> advancing
        ([BEG] * 7 + [EARLY] * 3, "advancing"),
        # odd, 5: [0, 0] (4 left out) [0, 0] -> 0 -> steady; with the middle in either half it
        # would be (4+0+0)/3 = 1.33 away from the other half
        ([BEG, BEG, ADV, BEG, BEG], "steady"),
        # odd, 7: [4, 4, 4] (0 left out) [3, 3, 3] -> 3 - 4 = -1 -> declining
        ([ADV, ADV, ADV, BEG, MID, MID, MID], "declining"),
        # odd, 5: [1, 1] (2 left out) [2, 2] -> 2 - 1 = 1 -> advancing
        ([EARLY, EARLY, LATE, LATE, LATE], "advancing"),
        # 12 banded, only the last 10 count: [0, 0, 0, 0, 0 | 1, 1, 1, 1, 1] -> 1 -> advancing;
        # all 12 would give [4, 4, 0, 0, 0, 0 | 0, 1, 1, 1, 1, 1] -> 5/6 - 8/6 = -0.5 -> declining
        ([ADV, ADV] + [BEG] * 5 + [EARLY] * 5, "advancing"),
        # 11 banded with unbanded mixed in: last 10 banded = [4, 0, 0, 0, 0 | 0, 0, 0, 0, 0] -> -0.8;
        # all 11 (odd, middle left out) would be [4, 4, 0, 0, 0] vs [0]*5 -> -1.6, both declining,
        # but the last 10 *rows* hold only 9 banded, all 0 -> steady
        ([ADV, ADV, None, BEG, BEG, None, BEG, BEG, BEG, BEG, BEG, BEG, BEG], "declining"),
    ],
)
def test_trend(bands: list[str | None], trend: str) -> None:
    assert reading_profile(checkouts(*bands))["trend"] == trend


# --- stability -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("bands", "stability"),
    [
        ([BEG, BEG], 1.0),  # 2 / 2
        ([BEG, BEG, ADV], 0.67),  # 2 / 3 = 0.666.. -> 0.67
        ([BEG, EARLY, LATE], 0.33),  # 3-way tie, dominant late 1 / 3 = 0.333.. -> 0.33
        ([ADV] * 5 + [BEG] * 3, 0.63),  # 5 / 8 = 0.625 -> 0.63 (half up)
        ([ADV] * 3 + [MID] * 3 + [BEG] * 2, 0.38),  # tie -> advanced 3 / 8 = 0.375 -> 0.38
        ([BEG, BEG, None, EARLY], 0.67),  # unbanded not in denominator: 2 / 3, not 2 / 4 = 0.5
    ],
)
def test_stability(bands: list[str | None], stability: float) -> None:
    assert reading_profile(checkouts(*bands))["stability"] == stability


# --- input checks --------------------------------------------------------------------------


def test_unknown_band_in_a_checkout_is_rejected() -> None:
    with pytest.raises(ValueError):
        reading_profile(checkouts(BEG, "expert"))


def test_two_checkouts_with_one_seq_are_rejected() -> None:
    rows = checkouts(BEG, ADV)
    rows[1]["seq"] = rows[0]["seq"]
    with pytest.raises(ValueError):
        reading_profile(rows)


# --- order independence --------------------------------------------------------------------


def test_reversed_input_gives_the_same_profile() -> None:
    # recent and trend depend on time order: recent is a tie (beg 2 = adv 2, most recent tied
    # is adv; read in list order the reversed input would say beg), trend [0, 0 (3) 4, 4] -> 4.
    rows = checkouts(BEG, BEG, MID, ADV, ADV)
    expected = reading_profile(rows)
    assert expected["recent_band"] == ADV
    assert expected["trend"] == "advancing"
    assert reading_profile(list(reversed(rows))) == expected


@st.composite
def checkout_lists(draw: st.DrawFn) -> list[dict[str, Any]]:
    """Checkouts with few distinct minutes (so timestamp ties are common) and unique seqs."""
    rows = draw(
        st.lists(
            st.tuples(st.integers(0, 5), st.one_of(st.none(), st.sampled_from(BANDS))),
            max_size=25,
        )
    )
    seqs = draw(st.permutations(range(1, len(rows) + 1)))
    return [
        {"timestamp": at(minute), "seq": seq, "event_id": seq, "band": band}
        for (minute, band), seq in zip(rows, seqs)
    ]


@given(st.data())
def test_shuffled_input_gives_the_same_profile(data: st.DataObject) -> None:
    rows = data.draw(checkout_lists())
    shuffled = data.draw(st.permutations(rows))
    profile = reading_profile(rows)
    assert reading_profile(shuffled) == profile
    assert sum(profile["histogram"].values()) + profile["unbanded_checkouts"] == profile["total_checkouts"]
    assert all(count > 0 for count in profile["histogram"].values())
