"""Worker subprocesses with a scripted model, in-process WorkerCores, and waiting helpers."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session, sessionmaker

from introspect.store.engine import transaction
from introspect.store.repositories import jobs
from introspect.store.tables import Critique, Job, JobEvent, Reward, Turn, Verification
from introspect.testing.scripted_models import SCRIPT_ENV, Script
from introspect.worker.core import WorkerCore

ROOT = Path(__file__).resolve().parents[2]


def start_worker(
    db_url: str, redis_url: str | None, script: Script, log: Path, **settings: Any
) -> subprocess.Popen[bytes]:
    env = dict(os.environ)
    env.update(
        {
            "INTROSPECT_DATABASE_URL": db_url,
            "INTROSPECT_LEASE_SECONDS": "2",
            "INTROSPECT_HEARTBEAT_SECONDS": "0.3",
            "INTROSPECT_SWEEP_SECONDS": "0.3",
            "INTROSPECT_MAX_ATTEMPTS": "3",
            SCRIPT_ENV: script.to_env(),
        }
    )
    if redis_url:
        env["INTROSPECT_REDIS_URL"] = redis_url
    else:
        env.pop("INTROSPECT_REDIS_URL", None)
    env.update({f"INTROSPECT_{k.upper()}": str(v) for k, v in settings.items()})
    handle = log.open("ab")
    return subprocess.Popen(
        [sys.executable, "-m", "introspect.testing.scripted_worker"],
        cwd=ROOT,
        env=env,
        stdout=handle,
        stderr=subprocess.STDOUT,
    )


def idle_core(factory: sessionmaker[Session], execute: Any, *, owner: str, **overrides: Any) -> WorkerCore:
    """An in-process WorkerCore whose poll and sweeper stay idle: a test feeds it with ``submit``."""
    settings: dict[str, Any] = {
        "concurrency": 1,
        "lease_seconds": 60,
        "heartbeat_seconds": 5,
        "poll_seconds": 3600,
        "sweep_seconds": 3600,
        "max_attempts": 3,
    }
    return WorkerCore(factory, execute, owner=owner, **{**settings, **overrides})


def queued_job(factory: sessionmaker[Session], config: dict[str, Any] | None = None) -> uuid.UUID:
    with transaction(factory) as session:
        return jobs.create_job(session, graph="self_critique", input={"prompt": "q"}, config=config).job.id


def wait_for(
    predicate: Callable[[], bool], timeout: float, what: str, worker_log: Path | None = None
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    tail = worker_log.read_text()[-3000:] if worker_log and worker_log.exists() else ""
    raise AssertionError(f"timed out after {timeout}s waiting for {what}\n{tail}")


def job_status(factory: sessionmaker[Session], job_id: Any) -> str:
    with transaction(factory) as session:
        return str(session.scalar(select(Job.status).where(Job.id == job_id)))


def snapshot(factory: sessionmaker[Session], job_id: Any) -> dict[str, Any]:
    """Every row a job's run can write, for "a stale worker changed nothing" comparisons."""
    with transaction(factory) as session:
        counts = {
            model.__tablename__: session.scalar(select(func.count()).select_from(model))
            for model in (Turn, Verification, Critique, Reward, JobEvent)
        }
        job = session.get(Job, job_id)
        assert job is not None
        counts["job"] = (job.status, job.updated_at, job.lease_version, job.attempts, str(job.result))
        counts["checkpoints"] = session.scalar(text("SELECT count(*) FROM checkpoints"))
        counts["checkpoint_writes"] = session.scalar(text("SELECT count(*) FROM checkpoint_writes"))
        return counts


def turn_indexes(factory: sessionmaker[Session], job_id: Any) -> list[int]:
    from introspect.store.tables import Trajectory

    with transaction(factory) as session:
        stmt = select(Turn.index).join(Trajectory).where(Trajectory.job_id == job_id).order_by(Turn.index)
        return list(session.scalars(stmt).all())
