"""Cutting work into bounded pieces: one statement or one chain per piece, never one per item."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TypeVar

T = TypeVar("T")


def chunked(items: Sequence[T], size: int) -> Iterator[list[T]]:
    """Consecutive pieces of `items` of at most `size` (≥ 1) items each, in order."""
    if size < 1:
        raise ValueError("size must be at least 1")
    for start in range(0, len(items), size):
        yield list(items[start:start + size])
