"""One Redis pub/sub connection per API process, shared by every SSE stream it serves.

A connection per stream cost each stream a TCP connect, the client's handshake, SUBSCRIBE and a close
(about a third of a millisecond of the API's CPU, and Redis's). Here one reader task receives every
job channel some stream listens to and hands each message to that channel's streams; a channel is
subscribed while at least one stream listens to it.

Redis only wakes streams early (the job_events table is the truth), so a hub that loses its
connection marks every subscription ``broken``: those streams fall back to reading the log, and the
next subscription connects afresh.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import uuid
from typing import Any

from introspect.worker.notify import job_channel

log = logging.getLogger(__name__)

# How long a new subscription waits for Redis to confirm it: after that, a publish reaches it.
CONFIRM_SECONDS = 1.0


class Subscription:
    """One stream's view of one job channel: the events published on it, in order."""

    def __init__(self, hub: JobEventHub, channel: str) -> None:
        self._hub = hub
        self.channel = channel
        self._queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.broken = False

    def deliver(self, event: dict[str, Any]) -> None:
        self._queue.put_nowait(event)

    def break_off(self) -> None:
        self.broken = True
        self._queue.put_nowait({})  # wakes a waiting stream: it then reads the log

    async def get(self, timeout: float) -> dict[str, Any] | None:
        """The next published event; None after ``timeout`` or once the hub lost Redis."""
        try:
            event = await asyncio.wait_for(self._queue.get(), timeout)
        except TimeoutError:
            return None
        return event or None

    async def close(self) -> None:
        await self._hub.release(self)


class JobEventHub:
    def __init__(self, redis_url: str) -> None:
        self._redis_url = redis_url
        self._client: Any = None
        self._pubsub: Any = None
        self._reader: asyncio.Task[None] | None = None
        self._subscriptions: dict[str, set[Subscription]] = {}
        self._confirmed: dict[str, asyncio.Event] = {}
        self._lock = asyncio.Lock()

    async def subscribe(self, job_id: uuid.UUID) -> Subscription | None:
        """Listen to ``job_id``'s channel, confirmed by Redis (so nothing published from now on is
        missed); None when Redis cannot be reached."""
        channel = job_channel(job_id)
        try:
            async with self._lock:
                if self._pubsub is None:
                    await self._connect()
                subscription = Subscription(self, channel)
                listeners = self._subscriptions.setdefault(channel, set())
                listeners.add(subscription)
                if len(listeners) == 1:
                    self._confirmed[channel] = asyncio.Event()
                    await self._pubsub.subscribe(channel)
                confirmed = self._confirmed[channel]
            await asyncio.wait_for(confirmed.wait(), CONFIRM_SECONDS)
        except Exception:  # Redis down or slow: the stream reads the log instead
            log.debug("no pub/sub subscription for job %s", job_id, exc_info=True)
            return None
        return subscription

    async def release(self, subscription: Subscription) -> None:
        async with self._lock:
            listeners = self._subscriptions.get(subscription.channel)
            if listeners is None or subscription not in listeners:
                return
            listeners.discard(subscription)
            if not listeners:
                del self._subscriptions[subscription.channel]
                self._confirmed.pop(subscription.channel, None)
                if self._pubsub is not None:
                    with contextlib.suppress(Exception):  # a lost connection drops it anyway
                        await self._pubsub.unsubscribe(subscription.channel)

    async def _connect(self) -> None:
        import redis.asyncio as aioredis

        client = aioredis.Redis.from_url(self._redis_url, socket_connect_timeout=0.5)
        pubsub = client.pubsub()
        await pubsub.connect()
        self._client, self._pubsub = client, pubsub
        self._reader = asyncio.create_task(self._read(pubsub), name="job-event-hub")

    async def _read(self, pubsub: Any) -> None:
        try:
            while True:
                message = await pubsub.get_message(timeout=1.0)
                if message is not None:
                    self._dispatch(message)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.warning("pub/sub connection lost; SSE streams read the event log until it is back")
            async with self._lock:
                if self._pubsub is pubsub:
                    await self._drop_connection()

    def _dispatch(self, message: dict[str, Any]) -> None:
        channel = _text(message.get("channel"))
        if message.get("type") == "subscribe":
            confirmed = self._confirmed.get(channel)
            if confirmed is not None:
                confirmed.set()
            return
        if message.get("type") != "message":
            return
        try:
            event = json.loads(message["data"])
        except (TypeError, ValueError):
            return
        if isinstance(event, dict) and event:
            for subscription in list(self._subscriptions.get(channel, ())):
                subscription.deliver(event)

    async def _drop_connection(self) -> None:
        """Break every subscription off and forget the connection (the lock is held)."""
        for listeners in self._subscriptions.values():
            for subscription in listeners:
                subscription.break_off()
        self._subscriptions.clear()
        self._confirmed.clear()
        pubsub, client, self._pubsub, self._client = self._pubsub, self._client, None, None
        with contextlib.suppress(Exception):
            await pubsub.aclose()
            await client.aclose()

    async def aclose(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._reader
        async with self._lock:
            if self._pubsub is not None:
                await self._drop_connection()


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
