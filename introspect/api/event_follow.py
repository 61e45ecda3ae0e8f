"""Following one job's durable event log: what every face's live stream of a job reads.

Every event is a ``job_events`` row with its id, so a client reconnecting with ``Last-Event-ID``
gets exactly what it missed. Redis pub/sub (when configured) shortens the wait for new rows, and a
published event that names the stream's last event as its predecessor goes out as published,
without a read of the log (see ``_following``).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from introspect.api.event_hub import JobEventHub, Subscription
from introspect.store.engine import autocommit
from introspect.store.repositories import events
from introspect.store.tables import TERMINAL_STATUSES

POLL_SECONDS = 0.25
READ_LIMIT = 500  # events per read of the log


def _read(engine: Engine, job_id: uuid.UUID, after: int) -> tuple[str | None, list[dict[str, Any]]]:
    # Autocommit: one round trip per read instead of BEGIN, SELECT, COMMIT -- a stream reads after
    # every wake-up, so for a fast job this was most of the API's CPU.
    with autocommit(engine) as conn:
        status, rows = events.status_and_events_after(conn, job_id, after, READ_LIMIT)
    return status, [{"id": e.id, "event": e.type, "data": e.data} for e in rows]


class JobFollow:
    """A job's events after ``after``, read first and then as they are written, until the job is
    terminal and every event before that was delivered. Open with :func:`open_follow`."""

    def __init__(
        self,
        request: Request,
        engine: Engine,
        waiter: _Waiter,
        job_id: uuid.UUID,
        after: int,
        status: str,
        first: list[dict[str, Any]],
    ) -> None:
        self._request, self._engine, self._waiter = request, engine, waiter
        self.job_id, self.after, self.status, self._first = job_id, after, status, first

    async def events(self) -> AsyncIterator[dict[str, Any]]:
        """``{"id": int, "event": str, "data": dict}`` in log order; closes its subscription."""
        batch: list[dict[str, Any]] = self._first
        current: str | None = self.status
        try:
            while True:
                for event in batch:
                    self.after = event["id"]
                    yield event
                caught_up = len(batch) < READ_LIMIT  # else the read was cut short: read on at once
                if current in TERMINAL_STATUSES and caught_up:
                    return  # the read (one snapshot) or event that said so came with everything before it
                if await self._request.is_disconnected():
                    return
                if caught_up:
                    published = await self._waiter.wait()
                    if published is not None and _int(published.get("id")) <= self.after:
                        batch = []  # delivered already by the read that followed our subscription
                        continue
                    following = None if published is None else _following(published, self.after)
                    if following is not None:
                        batch = [following]
                        current = _status_in(following) or current
                        continue
                current, batch = await run_in_threadpool(_read, self._engine, self.job_id, self.after)
                if current is None:
                    return
        finally:
            await self._waiter.close()

    async def close(self) -> None:
        await self._waiter.close()


async def open_follow(
    request: Request, engine: Engine, job_id: uuid.UUID, after: int = 0
) -> JobFollow | None:
    """Subscribe, then read the log once; None when there is no such job."""
    # Subscribe before the first read: an event committed in between then still wakes us (a
    # subscription made after the read would miss it and sleep until the poll timeout).
    waiter = _Waiter(request.app.state.event_hub, job_id)
    await waiter.subscribe()
    status, first = await run_in_threadpool(_read, engine, job_id, after)
    if status is None:
        await waiter.close()
        return None
    return JobFollow(request, engine, waiter, job_id, after, status, first)


def _int(value: Any) -> int:
    return value if isinstance(value, int) else -1


def _following(published: dict[str, Any], after: int) -> dict[str, Any] | None:
    """The published event as a stream event, if it may go out without reading the log: only when
    it names the event this stream delivered last as its predecessor (``prev``, set by the run that
    wrote both), so that no event of the job can lie between them. Anything else -- a run's first
    event, a missed message, another writer -- sends the stream back to the log (None)."""
    data = published.get("data")
    if published.get("prev") != after or _int(published.get("id")) <= after or not isinstance(data, dict):
        return None
    return {"id": published["id"], "event": str(published.get("type")), "data": data}


def _status_in(event: dict[str, Any]) -> str | None:
    return str(event["data"].get("status")) if event["event"] == "status" else None


class _Waiter:
    """Sleeps until a pub/sub wake-up or the poll interval, whichever comes first; returns the
    published event (None after a timeout, or without Redis)."""

    def __init__(self, hub: JobEventHub | None, job_id: uuid.UUID) -> None:
        self._hub = hub
        self._job_id = job_id
        self._subscription: Subscription | None = None

    async def subscribe(self) -> bool:
        if self._hub is None:
            return False
        if self._subscription is None or self._subscription.broken:
            self._subscription = await self._hub.subscribe(self._job_id)
        return self._subscription is not None

    async def wait(self) -> dict[str, Any] | None:
        # A subscription made here (Redis came back) may have missed a wake-up: the caller re-reads
        # the log after every None.
        if not await self.subscribe():
            await asyncio.sleep(POLL_SECONDS)
            return None
        assert self._subscription is not None
        return await self._subscription.get(timeout=1.0)

    async def close(self) -> None:
        if self._subscription is not None:
            await self._subscription.close()
            self._subscription = None
