"""tutormax.batching: pieces in order, none larger than asked, nothing lost."""

import pytest

from tutormax.batching import chunked


def test_pieces_keep_order_and_bound():
    assert list(chunked([1, 2, 3, 4, 5], 2)) == [[1, 2], [3, 4], [5]]
    assert list(chunked(list(range(1000)), 500)) == [list(range(500)), list(range(500, 1000))]


def test_empty_and_oversized():
    assert list(chunked([], 3)) == []
    assert list(chunked(["a"], 500)) == [["a"]]


def test_size_must_be_positive():
    with pytest.raises(ValueError):
        list(chunked([1], 0))
