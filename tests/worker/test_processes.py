"""``introspect worker --processes N``: N supervised worker processes behind one command."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from introspect.api.app import create_app
from introspect.config import Settings
from introspect.store.engine import make_engine, make_session_factory
from introspect.testing.scripted_models import Script
from tests.worker.harness import job_status, start_worker, wait_for

pytestmark = pytest.mark.slow

JOB = {"graph": "self_critique", "input": {"prompt": "What is 17 + 25?", "reference": "42"}}


def _children(pid: int) -> list[int]:
    """The worker processes under ``pid`` (not multiprocessing's resource tracker)."""
    try:
        pids = [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []
    return [p for p in pids if b"spawn_main" in _cmdline(p)]


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"


def test_processes_run_jobs_are_restarted_and_stop_together(
    tmp_path: Path, pg_url: str, redis_url: str
) -> None:
    log = tmp_path / "worker.log"
    engine = make_engine(pg_url)
    factory: sessionmaker[Session] = make_session_factory(engine)
    supervisor = start_worker(
        pg_url, redis_url, Script(answers=["The answer is 42."]), log, worker_processes=2
    )
    try:
        wait_for(lambda: len(_children(supervisor.pid)) == 2, 60, "two worker processes", log)
        first, second = _children(supervisor.pid)
        app = create_app(Settings(database_url=pg_url, redis_url=redis_url), bound_host="127.0.0.1")
        with TestClient(app) as api:
            ids = [api.post("/v1/jobs", json=JOB).json()["id"] for _ in range(6)]
            for job_id in ids:
                wait_for(lambda j=job_id: job_status(factory, j) == "succeeded", 60, f"job {job_id}", log)

            os.kill(first, signal.SIGKILL)  # a child dies: the supervisor starts another
            wait_for(
                lambda: len(_children(supervisor.pid)) == 2 and first not in _children(supervisor.pid),
                30,
                "a replacement worker process",
                log,
            )
            job_id = api.post("/v1/jobs", json=JOB).json()["id"]
            wait_for(lambda: job_status(factory, job_id) == "succeeded", 60, "a job after the restart", log)

        children = _children(supervisor.pid)
        assert second in children
        supervisor.send_signal(signal.SIGTERM)  # every child is stopped with it
        assert supervisor.wait(timeout=60) == 0
        assert not any(_alive(pid) for pid in children)
    finally:
        if supervisor.poll() is None:
            supervisor.kill()
            supervisor.wait(timeout=10)
        engine.dispose()


def test_worker_processes_stop_when_their_supervisor_is_killed(
    tmp_path: Path, pg_url: str, redis_url: str
) -> None:
    log = tmp_path / "worker.log"
    supervisor = start_worker(
        pg_url, redis_url, Script(answers=["The answer is 42."]), log, worker_processes=2
    )
    children: list[int] = []
    try:
        wait_for(lambda: len(_children(supervisor.pid)) == 2, 60, "two worker processes", log)
        children = _children(supervisor.pid)
        supervisor.kill()  # no chance to stop its children
        supervisor.wait(timeout=10)
        wait_for(lambda: not any(_alive(pid) for pid in children), 60, "the orphans to stop", log)
        assert "supervisor is gone" in log.read_text()
    finally:
        if supervisor.poll() is None:
            supervisor.kill()
        for pid in children:
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)
