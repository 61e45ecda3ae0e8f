"""The ``introspect worker`` process: a wake-list consumer and an arq consumer feeding a WorkerCore.

The wake list hands a free worker a job the moment it commits; arq delivers every job too (at least
once, a poll interval later) and the WorkerCore drops the duplicate by wake id. The WorkerCore's
database poll and sweeper keep jobs moving when Redis is away, and both Redis loops reconnect with
back-off when it comes back.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import uuid
from collections.abc import Callable
from typing import Any

from arq.connections import RedisSettings
from arq.worker import Worker, func

from introspect.config import Settings
from introspect.store.engine import make_engine, make_session_factory
from introspect.worker.dispatch import RUN_JOB_FUNCTION
from introspect.worker.identity import worker_identity
from introspect.worker.runtime import start_worker_runtime
from introspect.worker.wake import WakeListConsumer

log = logging.getLogger(__name__)


async def _consume(settings: Settings, core: Any, stop: asyncio.Event) -> None:
    async def run_job(ctx: dict[str, Any], job_id: str) -> None:
        # The arq job id is the wake id the dispatcher also pushed on the wake list.
        future = core.submit(uuid.UUID(job_id), ctx.get("job_id"))
        if future is not None:
            await asyncio.wrap_future(future)

    backoff = 0.5
    while not stop.is_set():
        redis_settings = RedisSettings.from_dsn(settings.redis_url or "")
        redis_settings.conn_retries = 0
        worker = Worker(
            [func(run_job, name=RUN_JOB_FUNCTION)],
            queue_name=settings.queue_name,
            redis_settings=redis_settings,
            handle_signals=False,
            max_jobs=settings.worker_concurrency,
            job_timeout=24 * 3600,
            keep_result=0,
            max_tries=1,
            # arq polls its queue; the wake list is the fast path, so this only bounds how late a
            # job whose wake-up was lost starts.
            poll_delay=settings.arq_poll_seconds,
        )
        task = asyncio.create_task(worker.async_run())
        stopper = asyncio.create_task(stop.wait())
        done, _ = await asyncio.wait({task, stopper}, return_when=asyncio.FIRST_COMPLETED)
        if stopper in done:
            task.cancel()
            await _close_quietly(worker)
            return
        stopper.cancel()
        exc = task.exception()
        log.warning("arq consumer stopped (%s); database polling continues, reconnecting", exc)
        await _close_quietly(worker)
        await asyncio.sleep(backoff)
        backoff = min(backoff * 2, 10.0)


async def _close_quietly(worker: Worker) -> None:
    """arq's close() talks to Redis; when Redis is the thing that went away, that must not kill us."""
    try:
        await worker.close()
    except Exception as exc:
        log.debug("arq worker close failed: %s", exc)


def run_worker(settings: Settings, concurrency: int | None = None, *, models: Any = None) -> None:
    """Run until SIGTERM/SIGINT. ``models`` replaces the model backends (scripted tests, benchmarks)."""
    if concurrency:
        settings = settings.model_copy(update={"worker_concurrency": concurrency})
    engine = make_engine(settings.resolved_database_url)
    factory = make_session_factory(engine)

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        with start_worker_runtime(settings, factory, owner=worker_identity(), models=models) as core:
            log.info("worker %s started (concurrency %s)", core.owner, settings.worker_concurrency)
            if settings.redis_url:
                wakeups = WakeListConsumer(settings.redis_url, settings.queue_name, core)
                core.on_slot_free = lambda: loop.call_soon_threadsafe(wakeups.slot_freed)
                await asyncio.gather(_consume(settings, core, stop), wakeups.run(stop))
            else:
                await stop.wait()
            log.info("worker %s stopping: handing back running jobs at the next node boundary", core.owner)
            # Leaving the context calls core.shutdown(): stop claiming, wait, release leases.
            await asyncio.to_thread(core.shutdown)

    try:
        with asyncio.Runner(loop_factory=_loop_factory()) as runner:
            runner.run(main())
    finally:
        engine.dispose()


def _loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop where it is installed (uvicorn[standard] brings it, except on Windows), as in the API:
    every job's hand-offs between the loop and its thread go through the loop. None: asyncio's."""
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop.new_event_loop
