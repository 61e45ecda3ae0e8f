"""How many python checks a worker process runs at once, and how much memory they may ask for in all.

Each job's graph calls its verifier in its own thread; without a cap, ``worker_concurrency`` jobs times
Best-of-N candidates could each start a check with its own memory limit, together more than the host
has. A check waits here for a free slot whose memory fits the budget; past the queue timeout it is
refused (the verification fails with that reason) rather than waiting forever.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager


class AdmissionRefused(RuntimeError):
    pass


class CheckAdmission:
    def __init__(self, max_concurrent: int, memory_budget_mb: int, timeout_s: float) -> None:
        self.max_concurrent = max_concurrent
        self.memory_budget_mb = memory_budget_mb
        self.timeout_s = timeout_s
        self._lock = threading.Condition()
        self.running = 0
        self.memory_mb = 0

    @contextmanager
    def slot(self, memory_mb: int) -> Iterator[None]:
        if memory_mb > self.memory_budget_mb:
            raise AdmissionRefused(
                f"the check asks for {memory_mb} MB, more than this worker's budget for checks "
                f"({self.memory_budget_mb} MB)"
            )
        deadline = time.monotonic() + self.timeout_s
        with self._lock:
            while self.running >= self.max_concurrent or self.memory_mb + memory_mb > self.memory_budget_mb:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AdmissionRefused("the worker was busy with other checks past the queue timeout")
                self._lock.wait(left)
            self.running += 1
            self.memory_mb += memory_mb
        try:
            yield
        finally:
            with self._lock:
                self.running -= 1
                self.memory_mb -= memory_mb
                self._lock.notify_all()
