"""Instant wake-ups beside arq: a Redis list that a free worker pops the moment a job commits.

arq is the queue (at-least-once delivery, retried connections) but it polls a sorted set, so a job
waits on average half its poll interval before any worker sees it -- for a fast job most of its
latency. So the API also pushes the job's *wake id* (its arq job id, ``<job uuid>:<nonce>``) on a
list, and each worker blocks on ``BRPOP`` only while it has a free slot: exactly one worker gets
each wake-up, at once, and a busy worker leaves it to the others. arq still delivers the same wake
id later; a worker that took a job from the list takes arq's copy off arq's queue (the API enqueues
it before pushing the wake-up), and ``WorkerCore.submit`` remembers the wake ids it accepted and
drops any copy arq delivered anyway without touching the database. A lost wake-up costs latency
only: arq, then the Postgres poll, still run the job.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from typing import Any, Protocol

log = logging.getLogger(__name__)

# Entries beyond this many are trimmed: with no worker popping, the list must not grow without
# bound, and arq and the Postgres poll still deliver whatever was trimmed.
MAX_PENDING_WAKEUPS = 100_000


def wake_list_key(queue_name: str) -> str:
    return f"{queue_name}:wake"


def new_wake_id(job_id: uuid.UUID) -> str:
    """A fresh id per dispatch: a resumed job is woken again, under a wake id not seen before."""
    return f"{job_id}:{uuid.uuid4().hex[:12]}"


def job_of(wake_id: str) -> uuid.UUID:
    """The job a wake id names; ValueError for anything else."""
    return uuid.UUID(wake_id.split(":", 1)[0])


async def push_wakeup(redis: Any, queue_name: str, wake_id: str) -> None:
    """LPUSH and LTRIM in one round trip (no MULTI: a trim that misses one push is harmless)."""
    async with redis.pipeline(transaction=False) as pipe:
        pipe.lpush(wake_list_key(queue_name), wake_id)
        pipe.ltrim(wake_list_key(queue_name), 0, MAX_PENDING_WAKEUPS - 1)
        await pipe.execute()


async def withdraw_arq_copy(redis: Any, queue_name: str, wake_id: str) -> None:
    """Take a job's arq copy (arq job id = wake id) off arq's queue: the job runs here already, so
    arq need not fetch, mark, run and clean up a duplicate. Harmless when arq got to it first."""
    from arq.constants import job_key_prefix

    async with redis.pipeline(transaction=False) as pipe:
        pipe.zrem(queue_name, wake_id)
        pipe.delete(job_key_prefix + wake_id)
        await pipe.execute()


class WakeTarget(Protocol):
    """What the consumer feeds: the worker's WorkerCore."""

    def has_capacity(self) -> bool: ...

    def submit(self, job_id: uuid.UUID, wake_id: str | None = None) -> Any: ...


class WakeListConsumer:
    """Pops wake ids while the target has a free slot; reconnects with back-off when Redis goes."""

    def __init__(self, redis_url: str, queue_name: str, target: WakeTarget, *, block_seconds: float = 1.0):
        self._redis_url = redis_url
        self._queue_name = queue_name
        self._key = wake_list_key(queue_name)
        self._target = target
        self._block_seconds = block_seconds
        self._slot_freed = asyncio.Event()

    def slot_freed(self) -> None:
        """Thread-safe: the target calls this (through the loop) when one of its jobs ends."""
        self._slot_freed.set()

    async def _wait_for_capacity(self, stop: asyncio.Event) -> None:
        while not self._target.has_capacity() and not stop.is_set():
            self._slot_freed.clear()
            if self._target.has_capacity():
                return
            # The timeout bounds a missed signal and how long a stop waits; the event is the wake-up.
            await _wait(self._slot_freed, timeout=0.2)

    async def run(self, stop: asyncio.Event) -> None:
        from redis.asyncio import Redis

        backoff = 0.5
        while not stop.is_set():
            client = Redis.from_url(self._redis_url, socket_connect_timeout=1)
            try:
                while not stop.is_set():
                    await self._wait_for_capacity(stop)
                    if stop.is_set():
                        return
                    item = await client.brpop([self._key], timeout=self._block_seconds)
                    backoff = 0.5
                    if item is not None:
                        wake_id = item[1].decode()
                        if self._deliver(wake_id):
                            await withdraw_arq_copy(client, self._queue_name, wake_id)
            except Exception as exc:  # Redis away: arq and the Postgres poll keep jobs moving
                log.warning("wake-up list unavailable (%s); retrying in %.1fs", exc, backoff)
                await _wait(stop, timeout=backoff)
                backoff = min(backoff * 2, 10.0)
            finally:
                await client.aclose()

    def _deliver(self, wake_id: str) -> bool:
        """Offer the job to the target; True when it runs there now."""
        try:
            job_id = job_of(wake_id)
        except ValueError:
            log.warning("ignoring a malformed wake-up %r", wake_id)
            return False
        return self._target.submit(job_id, wake_id) is not None


async def _wait(event: asyncio.Event, *, timeout: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(event.wait(), timeout)
