"""The WorkerCore starts a job right after claiming it, and counts a start that fails."""

from __future__ import annotations

import threading
import time
import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from introspect.store.engine import transaction
from introspect.store.repositories import events, jobs, leases
from introspect.store.repositories.leases import Claim, Lease
from introspect.store.tables import JobEvent
from introspect.worker.core import WorkerCore
from tests.worker.harness import idle_core, queued_job


def _core(factory: sessionmaker[Session], start: Any, execute: Any) -> WorkerCore:
    return idle_core(factory, execute, owner="core-test", max_attempts=2, start=start)


def test_the_start_gets_the_claimed_fields_and_its_result_reaches_the_executor(
    session_factory: sessionmaker[Session],
) -> None:
    seen: list[Any] = []

    def start(claim: Claim) -> str:
        seen.append((claim.graph, claim.input, claim.config, claim.resume_value, claim.lease.version))
        with transaction(session_factory) as session:
            leases.fence(session, claim.lease)  # the claim has committed: its lease is current
            events.append_event(session, claim.lease.job_id, "status", {"status": "running"})
        return "started"

    def execute(job_id: uuid.UUID, lease: Lease, started: object) -> bool:
        seen.append(started)
        with transaction(session_factory) as session:
            leases.finish_job(session, lease, status="succeeded", result={})
        return True

    core = _core(session_factory, start, execute)
    job_id = queued_job(session_factory, {"x": 1})
    try:
        future = core.submit(job_id)
        assert future is not None
        future.result(timeout=10)
    finally:
        core.shutdown()
    assert seen == [("self_critique", {"prompt": "q"}, {"x": 1}, None, 1), "started"]
    with transaction(session_factory) as session:
        job = jobs.get_job(session, job_id)
        assert job is not None and (job.status, job.attempts) == ("succeeded", 1)
        assert [e.type for e in events_of(session, job_id)] == ["status"]


def test_a_failing_start_counts_as_an_attempt_and_a_poison_job_ends_failed(
    session_factory: sessionmaker[Session],
) -> None:
    ran: list[uuid.UUID] = []

    def start(claim: Claim) -> None:
        raise ValueError("unknown graph 'gone'")

    core = _core(session_factory, start, lambda job_id, lease, started: ran.append(job_id) or True)
    job_id = queued_job(session_factory, {"x": 1})
    try:
        for expected in (("queued", 1), ("failed", 2)):
            future = core.submit(job_id)
            assert future is not None
            future.result(timeout=10)
            with transaction(session_factory) as session:
                job = jobs.get_job(session, job_id)
                assert job is not None and (job.status, job.attempts) == expected
                assert job.error is not None and "unknown graph 'gone'" in job.error
        with transaction(session_factory) as session:
            # The retry and the failure are in the log.
            logged = [(e.data["status"], e.data.get("retry")) for e in events_of(session, job_id)]
            assert logged == [("queued", True), ("failed", None)]
    finally:
        core.shutdown()
    assert ran == []


def events_of(session: Session, job_id: uuid.UUID) -> list[Any]:
    return list(session.scalars(select(JobEvent).where(JobEvent.job_id == job_id)).all())


def test_a_job_recovered_from_a_dead_worker_runs_before_fresh_ones(
    session_factory: sessionmaker[Session],
) -> None:
    """One job thread, busy; two fresh jobs wait; then the sweeper finds a dead worker's job."""
    order: list[uuid.UUID] = []
    busy = threading.Event()
    release = threading.Event()

    def execute(job_id: uuid.UUID, lease: Lease, started: object) -> bool:
        order.append(job_id)
        if len(order) == 1:
            busy.set()
            release.wait(10)
        with transaction(session_factory) as session:
            leases.finish_job(session, lease, status="succeeded", result={})
        return True

    core = idle_core(session_factory, execute, owner="core-test")
    first, fresh_a, fresh_b, orphan = (queued_job(session_factory) for _ in range(4))
    with transaction(session_factory) as session:  # claimed by a worker that then died
        assert leases.claim_job(session, orphan, "dead-worker", lease_seconds=0) is not None
    try:
        futures = [core.submit(first)]
        assert busy.wait(10)
        futures += [core.submit(fresh_a), core.submit(fresh_b)]
        time.sleep(0.01)  # the orphan's lease has run out
        core.sweep()
        futures.append(core.submit(orphan))  # the run the sweep started (in flight already)
        release.set()
        for future in futures:
            assert future is not None
            future.result(timeout=20)
    finally:
        core.shutdown()
    assert order == [first, orphan, fresh_a, fresh_b]
