"""The one-statement turn write (Postgres): the same rows as the transaction, fenced, written once."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from introspect.store.engine import autocommit, make_engine, make_session_factory, transaction
from introspect.store.repositories import jobs, leases, trajectories
from introspect.store.repositories.fenced_turn import record_turn_fenced
from introspect.store.repositories.trajectories import CritiqueData, RewardData, TurnData, VerificationData
from introspect.store.tables import Critique, JobEvent, Reward, Turn, Verification


@pytest.fixture
def pg_engine(pg_url: str) -> Iterator[Engine]:
    engine = make_engine(pg_url)
    yield engine
    engine.dispose()


def _leased_trajectory(factory: sessionmaker[Session]) -> tuple[leases.Lease, uuid.UUID]:
    with transaction(factory) as s:
        job = jobs.create_job(s, graph="self_critique", input={"prompt": "p"}).job
    with transaction(factory) as s:
        lease = leases.claim_job(s, job.id, "w1", 60)
        trajectory_id = trajectories.insert_trajectory_row(
            s, trajectories.trajectory_row(graph="self_critique", task_prompt="p", job_id=job.id)
        )
    assert lease is not None
    return lease, trajectory_id


def _turn(index: int) -> TurnData:
    return TurnData(
        index=index,
        phase="revise",
        output="The answer is 42.",
        answer="42",
        decision={"action": "stop", "reason": "verified"},
        stats={"mean_nll": 0.25},
        verifications=[
            VerificationData(verifier="numeric", passed=True, score=1.0, details={"expected": "42"}),
            VerificationData(verifier="regex", passed=None, message="no pattern"),
        ],
        critiques=[
            CritiqueData(critic="llm", verdict="correct", feedback="fine", issues=["none"], model="m")
        ],
        rewards=[
            RewardData(kind="attempt", value=1.0, label=True, source="verifier"),
            RewardData(kind="outcome", value=0.5, comment="whole run", on_turn=False),
        ],
    )


def _rows(engine: Engine, model: Any, *columns: Any) -> list[tuple[Any, ...]]:
    with engine.connect() as conn:
        return sorted(tuple(r) for r in conn.execute(select(*[getattr(model, c) for c in columns])))


def test_a_turn_its_children_and_its_event_are_written_in_one_statement(pg_engine: Engine) -> None:
    factory = make_session_factory(pg_engine)
    lease, trajectory_id = _leased_trajectory(factory)
    with autocommit(pg_engine) as conn:
        event = record_turn_fenced(conn, lease, trajectory_id, _turn(3), "turn_finished", {"index": 3})
    assert event is not None and event.type == "turn_finished"
    [(turn_id, index, phase, answer, action, version)] = _rows(
        pg_engine, Turn, "id", "index", "phase", "answer", "decision_action", "lease_version"
    )
    assert (index, phase, answer, action, version) == (3, "revise", "42", "stop", lease.version)
    assert _rows(pg_engine, Verification, "turn_id", "verifier", "passed", "score", "details") == [
        (turn_id, "numeric", True, 1.0, {"expected": "42"}),
        (turn_id, "regex", None, None, {}),
    ]
    assert _rows(pg_engine, Critique, "turn_id", "critic", "verdict", "issues", "model") == [
        (turn_id, "llm", "correct", ["none"], "m")
    ]
    rewards = _rows(pg_engine, Reward, "kind", "value", "label", "turn_id", "trajectory_id")
    assert rewards == [
        ("attempt", 1.0, True, turn_id, trajectory_id),
        ("outcome", 0.5, None, None, trajectory_id),
    ]
    assert _rows(pg_engine, JobEvent, "id", "type", "data") == [(event.id, "turn_finished", {"index": 3})]


def test_a_replayed_turn_writes_nothing_and_a_stale_lease_raises(pg_engine: Engine) -> None:
    factory = make_session_factory(pg_engine)
    lease, trajectory_id = _leased_trajectory(factory)
    with autocommit(pg_engine) as conn:
        assert record_turn_fenced(conn, lease, trajectory_id, _turn(0), "turn_finished", {}) is not None
        assert record_turn_fenced(conn, lease, trajectory_id, _turn(0), "turn_finished", {}) is None
        stale = leases.Lease(lease.job_id, "w0", lease.version - 1)
        with pytest.raises(leases.StaleLeaseError):
            record_turn_fenced(conn, stale, trajectory_id, _turn(1), "turn_finished", {})
    with pg_engine.connect() as conn:
        counts = [
            conn.scalar(select(func.count()).select_from(m))
            for m in (Turn, Verification, Critique, Reward, JobEvent)
        ]
    assert counts == [1, 2, 1, 2, 1]
