"""Reliability promises of design.md §7, with real worker processes, Postgres and Redis."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from introspect.api.app import create_app
from introspect.config import Settings
from introspect.store.engine import make_engine, make_session_factory
from introspect.store.tables import JobEvent
from introspect.testing.scripted_models import Script, read_call_log
from introspect.testing.servers import start_redis
from tests.worker.harness import job_status, snapshot, start_worker, turn_indexes, wait_for

pytestmark = pytest.mark.slow

JOB = {
    "graph": "self_critique",
    "input": {"prompt": "What is 17 + 25?", "reference": "42", "verifier": "numeric"},
    "config": {"max_turns": 3},
}
WRONG_THEN_RIGHT = ["The answer is 41.", "The answer is 42."]


@pytest.fixture
def factory(pg_url: str) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(pg_url)
    yield make_session_factory(engine)
    engine.dispose()


@pytest.fixture
def api(pg_url: str, redis_url: str) -> Iterator[TestClient]:
    app = create_app(Settings(database_url=pg_url, redis_url=redis_url), bound_host="127.0.0.1")
    with TestClient(app) as client:
        yield client


@pytest.fixture
def workers() -> Iterator[list[subprocess.Popen[bytes]]]:
    procs: list[subprocess.Popen[bytes]] = []
    yield procs
    for proc in procs:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGCONT)
            proc.kill()
            proc.wait(timeout=10)


def _started(calls: Path, attempt: int, pid: int | None = None) -> bool:
    return any(
        c["event"] == "start" and c["attempt"] == attempt and (pid is None or c["pid"] == pid)
        for c in read_call_log(calls)
    )


def _job_in_second_attempt(
    tmp_path: Path, pg_url: str, redis_url: str, api: TestClient, workers: list, delay_s: float
) -> tuple[str, subprocess.Popen[bytes], Path, Path]:
    """A worker whose second model call takes ``delay_s``; returns once it is inside that call."""
    calls, log = tmp_path / "calls.jsonl", tmp_path / "worker.log"
    slow = Script(answers=WRONG_THEN_RIGHT, delay_s=delay_s, delay_on_attempt=1, log_path=str(calls))
    worker = start_worker(pg_url, redis_url, slow, log)
    workers.append(worker)
    job_id = api.post("/v1/jobs", json=JOB).json()["id"]
    wait_for(lambda: _started(calls, 1, worker.pid), 60, "the second attempt to start", log)
    return job_id, worker, calls, log


def test_sigkill_mid_turn_another_worker_finishes_without_repeating_turns(
    tmp_path: Path,
    pg_url: str,
    redis_url: str,
    api: TestClient,
    factory: sessionmaker[Session],
    workers: list,
) -> None:
    job_id, first, calls, log = _job_in_second_attempt(tmp_path, pg_url, redis_url, api, workers, 30)
    first.kill()
    first.wait(timeout=10)
    workers.append(
        start_worker(pg_url, redis_url, Script(answers=WRONG_THEN_RIGHT, log_path=str(calls)), log)
    )
    wait_for(lambda: job_status(factory, job_id) == "succeeded", 60, "the job to succeed", log)
    records = read_call_log(calls)
    first_attempt = [c for c in records if c["attempt"] == 0 and c["event"] == "start"]
    assert len(first_attempt) == 1, "the finished first turn's model call was repeated"
    assert len([c for c in records if c["attempt"] == 1 and c["event"] == "end"]) == 1
    indexes = turn_indexes(factory, job_id)
    assert indexes == list(range(len(indexes))) and len(indexes) >= 2
    job = api.get(f"/v1/jobs/{job_id}").json()
    assert job["result"]["answer"] is not None and "42" in str(job["result"]["answer"])
    assert job["attempts"] == 2


def test_sigstopped_worker_past_its_lease_writes_nothing(
    tmp_path: Path,
    pg_url: str,
    redis_url: str,
    api: TestClient,
    factory: sessionmaker[Session],
    workers: list,
) -> None:
    job_id, stale, calls, log = _job_in_second_attempt(tmp_path, pg_url, redis_url, api, workers, 3)
    os.kill(stale.pid, signal.SIGSTOP)
    workers.append(
        start_worker(pg_url, redis_url, Script(answers=WRONG_THEN_RIGHT, log_path=str(calls)), log)
    )
    wait_for(lambda: job_status(factory, job_id) == "succeeded", 60, "the job to succeed", log)
    before = snapshot(factory, job_id)
    os.kill(stale.pid, signal.SIGCONT)

    def ended() -> bool:
        calls_seen = read_call_log(calls)
        return any(c["event"] == "end" and c["pid"] == stale.pid and c["attempt"] == 1 for c in calls_seen)

    wait_for(ended, 30, "the stale worker to wake up and finish its model call", log)
    time.sleep(3)  # give the stale worker every chance to write
    assert snapshot(factory, job_id) == before


def test_jobs_complete_when_redis_stops(
    tmp_path: Path, pg_url: str, factory: sessionmaker[Session], workers: list
) -> None:
    redis_server = start_redis()
    try:
        calls, log = tmp_path / "calls.jsonl", tmp_path / "worker.log"
        script = Script(answers=WRONG_THEN_RIGHT, delay_s=0.5, log_path=str(calls))
        workers.append(start_worker(pg_url, redis_server.url, script, log))
        app = create_app(Settings(database_url=pg_url, redis_url=redis_server.url), bound_host="127.0.0.1")
        with TestClient(app) as client:
            ids = [client.post("/v1/jobs", json=JOB).json()["id"] for _ in range(3)]
            wait_for(lambda: bool(read_call_log(calls)), 60, "the first model call", log)
            redis_server.stop()
            ids.append(client.post("/v1/jobs", json=JOB).json()["id"])  # accepted with Redis down
            for job_id in ids:
                wait_for(lambda j=job_id: job_status(factory, j) == "succeeded", 90, f"job {job_id}", log)
    finally:
        redis_server.stop()


def test_poison_job_ends_failed_after_max_attempts(
    tmp_path: Path,
    pg_url: str,
    redis_url: str,
    api: TestClient,
    factory: sessionmaker[Session],
    workers: list,
) -> None:
    log = tmp_path / "worker.log"
    workers.append(start_worker(pg_url, redis_url, Script(answers=["x"], fail=True), log, max_attempts=2))
    job_id = api.post("/v1/jobs", json=JOB).json()["id"]
    wait_for(lambda: job_status(factory, job_id) == "failed", 60, "the job to fail", log)
    job = api.get(f"/v1/jobs/{job_id}").json()
    assert job["attempts"] == 2
    assert "scripted model failure" in job["error"]
    with api.stream("GET", f"/v1/jobs/{job_id}/events") as stream:
        text = "".join(stream.iter_text())
    assert '"retry": true' in text and '"status": "failed"' in text  # the retry and the failure


def test_sigterm_hands_the_job_back_cleanly(
    tmp_path: Path,
    pg_url: str,
    redis_url: str,
    api: TestClient,
    factory: sessionmaker[Session],
    workers: list,
) -> None:
    job_id, first, calls, log = _job_in_second_attempt(tmp_path, pg_url, redis_url, api, workers, 2)
    first.send_signal(signal.SIGTERM)
    assert first.wait(timeout=30) == 0
    assert job_status(factory, job_id) == "queued"
    with factory() as session:
        statuses = [e.data for e in session.scalars(select(JobEvent).where(JobEvent.job_id == job_id))]
    assert statuses[-1] == {"status": "queued", "handed_back": True}  # SSE clients see it too
    workers.append(
        start_worker(pg_url, redis_url, Script(answers=WRONG_THEN_RIGHT, log_path=str(calls)), log)
    )
    wait_for(lambda: job_status(factory, job_id) == "succeeded", 60, "the job to succeed", log)
    # The node running at SIGTERM finished and was checkpointed: its model call is not repeated.
    assert len([c for c in read_call_log(calls) if c["attempt"] == 1 and c["event"] == "start"]) == 1
    assert api.get(f"/v1/jobs/{job_id}").json()["attempts"] == 1
