"""The page prefetcher: same items in order, bounded read-ahead, errors and early close handled."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest

from introspect.export.prefetch import prefetched


class Source:
    def __init__(self, n: int, fail_at: int | None = None) -> None:
        self.n, self.fail_at = n, fail_at
        self.produced = 0
        self.closed = threading.Event()
        self.threads: set[str] = set()

    def __iter__(self) -> Iterator[int]:
        return self.items()

    def items(self) -> Iterator[int]:
        try:
            for i in range(self.n):
                self.threads.add(threading.current_thread().name)
                if i == self.fail_at:
                    raise RuntimeError(f"database went away at {i}")
                self.produced += 1
                yield i
        finally:
            self.closed.set()


def test_items_in_order_from_another_thread() -> None:
    source = Source(50)
    assert list(prefetched(iter(source))) == list(range(50))
    assert source.closed.is_set() and source.threads == {"export-prefetch"}


def test_read_ahead_is_bounded_and_early_close_stops_the_thread() -> None:
    source = Source(1000)
    items = prefetched(iter(source), depth=2)
    assert next(items) == 0
    time.sleep(0.2)
    assert source.produced <= 4  # the item handed out, two queued, one waiting to be queued
    items.close()
    assert source.closed.is_set()
    assert not any(t.name == "export-prefetch" for t in threading.enumerate())


def test_errors_reach_the_consumer() -> None:
    source = Source(10, fail_at=3)
    items = prefetched(iter(source))
    assert [next(items) for _ in range(3)] == [0, 1, 2]
    with pytest.raises(RuntimeError, match="went away at 3"):
        next(items)
    assert source.closed.is_set()
