"""A worker learns of cancels with one query for all its jobs, and trusts only leases it renewed."""

from __future__ import annotations

import dataclasses
import logging
import time

import pytest
from sqlalchemy.orm import Session, sessionmaker

from introspect.store.engine import transaction
from introspect.store.repositories import jobs, leases
from introspect.worker.job_watch import JobWatch
from introspect.worker.leases import LeaseKeeper
from tests.worker.harness import idle_core


def _claimed(factory: sessionmaker[Session], lease_seconds: float = 60) -> leases.Lease:
    with transaction(factory) as session:
        job_id = jobs.create_job(session, graph="self_critique", input={"prompt": "q"}, config={}).job.id
    with transaction(factory) as session:
        lease = leases.claim_job(session, job_id, "watch-test", lease_seconds)
    assert lease is not None
    return lease


def test_poll_sees_cancels_of_held_jobs_only(session_factory: sessionmaker[Session]) -> None:
    keeper = LeaseKeeper(session_factory, lease_seconds=60, interval_seconds=5)
    watch = JobWatch(session_factory, keeper)
    held, other = _claimed(session_factory), _claimed(session_factory)
    keeper.hold(held)
    watch.poll()
    assert not watch.cancel_requested(held.job_id)
    with transaction(session_factory) as session:
        jobs.request_cancel(session, held.job_id)
        jobs.request_cancel(session, other.job_id)
    watch.poll()
    assert watch.cancel_requested(held.job_id)
    assert not watch.cancel_requested(other.job_id)  # not ours: not asked about
    keeper.drop(held)
    watch.poll()
    assert not watch.cancel_requested(held.job_id)


def test_the_worker_polls_the_watch_and_picks_up_a_cancel(session_factory: sessionmaker[Session]) -> None:
    core = idle_core(
        session_factory, lambda job_id, lease, started: True, owner="watch-test", cancel_poll_seconds=0.02
    )
    lease = _claimed(session_factory)
    core.leases.hold(lease)
    core.start()
    try:
        with transaction(session_factory) as session:
            jobs.request_cancel(session, lease.job_id)
        deadline = time.monotonic() + 5
        while not core.watch.cancel_requested(lease.job_id) and time.monotonic() < deadline:
            time.sleep(0.01)
        assert core.watch.cancel_requested(lease.job_id)
    finally:
        core.shutdown()


def test_lease_is_certain_only_while_recently_renewed(session_factory: sessionmaker[Session]) -> None:
    keeper = LeaseKeeper(session_factory, lease_seconds=60, interval_seconds=5)
    watch = JobWatch(session_factory, keeper)
    lease = _claimed(session_factory)
    assert not watch.lease_certain(lease)  # not held here at all
    keeper.hold(lease)
    assert watch.lease_certain(lease)
    keeper.hold(lease, claimed_at=time.monotonic() - 59)  # claimed long ago, never renewed
    assert not watch.lease_certain(lease)
    assert not watch.lease_certain(dataclasses.replace(lease, version=lease.version + 1))


def test_a_renewal_tells_a_job_settled_under_the_lease_from_a_lost_lease(
    session_factory: sessionmaker[Session], caplog: pytest.LogCaptureFixture
) -> None:
    keeper = LeaseKeeper(session_factory, lease_seconds=60, interval_seconds=5)
    settled, taken = _claimed(session_factory, lease_seconds=0), _claimed(session_factory, lease_seconds=0)
    keeper.hold(settled)
    keeper.hold(taken)
    with transaction(session_factory) as session:
        # The finish node settled one job before its run dropped the lease; the other's lease
        # expired and another worker claimed it.
        assert leases.finish_job(session, settled, status="succeeded", result={})
        assert leases.claim_job(session, taken.job_id, "other-worker", 60) is not None
    with caplog.at_level(logging.WARNING, logger="introspect.worker.leases"):
        keeper.renew_all()
    # The settled job's lease stays held until its run drops it (its last checkpoint is still to be
    # written), no longer certain: that write compares lease versions first.
    assert keeper.held_job_ids() == [settled.job_id]
    assert keeper.lease_for(settled.job_id) == (settled, False)
    lost = [r.getMessage() for r in caplog.records if "was lost" in r.getMessage()]
    assert lost == [f"lease on job {taken.job_id} (version {taken.version}) was lost"]
