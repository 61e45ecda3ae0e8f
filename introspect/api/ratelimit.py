"""Per-key fixed-window rate limit: Redis counters when Redis is configured, memory otherwise.

Asynchronous, so the check runs on the event loop instead of costing each request a hand-off to the
thread pool (or, in an async route, blocking the loop on Redis). Redis being down must not take the
API down with it, nor switch the limit off: while Redis cannot answer, this process counts in memory.
"""

from __future__ import annotations

import threading
import time
from typing import Any, Protocol

from redis.exceptions import RedisError


class RateLimiter(Protocol):
    async def allow(self, key: str) -> bool: ...

    async def aclose(self) -> None: ...


class MemoryRateLimiter:
    def __init__(self, per_minute: int) -> None:
        self._limit = per_minute
        self._counts: dict[tuple[str, int], int] = {}
        self._lock = threading.Lock()

    async def allow(self, key: str) -> bool:
        window = int(time.time() // 60)
        with self._lock:
            if len(self._counts) > 10_000:
                self._counts = {k: v for k, v in self._counts.items() if k[1] == window}
            count = self._counts.get((key, window), 0) + 1
            self._counts[(key, window)] = count
        return count <= self._limit

    async def aclose(self) -> None:
        return None


class RedisRateLimiter:
    def __init__(self, redis_url: str, per_minute: int) -> None:
        import redis.asyncio as aioredis

        self._limit = per_minute
        self._client: Any = aioredis.Redis.from_url(redis_url, socket_timeout=0.5, socket_connect_timeout=0.5)
        self._fallback = MemoryRateLimiter(per_minute)

    async def allow(self, key: str) -> bool:
        window = int(time.time() // 60)
        name = f"introspect:rate:{key}:{window}"
        try:
            pipe = self._client.pipeline()
            pipe.incr(name)
            pipe.expire(name, 120)
            count = int((await pipe.execute())[0])
        except (RedisError, OSError):
            return await self._fallback.allow(key)
        return count <= self._limit

    async def aclose(self) -> None:
        await self._client.aclose()
