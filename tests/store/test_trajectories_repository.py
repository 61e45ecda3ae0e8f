"""Turns are written once; children follow their turn; rewards stay separate signals."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from introspect.store.engine import transaction
from introspect.store.repositories.trajectories import (
    CritiqueData,
    RewardData,
    TurnData,
    VerificationData,
    create_trajectory,
    finish_trajectory,
    get_trajectory_detail,
    insert_trajectory_row,
    list_rewards,
    record_turn,
    trajectory_row,
)
from introspect.store.tables import Trajectory, Turn, Verification


def test_record_turn_is_idempotent_on_index(session_factory: sessionmaker[Session]) -> None:
    with transaction(session_factory) as s:
        traj = create_trajectory(s, graph="g", task_prompt="What is 2+2?", reference="4")
    turn = TurnData(
        index=0,
        phase="generate",
        output="The answer is 5.",
        stats={"mean_self_certainty": 1.5},
        decision={"action": "revise", "reason": "verifier failed", "inputs": {}, "thresholds": {}},
        verifications=[VerificationData(verifier="numeric", passed=False, message="expected 4")],
        critiques=[CritiqueData(critic="verifier_feedback", verdict="incorrect", feedback="Try again.")],
        rewards=[RewardData(kind="attempt", value=0.0)],
    )
    with transaction(session_factory) as s:
        assert record_turn(s, traj.id, turn, lease_version=1) is not None
    with transaction(session_factory) as s:
        assert record_turn(s, traj.id, turn, lease_version=1) is None
    with transaction(session_factory) as s:
        assert s.scalar(select(func.count()).select_from(Turn)) == 1
        assert s.scalar(select(func.count()).select_from(Verification)) == 1
        detail = get_trajectory_detail(s, traj.id)
        assert detail is not None
        (stored,) = detail.turns
        assert stored.decision_action == "revise"
        assert stored.stats == {"mean_self_certainty": 1.5}
        assert stored.critiques[0].feedback == "Try again."
        assert stored.created_at.tzinfo is not None
        assert [r.kind for r in list_rewards(s, traj.id)] == ["attempt"]


def test_finish_trajectory_sets_outcome(session_factory: sessionmaker[Session]) -> None:
    with transaction(session_factory) as s:
        traj = create_trajectory(s, graph="g", task_prompt="q")
    outcome: dict[str, Any] = {
        "final_answer": "4",
        "stop_reason": "verified",
        "success": True,
        "outcome_reward": 1.0,
        "models": ["demo"],
        "total_tokens": 12,
        "total_latency_ms": 3.5,
    }
    with transaction(session_factory) as s:
        assert finish_trajectory(s, traj.id, **outcome)
    with transaction(session_factory) as s:  # once: a replayed finish changes nothing
        assert not finish_trajectory(s, traj.id, **{**outcome, "stop_reason": "replayed"})
    with transaction(session_factory) as s:
        detail = get_trajectory_detail(s, traj.id)
        assert detail is not None and detail.success and detail.stop_reason == "verified"
        assert detail.finished_at is not None


def test_insert_trajectory_row_writes_what_create_trajectory_does(
    session_factory: sessionmaker[Session],
) -> None:
    fields: dict[str, Any] = {
        "graph": "self_critique",
        "task_prompt": "What is 2+2?",
        "task_messages": [{"role": "user", "content": "What is 2+2?"}],
        "reference": "4",
        "verifier": {"name": "numeric"},
        "meta": {"config": {"max_turns": 3}},
    }
    with transaction(session_factory) as s:
        by_orm = create_trajectory(s, **fields).id
        by_core = insert_trajectory_row(s, trajectory_row(**fields))
    columns = (
        "graph", "task_prompt", "task_messages", "task_hash", "reference", "verifier", "meta", "models",
        "total_tokens", "total_latency_ms", "finished_at", "job_id",
    )  # fmt: skip
    with transaction(session_factory) as s:
        orm_row, core_row = s.get(Trajectory, by_orm), s.get(Trajectory, by_core)
        assert orm_row is not None and core_row is not None and by_orm != by_core
        assert {c: getattr(core_row, c) for c in columns} == {c: getattr(orm_row, c) for c in columns}
        assert core_row.meta == {"config": {"max_turns": 3}} and core_row.created_at is not None
