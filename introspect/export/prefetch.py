"""Read the next pages in a background thread while the caller works on the current one.

With one statement on a server-side cursor, Postgres builds the next page only when asked for it,
and Python waits for it: database time and Python time add up. Fetching one page ahead in a thread
(the driver releases the GIL while it waits on the socket) lets them overlap. At most ``depth``
pages are held, so memory stays bounded; the source iterator is used by the thread alone and is
closed there, and the caller's ``close`` stops the thread before returning, so whoever owns the
connection may use it again afterwards.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Generator, Iterator
from typing import Generic, TypeVar

T = TypeVar("T")

_DONE = object()


class _Failure:
    def __init__(self, error: BaseException) -> None:
        self.error = error


class _Producer(Generic[T]):
    def __init__(self, source: Iterator[T], depth: int) -> None:
        self.source = source
        self.items: queue.Queue[object] = queue.Queue(maxsize=depth)
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, name="export-prefetch", daemon=True)

    def _put(self, item: object) -> bool:
        while not self.stop.is_set():
            try:
                self.items.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def _run(self) -> None:
        try:
            for item in self.source:
                if not self._put(item):
                    break
            else:
                self._put(_DONE)
        except BaseException as exc:  # handed to the consumer, which re-raises it
            self._put(_Failure(exc))
        finally:
            close = getattr(self.source, "close", None)
            if close is not None:
                close()

    def shutdown(self) -> None:
        self.stop.set()
        while self.thread.is_alive():
            try:
                self.items.get(timeout=0.1)
            except queue.Empty:
                continue
        self.thread.join()


def prefetched(source: Iterator[T], depth: int = 2) -> Generator[T, None, None]:
    """``source``'s items, fetched up to ``depth`` ahead in a background thread."""
    producer = _Producer(source, depth)
    producer.thread.start()
    try:
        while True:
            item = producer.items.get()
            if item is _DONE:
                return
            if isinstance(item, _Failure):
                raise item.error
            yield item  # type: ignore[misc]
    finally:
        producer.shutdown()
