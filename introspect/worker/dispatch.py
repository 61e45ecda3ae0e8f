"""Hand a committed job to whoever runs jobs: arq over Redis, or the in-process worker.

Called only after the job row has committed, so a worker can always see the row it is woken for.
A failed enqueue loses nothing: the row stays ``queued`` and the workers' Postgres poll finds it.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any, Protocol

from introspect.worker.core import WorkerCore
from introspect.worker.wake import new_wake_id, push_wakeup

log = logging.getLogger(__name__)

RUN_JOB_FUNCTION = "run_job"


class JobDispatcher(Protocol):
    async def enqueue(self, job_id: uuid.UUID) -> None: ...

    async def close(self) -> None: ...


class InProcessDispatcher:
    """Embedded mode: the API process runs jobs itself on its WorkerCore threads."""

    def __init__(self, core: WorkerCore) -> None:
        self._core = core

    async def enqueue(self, job_id: uuid.UUID) -> None:
        self._core.submit(job_id)

    async def close(self) -> None:
        return None


class ArqDispatcher:
    """Push a wake-up and enqueue on arq (``introspect.worker.wake``); both carry only the id:
    Postgres stays the source of truth."""

    def __init__(self, redis_url: str, queue_name: str) -> None:
        self._redis_url = redis_url
        self._queue_name = queue_name
        self._pool: Any = None

    async def _get_pool(self) -> Any:
        from arq import create_pool
        from arq.connections import RedisSettings

        if self._pool is None:
            settings = RedisSettings.from_dsn(self._redis_url)
            settings.conn_timeout = 1
            settings.conn_retries = 0
            self._pool = await create_pool(settings, default_queue_name=self._queue_name)
        return self._pool

    async def enqueue(self, job_id: uuid.UUID) -> None:
        try:
            pool = await self._get_pool()
            # One wake id for both deliveries, fresh per dispatch (a resumed job is dispatched again).
            # arq's copy goes first, so the worker that pops the wake-up finds it and takes it off
            # arq's queue: arq then does no work for the job (a quarter of a millisecond later start,
            # against about a millisecond of the worker's CPU).
            wake_id = new_wake_id(job_id)
            await pool.enqueue_job(RUN_JOB_FUNCTION, str(job_id), _job_id=wake_id)
            await push_wakeup(pool, self._queue_name, wake_id)
        except Exception:
            self._pool = None
            log.warning(
                "could not enqueue job %s on Redis; the workers' database poll will pick it up", job_id
            )

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.aclose()
            self._pool = None
