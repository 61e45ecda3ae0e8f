"""The one-statement settle (Postgres): job, event, trajectory and rewards together, once, fenced."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, func, select

from introspect.store.engine import autocommit, make_engine, make_session_factory, transaction
from introspect.store.repositories import jobs, leases, trajectories
from introspect.store.repositories.fenced_settle import settle_job_fenced
from introspect.store.repositories.trajectories import RewardData, TrajectoryOutcome, TurnData
from introspect.store.tables import Job, JobEvent, Reward, Trajectory

OUTCOME = TrajectoryOutcome("42", "verified", True, 1.0, ["scripted"], 30, 12.5)
REWARDS = [
    (RewardData(kind="attempt", value=0.0, label=False, source="verifier"), 0),
    (RewardData(kind="attempt", value=1.0, label=True, source="verifier"), 1),
    (RewardData(kind="attempt", value=1.0, label=True, source="verifier"), 7),  # no such turn: dropped
    (RewardData(kind="outcome", value=1.0, label=True, source="verifier"), None),
]


@pytest.fixture
def pg_engine(pg_url: str) -> Iterator[Engine]:
    engine = make_engine(pg_url)
    yield engine
    engine.dispose()


def _running_job_with_two_turns(engine: Engine) -> tuple[leases.Lease, uuid.UUID]:
    factory = make_session_factory(engine)
    with transaction(factory) as s:
        job_id = jobs.create_job(s, graph="self_critique", input={"prompt": "p"}).job.id
    with transaction(factory) as s:
        lease = leases.claim_job(s, job_id, "w1", 60)
        assert lease is not None
        trajectory_id = trajectories.insert_trajectory_row(
            s, trajectories.trajectory_row(graph="self_critique", task_prompt="p", job_id=job_id)
        )
        for index in (0, 1):
            trajectories.record_turn(s, trajectory_id, TurnData(index=index, phase="generate"), lease.version)
    return lease, trajectory_id


def _state(engine: Engine, lease: leases.Lease) -> tuple[object, ...]:
    with engine.connect() as conn:
        job = conn.execute(
            select(Job.status, Job.result, Job.lease_owner).where(Job.id == lease.job_id)
        ).one()
        stop_reason = conn.scalar(select(Trajectory.stop_reason))
        rewards = conn.execute(select(Reward.kind, Reward.value, Reward.turn_id.is_(None))).all()
        events = conn.scalar(select(func.count()).select_from(JobEvent))
    return tuple(job), stop_reason, sorted(tuple(r) for r in rewards), events


def test_settling_writes_the_job_its_event_its_trajectory_and_rewards_once(pg_engine: Engine) -> None:
    lease, trajectory_id = _running_job_with_two_turns(pg_engine)
    with autocommit(pg_engine) as conn:
        settled = settle_job_fenced(conn, lease, trajectory_id, {"answer": "42"}, OUTCOME, REWARDS)
        assert settled.event is not None and settled.event.data == {"status": "succeeded"}
        replay = settle_job_fenced(conn, lease, trajectory_id, {"answer": "x"}, OUTCOME, REWARDS)
    assert replay.event is None
    assert _state(pg_engine, lease) == (
        ("succeeded", {"answer": "42"}, None),
        "verified",
        [("attempt", 0.0, False), ("attempt", 1.0, False), ("outcome", 1.0, True)],
        1,
    )


def test_a_stale_lease_settles_nothing(pg_engine: Engine) -> None:
    lease, trajectory_id = _running_job_with_two_turns(pg_engine)
    stale = leases.Lease(lease.job_id, "w0", lease.version - 1)
    with autocommit(pg_engine) as conn, pytest.raises(leases.StaleLeaseError):
        settle_job_fenced(conn, stale, trajectory_id, {"answer": "42"}, OUTCOME, REWARDS)
    assert _state(pg_engine, lease) == (("running", None, "w1"), None, [], 0)
