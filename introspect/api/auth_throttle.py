"""Failed authentications per client address: a wrong key costs a database lookup, and keys are
what an attacker would guess, so past ``auth_failures_per_minute`` a client gets a 429 before any
lookup. Counted in Redis (shared by replicas) and in memory whenever Redis cannot answer, so the
limit never fails open.

Built on the ``limits`` library: its ``test`` (peek) / ``hit`` (count) pair is exactly the
check-before, count-after-failure shape needed, and its in-memory storage is the fallback. (The
per-key request quota in ``ratelimit.py`` stays hand-rolled: it runs on every request, as one
pipelined round trip.)
"""

from __future__ import annotations

import logging
from typing import Literal

from limits import RateLimitItemPerMinute
from limits.aio.storage import MemoryStorage, RedisStorage
from limits.aio.strategies import FixedWindowRateLimiter
from redis.exceptions import RedisError

log = logging.getLogger(__name__)

_NAMESPACE = "introspect-auth-failures"
TOO_MANY_FAILURES = "too many failed authentications from this address; retry in a minute"


class FailedAuthThrottle:
    def __init__(self, redis_url: str | None, per_minute: int) -> None:
        self._item = RateLimitItemPerMinute(per_minute)
        self._memory = FixedWindowRateLimiter(MemoryStorage())
        self._redis: FixedWindowRateLimiter | None = None
        if redis_url:
            storage = RedisStorage(
                "async+" + redis_url,
                implementation="redispy",
                socket_timeout=0.5,
                socket_connect_timeout=0.5,
            )
            self._redis = FixedWindowRateLimiter(storage)
        self._redis_failing = False

    async def blocked(self, client: str) -> bool:
        """True when ``client`` used up its failures for this window (nothing is counted)."""
        return not await self._call("test", client)

    async def failed(self, client: str) -> None:
        """Count one failed authentication of ``client``."""
        await self._call("hit", client)

    async def _call(self, operation: Literal["test", "hit"], client: str) -> bool:
        if self._redis is not None:
            try:
                result = await getattr(self._redis, operation)(self._item, _NAMESPACE, client)
            except (RedisError, OSError, ConnectionError, TimeoutError) as exc:
                if not self._redis_failing:
                    log.warning("Redis unavailable for the auth-failure limit; counting in memory: %s", exc)
                self._redis_failing = True
            else:
                self._redis_failing = False
                return bool(result)
        return bool(await getattr(self._memory, operation)(self._item, _NAMESPACE, client))
