"""Per-key fixed-window rate limit: Redis counters when Redis is configured, memory otherwise.

Redis being down must not take the API down with it, so the Redis limiter fails open.
"""

from __future__ import annotations

import threading
import time
from typing import Protocol

import redis


class RateLimiter(Protocol):
    def allow(self, key: str) -> bool: ...


class MemoryRateLimiter:
    def __init__(self, per_minute: int) -> None:
        self._limit = per_minute
        self._counts: dict[tuple[str, int], int] = {}
        self._lock = threading.Lock()

    def allow(self, key: str) -> bool:
        window = int(time.time() // 60)
        with self._lock:
            if len(self._counts) > 10_000:
                self._counts = {k: v for k, v in self._counts.items() if k[1] == window}
            count = self._counts.get((key, window), 0) + 1
            self._counts[(key, window)] = count
        return count <= self._limit


class RedisRateLimiter:
    def __init__(self, redis_url: str, per_minute: int) -> None:
        self._limit = per_minute
        self._client = redis.Redis.from_url(redis_url, socket_timeout=0.5, socket_connect_timeout=0.5)

    def allow(self, key: str) -> bool:
        window = int(time.time() // 60)
        name = f"introspect:rate:{key}:{window}"
        try:
            pipe = self._client.pipeline()
            pipe.incr(name)
            pipe.expire(name, 120)
            count = int(pipe.execute()[0])
        except redis.RedisError:
            return True
        return count <= self._limit
