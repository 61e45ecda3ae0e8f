"""Wake-ups: a free worker takes a new job from the Redis list at once; arq's copy costs nothing."""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from arq import create_pool
from arq.connections import RedisSettings
from arq.constants import job_key_prefix
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from introspect.api.app import create_app
from introspect.config import Settings
from introspect.store.engine import make_engine, make_session_factory, transaction
from introspect.store.repositories import leases
from introspect.store.repositories.leases import Lease
from introspect.testing.scripted_models import Script
from introspect.worker.core import WorkerCore
from introspect.worker.dispatch import RUN_JOB_FUNCTION
from introspect.worker.wake import WakeListConsumer, job_of, new_wake_id, push_wakeup, wake_list_key
from tests.worker.harness import idle_core, job_status, queued_job, start_worker, wait_for

QUEUE = "introspect:test-wake"


@pytest.fixture
def factory(pg_url: str) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(pg_url)
    yield make_session_factory(engine)
    engine.dispose()


class _Runs:
    """An executor that counts its runs, blocks until released, and puts the job back in the queue
    (so a later dispatch of the same job could claim it again)."""

    def __init__(self, factory: sessionmaker[Session]) -> None:
        self.factory = factory
        self.started: list[uuid.UUID] = []
        self.release = threading.Event()

    def __call__(self, job_id: uuid.UUID, lease: Lease, started: object) -> bool:
        self.started.append(job_id)
        self.release.wait(30)
        with transaction(self.factory) as session:
            leases.release_lease(session, lease)
        return True


def _core(factory: sessionmaker[Session], runs: _Runs, concurrency: int) -> WorkerCore:
    return idle_core(factory, runs, owner="wake-test", concurrency=concurrency)


def test_wake_ids_name_their_job() -> None:
    job_id = uuid.uuid4()
    first, second = new_wake_id(job_id), new_wake_id(job_id)
    assert first != second
    assert job_of(first) == job_of(second) == job_id
    with pytest.raises(ValueError):
        job_of("not-a-job:123")


def test_a_wake_id_is_accepted_once(factory: sessionmaker[Session]) -> None:
    runs = _Runs(factory)
    core = _core(factory, runs, concurrency=2)
    job_id = queued_job(factory)
    wake = new_wake_id(job_id)
    try:
        running = core.submit(job_id, wake)
        assert running is not None
        assert core.submit(job_id, wake) is running  # arq's copy while it runs: the same run
        runs.release.set()
        running.result(timeout=10)
        assert core.submit(job_id, wake) is None  # arq's copy after it ended: dropped
        assert runs.started == [job_id]
        # A new dispatch of the job (a resume) has a new wake id and runs again.
        again = core.submit(job_id, new_wake_id(job_id))
        assert again is not None
        again.result(timeout=10)
        assert runs.started == [job_id, job_id]
    finally:
        runs.release.set()
        core.shutdown()


def test_the_consumer_pops_only_what_its_worker_can_run(
    factory: sessionmaker[Session], redis_url: str
) -> None:
    runs = _Runs(factory)
    core = _core(factory, runs, concurrency=1)
    job_ids = [queued_job(factory) for _ in range(3)]
    client = redis.Redis.from_url(redis_url)
    stop = asyncio.Event()

    async def scenario() -> None:
        consumer = WakeListConsumer(redis_url, QUEUE, core, block_seconds=0.2)
        loop = asyncio.get_running_loop()
        core.on_slot_free = lambda: loop.call_soon_threadsafe(consumer.slot_freed)
        arq = await create_pool(RedisSettings.from_dsn(redis_url), default_queue_name=QUEUE)
        wake_ids = [new_wake_id(job_id) for job_id in job_ids]
        for wake_id in wake_ids:  # what ArqDispatcher does, arq's copy first here
            await arq.enqueue_job(RUN_JOB_FUNCTION, str(job_of(wake_id)), _job_id=wake_id)
            await push_wakeup(client_async, QUEUE, wake_id)
        task = asyncio.create_task(consumer.run(stop))
        await asyncio.sleep(0.5)
        # One slot: one job taken, its arq copy withdrawn; the other two left for any other worker.
        assert runs.started == job_ids[:1]
        assert client.llen(wake_list_key(QUEUE)) == 2
        assert [client.zscore(QUEUE, w) is not None for w in wake_ids] == [False, True, True]
        assert not client.exists(job_key_prefix + wake_ids[0])
        runs.release.set()
        deadline = time.monotonic() + 10
        while len(runs.started) < 3 and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        stop.set()
        await task
        await arq.aclose()
        assert client.zcard(QUEUE) == 0

    from redis.asyncio import Redis

    client_async = Redis.from_url(redis_url)
    try:
        asyncio.run(scenario())
        assert runs.started == job_ids  # first in, first out
        assert client.llen(wake_list_key(QUEUE)) == 0
    finally:
        runs.release.set()
        core.shutdown()
        client.close()


def test_a_new_job_starts_from_the_wake_list_without_waiting_for_arq(
    tmp_path: Path, pg_url: str, redis_url: str, factory: sessionmaker[Session]
) -> None:
    log = tmp_path / "worker.log"
    # arq looks at its queue once a minute here, and the worker's database poll every 5 s: only
    # the wake list can start the job within the 3 s allowed below.
    worker = start_worker(pg_url, redis_url, Script(answers=["The answer is 42."]), log, arq_poll_seconds=60)
    try:
        app = create_app(Settings(database_url=pg_url, redis_url=redis_url), bound_host="127.0.0.1")
        with TestClient(app) as api:
            api.post("/v1/jobs", json={"graph": "self_critique", "input": {"prompt": "warm-up"}})
            wait_for(lambda: "started" in log.read_text(), 60, "the worker to start", log)
            time.sleep(1)  # past arq's first poll, so the next one is a minute away
            job_id = api.post(
                "/v1/jobs",
                json={"graph": "self_critique", "input": {"prompt": "What is 17 + 25?", "reference": "42"}},
            ).json()["id"]
            wait_for(lambda: job_status(factory, job_id) == "succeeded", 3, "the job to succeed", log)
    finally:
        worker.terminate()
        worker.wait(timeout=30)
