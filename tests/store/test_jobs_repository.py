"""Jobs: idempotent creation, keyset listing, and lease fencing on both backends."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from introspect.store.engine import autocommit, is_postgres, transaction
from introspect.store.repositories import events, jobs, leases
from introspect.store.repositories.trajectories import TurnData, create_trajectory, record_turn


def _create(
    factory: sessionmaker[Session], key: str | None = None, body_hash: str = "h1"
) -> jobs.CreateOutcome:
    with transaction(factory) as s:
        return jobs.create_job(
            s, graph="self_critique", input={"prompt": "p"}, idempotency_key=key, request_hash=body_hash
        )


def test_idempotency_key_returns_same_job(session_factory: sessionmaker[Session]) -> None:
    first = _create(session_factory, "k1")
    again = _create(session_factory, "k1")
    assert first.created and not again.created
    assert first.job.id == again.job.id


def test_idempotency_key_with_other_body_is_rejected(session_factory: sessionmaker[Session]) -> None:
    _create(session_factory, "k1", "h1")
    with pytest.raises(jobs.IdempotencyConflictError):
        _create(session_factory, "k1", "h2")


def test_concurrent_creates_with_one_key_make_one_job(session_factory: sessionmaker[Session]) -> None:
    with ThreadPoolExecutor(max_workers=8) as pool:
        outcomes = list(pool.map(lambda _: _create(session_factory, "same"), range(16)))
    assert len({o.job.id for o in outcomes}) == 1
    assert sum(o.created for o in outcomes) == 1


def test_list_jobs_keyset_pagination(session_factory: sessionmaker[Session]) -> None:
    created = [_create(session_factory).job.id for _ in range(5)]
    seen = []
    after = None
    while True:
        with transaction(session_factory) as s:
            page = jobs.list_jobs(s, limit=2, after=after)
            if not page:
                break
            seen.extend(j.id for j in page)
            after = (page[-1].created_at, page[-1].id)
    assert sorted(seen) == sorted(created)
    assert len(seen) == len(set(seen))


def test_stale_lease_cannot_write(session_factory: sessionmaker[Session]) -> None:
    job_id = _create(session_factory).job.id
    with transaction(session_factory) as s:
        first = leases.claim_job(s, job_id, "worker-a", lease_seconds=0.01)
        assert first is not None
        traj = create_trajectory(s, graph="g", task_prompt="p", job_id=job_id)
    time.sleep(0.05)
    with transaction(session_factory) as s:
        second = leases.claim_job(s, job_id, "worker-b", lease_seconds=30)
        assert second is not None and second.version == first.version + 1
    with pytest.raises(leases.StaleLeaseError), transaction(session_factory) as s:
        leases.fence(s, first)
        record_turn(s, traj.id, TurnData(index=0, phase="generate", output="late"), first.version)
    with transaction(session_factory) as s:
        assert not leases.renew_lease(s, first, 30)
        assert leases.renew_lease(s, second, 30)
        assert not leases.finish_job(s, first, status="succeeded")


def test_claim_refuses_job_with_live_lease(session_factory: sessionmaker[Session]) -> None:
    job_id = _create(session_factory).job.id
    with transaction(session_factory) as s:
        assert leases.claim_job(s, job_id, "a", 30) is not None
    with transaction(session_factory) as s:
        assert leases.claim_job(s, job_id, "b", 30) is None


def test_cancel_queued_job_is_immediate(session_factory: sessionmaker[Session]) -> None:
    job_id = _create(session_factory).job.id
    with transaction(session_factory) as s:
        job = jobs.request_cancel(s, job_id)
        assert job is not None and job.status == "cancelled"
    with transaction(session_factory) as s:
        assert leases.claim_job(s, job_id, "a", 30) is None


def test_poison_job_fails_after_max_attempts(session_factory: sessionmaker[Session]) -> None:
    job_id = _create(session_factory).job.id
    for _ in range(2):
        with transaction(session_factory) as s:
            assert leases.claim_job(s, job_id, "a", 0.001) is not None
        time.sleep(0.01)
        with transaction(session_factory) as s:
            assert not leases.fail_exhausted(s, job_id, 3, "boom")
    with transaction(session_factory) as s:
        assert leases.claim_job(s, job_id, "a", 0.001) is not None
    with transaction(session_factory) as s:
        assert leases.fail_exhausted(s, job_id, 3, "lease expired 3 times")
        job = jobs.get_job(s, job_id)
        assert job is not None and job.status == "failed" and job.error == "lease expired 3 times"


def test_a_settled_job_is_not_finished_again(session_factory: sessionmaker[Session]) -> None:
    job_id = _create(session_factory).job.id
    with transaction(session_factory) as s:
        lease = leases.claim_job(s, job_id, "w1", 60)
    assert lease is not None
    with transaction(session_factory) as s:
        assert leases.finish_job(s, lease, status="succeeded", result={"answer": "42"})
    # An error after the run settled the job (its last checkpoint write, say) must not undo it.
    with transaction(session_factory) as s:
        assert not leases.finish_job(s, lease, status="failed", error="late failure")
        job = jobs.get_job(s, job_id)
        assert job is not None and (job.status, job.result, job.error) == (
            "succeeded",
            {"answer": "42"},
            None,
        )


def test_a_claim_reads_what_the_run_needs(session_factory: sessionmaker[Session]) -> None:
    with transaction(session_factory) as s:
        job_id = jobs.create_job(
            s, graph="self_critique", input={"prompt": "p"}, config={"max_turns": 2}
        ).job.id
    with transaction(session_factory) as s:
        claim = leases.claim_job_to_run(s, job_id, "w1", 60)
    assert claim is not None
    assert (claim.graph, claim.input, claim.config, claim.resume_value) == (
        "self_critique",
        {"prompt": "p"},
        {"max_turns": 2},
        None,
    )
    assert (claim.lease.version, claim.last_event_id) == (1, None)  # no events yet
    with transaction(session_factory) as s:
        leases.release_lease(s, claim.lease)
        events.append_event(s, job_id, "status", {"status": "queued"})
        last = events.append_event(s, job_id, "status", {"status": "queued", "retry": True})
    with transaction(session_factory) as s:
        again = leases.claim_job_to_run(s, job_id, "w2", 60)
        expected = last.id if is_postgres(s) else None  # SQLite: not read (see Claim)
    assert again is not None and (again.lease.version, again.last_event_id) == (2, expected)


def test_a_fenced_event_is_appended_only_under_the_current_lease(
    session_factory: sessionmaker[Session], engine: Engine
) -> None:
    if not is_postgres(engine):
        pytest.skip("one-statement fenced append is the Postgres path (SQLite fences in a transaction)")
    job_id = _create(session_factory).job.id
    with transaction(session_factory) as s:
        lease = leases.claim_job(s, job_id, "w1", 60)
    assert lease is not None
    with autocommit(engine) as conn:
        event = leases.append_event_fenced(conn, lease, "turn_started", {"index": 0})
        stale = leases.Lease(job_id, "w0", lease.version - 1)
        with pytest.raises(leases.StaleLeaseError):
            leases.append_event_fenced(conn, stale, "turn_started", {"index": 9})
    with engine.connect() as conn:
        status, logged = events.status_and_events_after(conn, job_id)
    assert status == "running"
    assert [(e.id, e.type, e.data) for e in logged] == [(event.id, "turn_started", {"index": 0})]
